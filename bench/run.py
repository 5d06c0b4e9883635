#!/usr/bin/env python3
"""Benchmark of the client API against baselines measured in the same run.

Seeds 1,000,000 items over 100 tenants (one tenant holds 100,000), and a tenant of
1,000,000 items more, in an embedded PostgreSQL (BENCH_SCALE=0.1 seeds a tenth), then serves each function with functions-framework exactly as Cloud
Functions does (gunicorn, 1 worker, 4 threads per core) and loads it with wrk at
16 connections. Prints rates, p50/p99 latencies, the ratios to the baselines
(a trivial function; a bare pg8000 INSERT per request; POST on the database without its
kept counts), cold starts, import times and the stats queries' times. Needs `wrk` (Debian:
apt-get install wrk).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ContextManager, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import api_keys, db, queries, signin, team  # noqa: E402
from shared.tenants import create_tenant  # noqa: E402
import mail_intake as mail_bench  # noqa: E402  (bench/mail_intake.py)

SCALE = float(os.environ.get("BENCH_SCALE", "1"))  # a fraction of the seed, for a quick run
ITEMS = int(1_000_000 * SCALE)
TENANTS = 100
BIG_TENANT_ITEMS = int(100_000 * SCALE)
HUGE_TENANT_ITEMS = int(1_000_000 * SCALE)  # a tenant of its own, seeded after the others
SEED_BATCH = 100_000  # rows per INSERT: each statement's counts are added up at its end
CONNECTIONS = 16
DURATION = os.environ.get("BENCH_DURATION", "10s")
FF = str(Path(sys.executable).parent / "functions-framework")

SEED = """
INSERT INTO feedback (tenant_id, type, summary, description, priority, status, submitted_by,
                      submitter_email, source, tags, created_at, acknowledged_at, sla_due_at)
SELECT t.ids[CASE WHEN i > :items THEN :tenants + 1 WHEN i <= :big THEN 1 ELSE 2 + i % (:tenants - 1) END],
       (ARRAY['bug','feature','performance','docs','ux','other'])[1 + i % 6],
       'Seeded item ' || i || ' about ' || (ARRAY['login','export','search','billing'])[1 + i % 4],
       'Seeded description number ' || i,
       (ARRAY['low','medium','high','urgent'])[1 + i % 4],
       (ARRAY['new','acknowledged','in_review','planned','in_progress','completed'])[1 + i % 6],
       gen_random_uuid(), NULL, 'web_app', '["seed"]',
       now() - make_interval(secs => i),
       CASE WHEN i % 6 > 0 THEN now() - make_interval(secs => i) + interval '3 hours' END,
       now() - make_interval(secs => i) + interval '3 days'
  FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS i,
       (SELECT CAST(:ids AS uuid[]) AS ids) AS t"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, headers: dict[str, str], timeout: float = 30) -> float:
    """Seconds until the URL first answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} never answered 200")


class Function:
    """One function served by the functions-framework CLI, as Cloud Functions runs it."""

    def __init__(self, target: str, source: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [FF, "--target", target, "--source", str(source), "--port", str(self.port)],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_listening(self) -> Function:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"port {self.port} never opened")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(url: str, script: Path | None = None) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    if script:
        args[1:1] = ["-s", str(script)]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses\n{out}")
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}

    def percentile(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if found is None:
            raise RuntimeError(f"no {p}th percentile in wrk's output:\n{out}")
        value, suffix = found.groups()
        return float(value) * unit[suffix]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": percentile("50"), "p99": percentile("99")}


def lua(tmp: Path, name: str, method: str, token: str, body: str = "", cookie: str = "") -> Path:
    path = tmp / f"{name}.lua"
    lines = [f'wrk.method = "{method}"', 'wrk.headers["Content-Type"] = "application/json"']
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    if cookie:
        lines.append(f'wrk.headers["Cookie"] = "{cookie}"')
    if body:
        lines.append(f"wrk.body = [[{body}]]")
    path.write_text("\n".join(lines) + "\n")
    return path


class Load(NamedTuple):
    fn: Function
    path: str
    script: Path | None = None
    around: Callable[[], ContextManager[None]] = contextlib.nullcontext  # the database as this load needs it


def measure(runs: dict[str, Load], rounds: int) -> dict[str, dict[str, float]]:
    """Each load in turn, `rounds` times over, so noise on this shared machine
    falls on every load alike; the medians of the rounds."""
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, load in runs.items():
            with load.around():
                seen[name].append(wrk(load.fn.base + load.path, load.script))
    result = {}
    for name, samples in seen.items():
        result[name] = {k: statistics.median(s[k] for s in samples) for k in ("rps", "p50", "p99")}
        r = result[name]
        print(f"  {name:<28} {r['rps']:>8.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms", flush=True)
    return result


def deployed_copy(tmp: Path) -> Path:
    """The functions' sources as Cloud Functions runs them: its Python buildpack compiles the
    source to bytecode at build time (`python -m compileall`), so a cold start reads bytecode
    where a checkout (here PYTHONDONTWRITEBYTECODE may be set) would compile every module."""
    copy = tmp / "deployed"
    for part in ("shared", "functions", "bench/functions"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)], check=True)
    return copy


def cold_starts(functions: dict[str, tuple[str, Path, str, dict[str, str]]], env: dict[str, str],
                starts: int = 9) -> dict[str, float]:
    """Median seconds from process start to the first 200, the functions started in turn."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(starts):
        for name, (target, source, path, headers) in functions.items():
            fn = Function(target, source, env)
            try:
                times[name].append(wait_for(fn.base + path, headers))
            finally:
                fn.stop()
    return {name: statistics.median(t) for name, t in times.items()}


def import_time(source: Path) -> float:
    code = (
        "import importlib.util, time; t = time.perf_counter();"
        f"s = importlib.util.spec_from_file_location('main', '{source}');"
        "m = importlib.util.module_from_spec(s); s.loader.exec_module(m);"
        "print(time.perf_counter() - t)"
    )
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                  .stdout) for _ in range(9)]
    return statistics.median(runs)


def top_imports(source: Path, count: int = 10) -> list[tuple[str, float]]:
    """The modules loading the function's source imports (after functions-framework, which
    every function loads first) that take longest, with their cumulative seconds."""
    code = (
        "import functions_framework, importlib.util;"
        f"s = importlib.util.spec_from_file_location('main', '{source}');"
        "s.loader.exec_module(importlib.util.module_from_spec(s))"
    )
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         check=True).stderr.splitlines()
    framework = max(i for i, line in enumerate(err) if line.rstrip().endswith("| functions_framework"))
    found = []
    for line in err[framework + 1:]:
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[1].strip().isdigit():
            found.append((fields[2].rstrip(), int(fields[1]) / 1e6))
    return sorted(found, key=lambda f: -f[1])[:count]


@contextlib.contextmanager
def without_counts(url: str) -> Iterator[None]:
    """The database as it was before it kept counts (sql/0014_feedback_counts.sql): no
    counting triggers, no index of unanswered items; restored afterwards."""
    conn = db.url_connector(url)()
    triggers = [r[0] for r in conn.run("SELECT tgname FROM pg_trigger WHERE tgrelid = 'feedback'::regclass"
                                       " AND tgname LIKE 'feedback_counts%'")]
    index = conn.run("SELECT pg_get_indexdef('feedback_tenant_unanswered_idx'::regclass)")[0][0]
    for name in triggers:
        conn.run(f"ALTER TABLE feedback DISABLE TRIGGER {name}")
    conn.run("DROP INDEX feedback_tenant_unanswered_idx")
    try:
        yield
    finally:
        conn.run(index)
        for name in triggers:
            conn.run(f"ALTER TABLE feedback ENABLE TRIGGER {name}")
        conn.close()


def query_ms(sql: str, tenant: str, runs: int = 30) -> float:
    """Median milliseconds of a tenant's statement, on the service's own pool and role."""
    samples = []
    for _ in range(runs):
        with db.transaction() as tx:
            tx.set_tenant(tenant)
            t = time.perf_counter()
            tx.scalar(sql, tenant=tenant)
            samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples[5:])


def process_seconds(command: list[str]) -> float:
    """Seconds from starting the command to its end."""
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def cli_start() -> tuple[float, float]:
    """Median seconds of `python -c pass` and of `pilot-feedback --help`, run in turn."""
    cli = str(Path(sys.executable).parent / "pilot-feedback")
    bare, helped = [], []
    for _ in range(15):
        bare.append(process_seconds([sys.executable, "-c", "pass"]))
        helped.append(process_seconds([cli, "--help"]))
    return statistics.median(bare), statistics.median(helped)


def signin_medians(known: str, samples: int = 300) -> tuple[float, float]:
    """Milliseconds to answer a sign-in request for a team member's address and for an
    unknown one, interleaved, each from a source of its own (as the console takes them)."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for n in range(samples):
        for is_known in (True, False):
            t = time.perf_counter()
            signin.request_link(known if is_known else f"nobody-{n}@example.com", f"bench-{n}-{is_known}")
            times[is_known].append((time.perf_counter() - t) * 1000)
    return statistics.median(times[True][20:]), statistics.median(times[False][20:])


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    url = mail_bench.migrated_database(tmp)

    print(f"seeding {ITEMS:,} items over {TENANTS} tenants and {HUGE_TENANT_ITEMS:,} in one more ...", flush=True)
    started = time.perf_counter()
    tenants = [create_tenant(f"bench-{n}")["id"] for n in range(TENANTS + 1)]
    big, post_tenant, list_tenant, huge = tenants[0], tenants[1], tenants[2], tenants[TENANTS]
    tokens = {t: api_keys.create_key(t, "member")["token"] for t in (big, post_tenant, list_tenant, huge)}
    # A team member of the listed tenant, signed in to the console.
    team.add_person(list_tenant, "bench@example.com", "Bench Admin", "admin")
    console_cookie = "pf_console=" + signin.start_session(signin.operator_link("bench@example.com").rsplit("/", 1)[1])
    seeder = db.pool(owner=True).acquire()
    total = ITEMS + HUGE_TENANT_ITEMS
    for first in range(1, total + 1, SEED_BATCH):
        seeder.run(SEED, {"big": BIG_TENANT_ITEMS, "tenants": TENANTS, "items": ITEMS, "ids": tenants,
                          "first": first, "last": min(first + SEED_BATCH - 1, total)})
    seeder.simple("VACUUM ANALYZE")
    db.pool(owner=True).release(seeder)
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)

    stats_ms = {(name, size): query_ms(sql, tenant) for name, sql in (("stats", queries.STATS.tenant),
                                                                      ("triage stats", queries.TRIAGE_STATS))
                for size, tenant in (("100,000", big), ("1,000,000", huge))}
    signin_known, signin_unknown = signin_medians("bench@example.com")
    db.reset_pools()

    # In-process reference: bare inserts on one connection, no HTTP.
    raw = db.url_connector(url)()
    t = time.perf_counter()
    for _ in range(2000):
        raw.run("INSERT INTO feedback (tenant_id, type, summary, submitter_email, sla_due_at)"
                " VALUES (:t, 'bug', 'raw', 'r@example.com', now())", t=post_tenant)
    loop_rate = 2000 / (time.perf_counter() - t)
    raw.close()

    env = {"DATABASE_URL": url, "BENCH_TENANT_ID": post_tenant}
    sources = {
        "trivial": ROOT / "bench/functions/trivial/main.py",
        "raw_insert": ROOT / "bench/functions/raw_insert/main.py",
        "feedback": ROOT / "functions/feedback/main.py",
        "console": ROOT / "functions/console/main.py",
    }
    body = '{"feedback_type": "bug", "summary": "Benchmark item", "description": "Posted by wrk", "priority": "high"}'
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    print(f"\nthroughput at {CONNECTIONS} connections, median of {rounds} rounds of {DURATION}:")
    servers = {name: Function(name, src, env) for name, src in sources.items()}
    api = "/api/v1/feedback/"
    auth = {"Authorization": f"Bearer {tokens[list_tenant]}"}
    try:
        for fn in servers.values():
            fn.wait_listening()
        r = measure(
            {
                "trivial function": Load(servers["trivial"], "/"),
                "bare INSERT function": Load(servers["raw_insert"], "/", lua(tmp, "raw", "POST", "")),
                "POST /feedback/": Load(servers["feedback"], api, lua(tmp, "post", "POST", tokens[post_tenant], body)),
                "POST /feedback/ (no counts)": Load(servers["feedback"], api, lua(tmp, "post", "POST",
                                                    tokens[post_tenant], body), lambda: without_counts(url)),
                "GET /feedback/ (20 items)": Load(servers["feedback"], api + "?limit=20",
                                                  lua(tmp, "list", "GET", tokens[list_tenant])),
                "GET /feedback/stats/ (100k)": Load(servers["feedback"], api + "stats/",
                                                    lua(tmp, "stats", "GET", tokens[big])),
                "GET /feedback/stats/ (1M)": Load(servers["feedback"], api + "stats/",
                                                  lua(tmp, "stats-huge", "GET", tokens[huge])),
                "GET /feedback/ (50 items)": Load(servers["feedback"], api + "?limit=50&sort=sla",
                                                  lua(tmp, "list50", "GET", tokens[list_tenant])),
                "console inbox (50 items)": Load(servers["console"], "/console/?sort=sla",
                                                 lua(tmp, "inbox", "GET", "", cookie=console_cookie)),
            },
            rounds,
        )
    finally:
        for fn in servers.values():
            fn.stop()
    trivial, raw_insert = r["trivial function"], r["bare INSERT function"]
    post, page = r["POST /feedback/"], r["GET /feedback/ (20 items)"]
    post_plain = r["POST /feedback/ (no counts)"]
    stats_big, stats_huge = r["GET /feedback/stats/ (100k)"], r["GET /feedback/stats/ (1M)"]
    inbox, page50 = r["console inbox (50 items)"], r["GET /feedback/ (50 items)"]
    mail_rate, mail_reference = mail_bench.measure(url, tmp, rounds)

    copy = deployed_copy(tmp)
    deployed = {name: copy / src.relative_to(ROOT) for name, src in sources.items()}
    cold = cold_starts(
        {
            "trivial": ("trivial", deployed["trivial"], "/", {}),
            "feedback": ("feedback", deployed["feedback"], api, auth),
        },
        env,
    )
    imports = {name: import_time(src) for name, src in deployed.items() if name not in ("raw_insert", "console")}
    slowest_imports = top_imports(deployed["feedback"])
    bare_start, cli_help = cli_start()

    ratios = [
        ("POST / trivial rate", post["rps"] / trivial["rps"], ">= 0.5"),
        ("POST (no counts) / trivial rate", post_plain["rps"] / trivial["rps"], "reference"),
        ("POST / POST (no counts) rate", post["rps"] / post_plain["rps"], ">= 0.95"),
        ("POST / bare INSERT rate", post["rps"] / raw_insert["rps"], ">= 0.5"),
        ("list page / trivial rate", page["rps"] / trivial["rps"], ">= 0.5"),
        ("stats (100k) / list page rate", stats_big["rps"] / page["rps"], ">= 0.5"),
        ("stats (1M) / list page rate", stats_huge["rps"] / page["rps"], ">= 0.5"),
        ("POST p99 / trivial p99", post["p99"] / trivial["p99"], "<= 2.5"),
        ("list p99 / trivial p99", page["p99"] / trivial["p99"], "<= 2.5"),
        ("cold start feedback / trivial", cold["feedback"] / cold["trivial"], "<= 1.5"),
        ("console inbox / JSON list (50) rate", inbox["rps"] / page50["rps"], ">= 0.5"),
        ("mail intake / bare SMTP INSERT rate", mail_rate / mail_reference, ">= 0.5"),
        ("pilot-feedback --help / python -c pass", cli_help / bare_start, "<= 2.5"),
    ]
    print("\nratios (target):")
    for name, value, target in ratios:
        print(f"  {name:<38} {value:6.2f}   ({target})")
    print()
    for (name, size), ms in stats_ms.items():
        print(f"{name} query, {size}-item tenant: {ms:.1f} ms (median)")
    print(f"sign-in request (median): team member's address {signin_known:.2f} ms,"
          f" unknown address {signin_unknown:.2f} ms (ratio {signin_known / signin_unknown:.2f}; target ~1)")
    print(f"cold start to first 200: trivial {cold['trivial'] * 1000:.0f} ms, feedback {cold['feedback'] * 1000:.0f} ms")
    print("import time: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in imports.items()))
    print("feedback's slowest imports (cumulative, after functions-framework): "
          + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in slowest_imports))
    print(f"in-process bare INSERT loop (no HTTP): {loop_rate:.0f} rows/s")
    print(f"process to its end: python -c pass {bare_start * 1000:.0f} ms, pilot-feedback --help {cli_help * 1000:.0f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

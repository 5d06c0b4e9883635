#!/usr/bin/env python3
"""Benchmark of the client API against baselines measured in the same run.

Seeds 1,000,000 items over 100 tenants (one tenant holds 100,000) in an embedded
PostgreSQL, then serves each function with functions-framework exactly as Cloud
Functions does (gunicorn, 1 worker, 4 threads per core) and loads it with wrk at
16 connections. Prints rates, p50/p99 latencies, the ratios to the baselines
(a trivial function; a bare pg8000 INSERT per request), cold starts, import times
and the stats query time. Needs `wrk` (Debian: apt-get install wrk).
"""
from __future__ import annotations

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import db, embedded, migrations, queries, signin, tenancy  # noqa: E402

ITEMS = 1_000_000
TENANTS = 100
BIG_TENANT_ITEMS = 100_000
CONNECTIONS = 16
DURATION = os.environ.get("BENCH_DURATION", "10s")
FF = str(Path(sys.executable).parent / "functions-framework")

SEED = """
INSERT INTO feedback (tenant_id, type, summary, description, priority, status, submitted_by,
                      submitter_email, source, tags, created_at, acknowledged_at, sla_due_at)
SELECT t.ids[CASE WHEN i <= :big THEN 1 ELSE 2 + i % (:tenants - 1) END],
       (ARRAY['bug','feature','performance','docs','ux','other'])[1 + i % 6],
       'Seeded item ' || i || ' about ' || (ARRAY['login','export','search','billing'])[1 + i % 4],
       'Seeded description number ' || i,
       (ARRAY['low','medium','high','urgent'])[1 + i % 4],
       (ARRAY['new','acknowledged','in_review','planned','in_progress','completed'])[1 + i % 6],
       gen_random_uuid(), NULL, 'web_app', '["seed"]',
       now() - make_interval(secs => i),
       CASE WHEN i % 6 > 0 THEN now() - make_interval(secs => i) + interval '3 hours' END,
       now() - make_interval(secs => i) + interval '3 days'
  FROM generate_series(1, :items) AS i,
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


def measure(runs: dict[str, tuple[Function, str, Path | None]], rounds: int) -> dict[str, dict[str, float]]:
    """Each load in turn, `rounds` times over, so noise on this shared machine
    falls on every load alike; the medians of the rounds."""
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (fn, path, script) in runs.items():
            seen[name].append(wrk(fn.base + path, script))
    result = {}
    for name, samples in seen.items():
        result[name] = {k: statistics.median(s[k] for s in samples) for k in ("rps", "p50", "p99")}
        r = result[name]
        print(f"  {name:<28} {r['rps']:>8.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms", flush=True)
    return result


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


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-"))
    url = embedded.with_database(embedded.start(tmp / "pg"), "bench")
    os.environ["DATABASE_URL"] = url
    db.reset_pools()
    conn = db.pool(owner=True).acquire()
    migrations.migrate(conn)
    db.pool(owner=True).release(conn)

    print(f"seeding {ITEMS:,} items over {TENANTS} tenants ...", flush=True)
    started = time.perf_counter()
    tenants = [tenancy.create_tenant(f"bench-{n}")["id"] for n in range(TENANTS)]
    big, post_tenant, list_tenant = tenants[0], tenants[1], tenants[2]
    tokens = {t: tenancy.create_key(t, "member")["token"] for t in (big, post_tenant, list_tenant)}
    # A team member of the listed tenant, signed in to the console.
    tenancy.add_person(list_tenant, "bench@example.com", "Bench Admin", "admin")
    console_cookie = "pf_console=" + signin.start_session(signin.operator_link("bench@example.com").rsplit("/", 1)[1])
    seeder = db.pool(owner=True).acquire()
    seeder.run(SEED, {"big": BIG_TENANT_ITEMS, "tenants": TENANTS, "items": ITEMS, "ids": tenants})
    seeder.simple("VACUUM ANALYZE")
    db.pool(owner=True).release(seeder)
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)

    # Stats of the 100,000-item tenant, on the service's own pool and role.
    stats_sql = queries.STATS.tenant
    samples = []
    for _ in range(30):
        with db.transaction() as tx:
            tx.set_tenant(big)
            t = time.perf_counter()
            tx.scalar(stats_sql, tenant=big)
            samples.append((time.perf_counter() - t) * 1000)
    stats_ms = statistics.median(samples[5:])
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
    servers = {name: Function(name, src, env).wait_listening() for name, src in sources.items()}
    api = "/api/v1/feedback/"
    auth = {"Authorization": f"Bearer {tokens[list_tenant]}"}
    try:
        r = measure(
            {
                "trivial function": (servers["trivial"], "/", None),
                "bare INSERT function": (servers["raw_insert"], "/", lua(tmp, "raw", "POST", "")),
                "POST /feedback/": (servers["feedback"], api, lua(tmp, "post", "POST", tokens[post_tenant], body)),
                "GET /feedback/ (20 items)": (servers["feedback"], api + "?limit=20",
                                              lua(tmp, "list", "GET", tokens[list_tenant])),
                "GET /feedback/stats/ (100k)": (servers["feedback"], api + "stats/",
                                                lua(tmp, "stats", "GET", tokens[big])),
                "GET /feedback/ (50 items)": (servers["feedback"], api + "?limit=50&sort=sla",
                                              lua(tmp, "list50", "GET", tokens[list_tenant])),
                "console inbox (50 items)": (servers["console"], "/console/?sort=sla",
                                             lua(tmp, "inbox", "GET", "", cookie=console_cookie)),
            },
            rounds,
        )
    finally:
        for fn in servers.values():
            fn.stop()
    trivial, raw_insert = r["trivial function"], r["bare INSERT function"]
    post, page = r["POST /feedback/"], r["GET /feedback/ (20 items)"]
    inbox, page50 = r["console inbox (50 items)"], r["GET /feedback/ (50 items)"]

    cold = cold_starts(
        {
            "trivial": ("trivial", sources["trivial"], "/", {}),
            "feedback": ("feedback", sources["feedback"], api, auth),
        },
        env,
    )
    imports = {name: import_time(src) for name, src in sources.items() if name not in ("raw_insert", "console")}
    bare_start, cli_help = cli_start()

    ratios = [
        ("POST / trivial rate", post["rps"] / trivial["rps"], ">= 0.5"),
        ("POST / bare INSERT rate", post["rps"] / raw_insert["rps"], ">= 0.5"),
        ("list page / trivial rate", page["rps"] / trivial["rps"], ">= 0.5"),
        ("POST p99 / trivial p99", post["p99"] / trivial["p99"], "<= 2.5"),
        ("list p99 / trivial p99", page["p99"] / trivial["p99"], "<= 2.5"),
        ("cold start feedback / trivial", cold["feedback"] / cold["trivial"], "<= 1.6"),
        ("console inbox / JSON list (50) rate", inbox["rps"] / page50["rps"], ">= 0.5"),
        ("pilot-feedback --help / python -c pass", cli_help / bare_start, "<= 3"),
    ]
    print("\nratios (target):")
    for name, value, target in ratios:
        print(f"  {name:<32} {value:6.2f}   ({target})")
    print(f"\nstats query, 100,000-item tenant: {stats_ms:.1f} ms (median; target < 50 ms)")
    print(f"cold start to first 200: trivial {cold['trivial'] * 1000:.0f} ms, feedback {cold['feedback'] * 1000:.0f} ms")
    print("import time: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in imports.items()))
    print(f"in-process bare INSERT loop (no HTTP): {loop_rate:.0f} rows/s")
    print(f"process to its end: python -c pass {bare_start * 1000:.0f} ms, pilot-feedback --help {cli_help * 1000:.0f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Mail intake throughput: mails/s the local server's SMTP listener takes as feedback
(`manage.py serve` with INTAKE_SMTP_PORT: shared/mail_intake.receive per mail, its
acknowledgement written to MAIL_DIR), against a bare aiosmtpd server inserting one row
per mail (bench/smtp_reference.py), both loaded alike and in turn, round after round.
The rate is the senders': the acknowledgements the server delivers meanwhile share its
CPU; those still queued when the last mail is answered go out, untimed, before the
reference's turn.

Run by bench/run.py on its database; alone, `python bench/mail_intake.py` measures on an
embedded PostgreSQL of its own (BENCH_MAILS, BENCH_ROUNDS).
"""
from __future__ import annotations

import os
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import db, embedded, migrations  # noqa: E402
from shared.tenants import create_tenant  # noqa: E402

MAILS = int(os.environ.get("BENCH_MAILS", "500"))
CLIENTS = 4  # SMTP sessions sending at once, each many mails in turn
WARM_UP_MAILS = 20  # per server, before timing: connections, lazy imports
TENANTS = 4
UNLIMITED = str(10**9)  # the anonymous limits, out of the way: every bench mail is taken

QUOTE = "\n".join(f"> {line}" for line in (
    "Thanks for the report. Could you tell us which version of the desktop app you run,",
    "and whether the export fails for every project or only for the large ones? A log",
    "from Help > Diagnostics would help us a lot.",
    "",
    "Best regards,",
    "The Support Team",
) * 6)
REPLY_TEXT = """Hi,

It is version 4.2.1 on macOS 14.5. The export fails for every project over about 200 MB;
smaller ones go through. The progress bar stops at 87% and the app shows "Export failed
(code 17)". I attached nothing as the log holds customer names, but here is what it says
around the failure:

    2026-11-30 09:14:02 export: writing chunk 412 of 473
    2026-11-30 09:14:02 export: write failed: ENOSPC
    2026-11-30 09:14:03 export: rolled back

There is plenty of space on the disk (over 300 GB free), so ENOSPC looks wrong to me.

Thanks,
Ana

--
Ana Pereira
Operations, Customer Example Ltd.
+351 21 000 0000
"""
HTML_ROW = ("<tr><td style=\"padding:4px;border:1px solid #ddd\"><a href=\"https://app.example.com/projects/{n}\">"
            "Project {n}</a></td><td style=\"padding:4px\"><b>{size} MB</b></td>"
            "<td style=\"padding:4px\">export fails at 87%</td></tr>")


def _plain_reply(n: int, sender: str, to: str) -> EmailMessage:
    """A plain-text reply quoting the mail it answers, with a signature."""
    message = _headers(n, sender, to, "Re: [Bug] Export fails on large projects")
    message["In-Reply-To"] = message["References"] = f"<support-{n}@helpdesk.example>"
    message.set_content(f"{REPLY_TEXT}\nOn Mon, 30 Nov 2026 at 10:02, Support <support@helpdesk.example> wrote:\n"
                        f"{QUOTE}\n")
    return message


def _html_report(n: int, sender: str, to: str) -> EmailMessage:
    """A report written in a webmail: text and HTML alternatives, a table, a quoted reply."""
    message = _headers(n, sender, to, "Feature: export only the projects I select")
    rows = "".join(HTML_ROW.format(n=i, size=150 + 20 * i) for i in range(12))
    html = (f"<html><head><style>td {{ font-family: Arial }}</style></head><body>"
            f"<div dir=\"ltr\"><p>Hello,</p><p>We export these projects every week and would like to pick"
            f" only some of them:</p><table>{rows}</table><p>Could the export dialog take a selection?</p>"
            f"<p>Thanks,<br>Ana</p></div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, 30 Nov"
            f" 2026, Support &lt;support@helpdesk.example&gt; wrote:</div><blockquote class=\"gmail_quote\""
            f" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">"
            f"{'<p>Thanks for the suggestion: we will look at it.</p>' * 8}</blockquote></div></body></html>")
    message.set_content("Hello,\n\nWe export these projects every week and would like to pick only some of them."
                        "\nCould the export dialog take a selection?\n\nThanks,\nAna\n")
    message.add_alternative(html, subtype="html")
    return message


def _headers(n: int, sender: str, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Ana Pereira <{sender}>", to, subject
    message["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    message["Message-ID"] = f"<{uuid.uuid4().hex}.{n}@customer.example>"
    message["MIME-Version"] = "1.0"
    return message


def mails(count: int, addresses: list[str]) -> list[tuple[str, str, bytes]]:
    """(sender, recipient, raw mail) of fresh mails (never seen before: new Message-IDs),
    from distinct senders to the addresses in turn, half plain replies, half HTML."""
    made = []
    for n in range(count):
        sender, to = f"ana.{uuid.uuid4().hex[:8]}@customer.example", addresses[n % len(addresses)]
        message = (_plain_reply if n % 2 else _html_report)(n, sender, to)
        made.append((sender, to, message.as_bytes(policy=message.policy.clone(linesep="\r\n"))))
    return made


def send_all(port: int, batch: list[tuple[str, str, bytes]]) -> float:
    """Seconds to send the mails over CLIENTS concurrent SMTP sessions; each must be taken."""
    failures: list[str] = []

    def client(share: list[tuple[str, str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for sender, to, raw in share:
                    smtp.sendmail(sender, [to], raw)
        except OSError as exc:  # smtplib's errors among them
            failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(batch[i::CLIENTS],)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"port {port} refused mail: {failures[0]}")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_smtp(process: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no SMTP listener on port {port}:\n{log.read_text()}")


def _wait_for_acknowledgements(url: str, tenants: list[str], timeout: float = 300) -> None:
    """Until the server has sent every acknowledgement of the tenants' mails, so that none
    is sent while the reference is measured."""
    conn = db.url_connector(url)()
    try:
        deadline = time.monotonic() + timeout
        while conn.run("SELECT count(*) FROM outbox WHERE done_at IS NULL AND tenant_id = ANY (CAST(:t AS uuid[]))",
                       t=tenants)[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError("acknowledgements still unsent")
            time.sleep(0.1)
    finally:
        conn.close()


def _start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    _wait_for_smtp(process, port, log)
    return process


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def measure(url: str, tmp: Path, rounds: int) -> tuple[float, float]:
    """Median mails/s of the intake and of the reference, MAILS each round, in turn."""
    tenants = [create_tenant(f"mail-bench-{n}") for n in range(TENANTS)]
    reference_tenant = create_tenant("mail-bench-reference")["id"]
    intake_port, reference_port = _free_port(), _free_port()
    intake_env = {"DATABASE_URL": url, "INTAKE_SMTP_PORT": str(intake_port), "MAIL_DIR": str(tmp / "mail"),
                  "ANON_LIMIT_PER_EMAIL": UNLIMITED, "ANON_LIMIT_PER_TENANT_HOUR": UNLIMITED,
                  "DIGEST_HOUR": "24", "GITHUB_API_URL": "http://127.0.0.1:9",
                  # No sweeps: the events other loads left in the database stay where they are.
                  "LOCAL_SWEEP_SECONDS": str(10**9)}
    reference_env = {"DATABASE_URL": url, "BENCH_TENANT_ID": reference_tenant}
    intake = _start([sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(_free_port())], intake_env,
                    intake_port, tmp / "intake-server.log")
    try:
        reference = _start([sys.executable, str(ROOT / "bench/smtp_reference.py"), str(reference_port)],
                           reference_env, reference_port, tmp / "smtp-reference.log")
        try:
            return _alternate(url, tenants, intake_port, reference_port, rounds)
        finally:
            _stop(reference)
    finally:
        _stop(intake)


def _alternate(url: str, tenants: list[dict[str, str]], intake_port: int, reference_port: int,
               rounds: int) -> tuple[float, float]:
    addresses, ids = [t["intake_email"] for t in tenants], [t["id"] for t in tenants]
    send_all(intake_port, mails(WARM_UP_MAILS, addresses))
    send_all(reference_port, mails(WARM_UP_MAILS, addresses))
    _wait_for_acknowledgements(url, ids)
    print(f"\nmail intake: {MAILS} mails over {CLIENTS} SMTP clients, {rounds} rounds:", flush=True)
    rates: dict[str, list[float]] = {"intake": [], "reference": []}
    for _ in range(rounds):
        batch = mails(MAILS, addresses)
        rates["intake"].append(MAILS / send_all(intake_port, batch))
        _wait_for_acknowledgements(url, ids)
        rates["reference"].append(MAILS / send_all(reference_port, batch))
    intake, reference = statistics.median(rates["intake"]), statistics.median(rates["reference"])
    print(f"  {'manage.py serve (receive)':<28} {intake:>8.0f} mails/s   rounds: "
          + ", ".join(f"{r:.0f}" for r in rates["intake"]))
    print(f"  {'bare aiosmtpd INSERT':<28} {reference:>8.0f} mails/s   rounds: "
          + ", ".join(f"{r:.0f}" for r in rates["reference"]), flush=True)
    return intake, reference


def migrated_database(tmp: Path) -> str:
    """A migrated database on an embedded server kept under `tmp`, set as DATABASE_URL."""
    url = embedded.with_database(embedded.start(tmp / "pg"), "bench")
    os.environ["DATABASE_URL"] = url
    db.reset_pools()
    conn = db.pool(owner=True).acquire()
    migrations.migrate(conn)
    db.pool(owner=True).release(conn)
    return url


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pf-bench-mail-"))
    url = migrated_database(tmp)
    intake, reference = measure(url, tmp, int(os.environ.get("BENCH_ROUNDS", "3")))
    print(f"\n  mail intake / bare SMTP INSERT rate  {intake / reference:6.2f}   (>= 0.5)")


if __name__ == "__main__":
    main()

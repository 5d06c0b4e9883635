"""Real processes on free ports for tests over real HTTP: `manage.py serve`, or one
function started by functions-framework's own command."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


from shared import api_keys, tenants

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(process: subprocess.Popen, port: int, timeout: float = 30) -> bool:
    """Whether the process accepts connections on the port before it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def function_process(args: list[str], env: dict[str, str], output: Path | None = None) -> Iterator[str]:
    """`functions-framework ARGS --port P` from the repository's root (what it prints to
    `output` if given); its base URL."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "functions-framework"), *args, "--port", str(port)]
    sink = output.open("w") if output else subprocess.PIPE
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        if not wait_until_listening(process, port):
            printed = output.read_text() if output else process.stdout.read().decode()
            raise AssertionError(printed if process.poll() is not None else "timeout")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if output:
            sink.close()


class LiveServer:
    def __init__(self, database_url: str, log_path: Path, **extra_env: str) -> None:
        made = tenants.create_tenant("live")
        self.tenant_id = made["id"]
        self.intake_key = made["intake_key"]
        self.tokens = {r: api_keys.create_key(made["id"], r)["token"] for r in ("member", "admin")}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # GitHub itself is never called: a closed local port answers at once (a test that
        # wants issues passes its stand-in's URL).
        env = {**os.environ, "DATABASE_URL": database_url, "DEFAULT_TENANT_ID": made["id"],
               "ANON_LIMIT_PER_IP": "100000", "ANON_LIMIT_PER_EMAIL": "100000", "SIGNIN_LIMIT_PER_IP": "100000",
               "GITHUB_API_URL": "http://127.0.0.1:9",
               # No morning digests from the server's sweeper: tests/test_alerts.py makes them.
               "DIGEST_HOUR": "24", **extra_env}
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        if not wait_until_listening(self.process, self.port):
            raise RuntimeError("the server did not start: " + log_path.read_text())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code

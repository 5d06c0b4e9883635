"""`manage.py serve` as a real process on a free port, for tests over real HTTP."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared import tenancy

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, database_url: str, log_path: Path, **extra_env: str) -> None:
        made = tenancy.create_tenant("live")
        self.tenant_id = made["id"]
        self.intake_key = made["intake_key"]
        self.tokens = {r: tenancy.create_key(made["id"], r)["token"] for r in ("member", "admin")}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url, "DEFAULT_TENANT_ID": made["id"],
               "ANON_LIMIT_PER_IP": "100000", "ANON_LIMIT_PER_EMAIL": "100000", **extra_env}
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/api/v1/feedback/openapi.json", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start: " + log_path.read_text())

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        self.log.close()
        return code

"""What a hostile client can do to `manage.py serve`: huge bodies and idle sockets."""
from __future__ import annotations

import os
import socket
import threading
import time

import psutil
import pytest
import requests

from live import function_process
from shared.devserver import IDLE_SECONDS

MB = 1024 * 1024
BODY_CAP = 500 * MB


@pytest.fixture(scope="module")
def alone(live, database_url):
    """The feedback function started alone by functions-framework, as deployed."""
    with function_process(["--target", "feedback", "--source", "functions/feedback/main.py"],
                          {**os.environ, "DATABASE_URL": database_url}) as base:
        port = int(base.rsplit(":", 1)[1])
        [server] = [p for p in psutil.Process().children() if str(port) in p.cmdline()]
        yield base, port, server


def _worker(server: psutil.Process) -> psutil.Process:
    [worker] = server.children()
    return worker


def _send_huge_body(port: int, intake_key: str, chunked: bool, watch: psutil.Process) -> tuple[bytes, int, int]:
    """POST up to 500 MB until the server closes; its answer, the bytes sent, and the
    worker's peak resident memory meanwhile."""
    head = (f"POST /api/v1/feedback/ HTTP/1.1\r\nHost: x\r\nX-Tenant-Key: {intake_key}\r\n"
            "Content-Type: application/json\r\n")
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BODY_CAP}\r\n\r\n"
    block = b"x" * MB
    piece = (b"100000\r\n" + block + b"\r\n") if chunked else block
    peak = watch.memory_info().rss
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        try:
            while sent < BODY_CAP:
                sock.sendall(piece)
                sent += MB
                if sent % (16 * MB) == 0:
                    peak = max(peak, watch.memory_info().rss)
        except OSError:
            pass  # the server closed the connection: what is wanted
        peak = max(peak, watch.memory_info().rss)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer, sent, peak


@pytest.mark.parametrize("server", ["manage.py serve", "function alone"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_huge_body_is_refused_without_reading_it(live, alone, server, chunked):
    if server == "manage.py serve":
        base, port, process = live.base, live.port, psutil.Process(live.process.pid)
    else:
        base, port, process = alone
    worker = _worker(process)
    assert requests.get(base + "/api/v1/feedback/openapi.json", timeout=10).status_code == 200  # warm
    before = worker.memory_info().rss
    answer, sent, peak = _send_huge_body(port, live.intake_key, chunked, worker)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < BODY_CAP, "the server read the whole body instead of closing the connection"
    assert peak - before < 8 * MB, f"the worker grew by {(peak - before) / MB:.0f} MB"
    # And it still serves.
    assert requests.get(base + "/api/v1/feedback/openapi.json", timeout=10).status_code == 200


def test_idle_clients_are_dropped_and_cannot_starve_the_threads(live):
    idle = []
    for _ in range(10):
        sock = socket.create_connection(("127.0.0.1", live.port), timeout=30)
        sock.sendall(b"POST /api/v1/feedback/ HTTP/1.1\r\nHost: x\r\nContent-")  # and then nothing
        idle.append(sock)
    time.sleep(0.5)  # nothing to poll: the server gives no sign that its threads hold the sockets
    started = time.monotonic()
    response = requests.get(live.base + "/api/v1/feedback/openapi.json", timeout=IDLE_SECONDS * 4)
    assert response.status_code == 200
    assert time.monotonic() - started < IDLE_SECONDS * 3

    closed = []

    def wait_closed(sock: socket.socket) -> None:
        try:
            closed.append(sock.recv(1) == b"")
        except OSError:
            closed.append(True)

    waiters = [threading.Thread(target=wait_closed, args=(s,)) for s in idle]
    for w in waiters:
        w.start()
    for w in waiters:
        w.join(timeout=IDLE_SECONDS * 4)
    for sock in idle:
        sock.close()
    assert closed == [True] * 10

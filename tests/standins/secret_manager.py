"""A local stand-in for Secret Manager's REST API (v1), as its reference describes it.

`GET /v1/projects/P/secrets/S/versions/V:access` answers
`{"name": ..., "payload": {"data": <base64>, "dataCrc32c": <decimal string>}}`;
`latest` is the newest version; a missing secret is Google's JSON error with
code 404 and status NOT_FOUND. Reads are counted per secret.
"""
from __future__ import annotations

import base64
import collections
import http.server
import re
import threading

from standins.base import reply_json

_ACCESS = re.compile(r"^/v1/(projects/[^/]+/secrets/([^/]+))/versions/([^/:]+):access$")


class SecretManagerStandIn:
    def __init__(self) -> None:
        self.versions: dict[str, list[str]] = {}  # secret path -> values, oldest first
        self.reads: collections.Counter[str] = collections.Counter()
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                stand_in._access(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add_version(self, project: str, secret: str, value: str) -> str:
        path = f"projects/{project}/secrets/{secret}"
        self.versions.setdefault(path, []).append(value)
        return f"{path}/versions/latest"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _access(self, request: http.server.BaseHTTPRequestHandler) -> None:
        match = _ACCESS.match(request.path.split("?", 1)[0])
        values = self.versions.get(match.group(1), []) if match else []
        version = match.group(3) if match else ""
        number = len(values) if version == "latest" else int(version) if version.isdigit() else 0
        if not 0 < number <= len(values):
            name = match.group(0)[4:-7] if match else request.path
            return reply_json(request, 404, {"error": {
                "code": 404, "status": "NOT_FOUND",
                "message": f"Secret Version [{name}] not found or has no versions."}})
        self.reads[match.group(1)] += 1
        data = values[number - 1].encode()
        reply_json(request, 200, {
            "name": f"{match.group(1)}/versions/{number}",
            "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc32c(data))},
        })


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), bit by bit: the checksum Secret Manager reports."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


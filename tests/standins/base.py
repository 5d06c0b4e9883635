"""What every HTTP stand-in answers with: a JSON document and its headers."""
from __future__ import annotations

import http.server
import json
from typing import Any


def reply_json(request: http.server.BaseHTTPRequestHandler, status: int, doc: Any,
               headers: dict[str, str] | None = None) -> None:
    body = json.dumps(doc).encode()
    request.send_response(status)
    for name, value in {"Content-Type": "application/json; charset=UTF-8", "Content-Length": str(len(body)),
                        **(headers or {})}.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)

"""Every HTTP function group on one port, as the production base URL routes them.

Each group is loaded by functions-framework exactly as Cloud Functions loads it;
a request goes to the first group with a route for its path.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HTTP_GROUPS = ("feedback", "admin")


def build_app() -> Any:
    import functions_framework

    groups = []
    for name in HTTP_GROUPS:
        app = functions_framework.create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))
        # functions-framework registers the module it just loaded as "main".
        groups.append((sys.modules["main"].API, app))

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "/")
        app = next((a for api, a in groups if api.handles(path)), groups[0][1])
        return app(environ, start_response)

    return dispatch


def serve(host: str, port: int) -> None:
    """Serve with functions-framework's gunicorn settings (1 worker, 4 threads per core)."""
    from functions_framework._http.gunicorn import GunicornApplication

    GunicornApplication(build_app(), host, port, False).run()

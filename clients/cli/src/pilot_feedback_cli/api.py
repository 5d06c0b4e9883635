"""The API over HTTP. httpx is imported on the first request, so that `--help` and
usage errors answer at the interpreter's speed."""
from __future__ import annotations

from typing import Any

from pilot_feedback_cli import __version__
from pilot_feedback_cli.config import Settings

INTAKE_KEY_PREFIX = "pfi_"  # a tenant's public intake key: anonymous submission only
TIMEOUT_SECONDS = 20


class ApiError(Exception):
    """The API refused (a problem document), or could not be reached."""

    def __init__(self, detail: str, status: int | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.errors = errors or []

    def lines(self) -> list[str]:
        return [self.detail, *(f"  {e.get('field', '?')}: {e.get('message', '')}" for e in self.errors)]


def auth_headers(token: str | None) -> dict[str, str]:
    if not token:
        return {}
    if token.startswith(INTAKE_KEY_PREFIX):
        return {"X-Tenant-Key": token}
    return {"Authorization": f"Bearer {token}"}


class Client:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: Any = None

    def url(self, path: str) -> str:
        return self.settings.url + path

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Any:
        import httpx

        if self._http is None:
            # Retries cover connection failures only; submissions carry an Idempotency-Key.
            self._http = httpx.Client(timeout=TIMEOUT_SECONDS, transport=httpx.HTTPTransport(retries=2),
                                      headers={"User-Agent": f"pilot-feedback/{__version__}",
                                               **auth_headers(self.settings.token)})
        try:
            answer = self._http.request(method, self.url(path), json=body,
                                        params={k: v for k, v in (params or {}).items() if v is not None},
                                        headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(f"Could not reach {self.settings.url}: {exc}. Check PILOT_FEEDBACK_URL "
                           "or `pilot-feedback login`.") from None
        if answer.status_code >= 400:
            raise _problem(answer)
        return answer.json() if answer.content else None


def _problem(answer: Any) -> ApiError:
    try:
        doc = answer.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("detail"):
        return ApiError(str(doc["detail"]), answer.status_code, doc.get("errors") or [])
    return ApiError(f"The API answered {answer.status_code} {answer.reason_phrase}.", answer.status_code)

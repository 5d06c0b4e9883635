"""The API over HTTP. httpx is imported on the first request, so that `--help` and
usage errors answer at the interpreter's speed."""
from __future__ import annotations

from typing import Any

import click

from pilot_feedback_cli import __version__
from pilot_feedback_cli.config import Settings, login_hint

INTAKE_KEY_PREFIX = "pfi_"  # a tenant's public intake key: anonymous submission only
TIMEOUT_SECONDS = 20


class ApiError(click.ClickException):
    """The API refused (a problem document), could not be reached, or answered something
    other than JSON: exit code 1, the detail printed with each field's message."""

    def __init__(self, detail: str, status: int | None = None, title: str = "Error",
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.title = title
        self.errors = errors or []

    def format_message(self) -> str:
        return "\n".join([self.detail, *(f"  {e.get('field', '?')}: {e.get('message', '')}" for e in self.errors)])


def problem(exc: click.ClickException) -> dict[str, Any]:
    """An error as --json prints it, in a problem document's terms (RFC 9457): status is the
    HTTP status of the API's answer, null when there was none (a usage error, no connection)."""
    if isinstance(exc, ApiError):
        return {"status": exc.status, "title": exc.title, "detail": exc.detail, "errors": exc.errors}
    title = "Usage error" if isinstance(exc, click.UsageError) else "Error"
    return {"status": None, "title": title, "detail": exc.format_message(), "errors": []}


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
        url = self.url(path)
        try:
            answer = self._http.request(method, url, json=body,
                                        params={k: v for k, v in (params or {}).items() if v is not None},
                                        headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(f"Could not reach {self.settings.url}: {exc}. Check PILOT_FEEDBACK_URL "
                           "or `pilot-feedback login`.", title="Could not reach the API") from None
        if not answer.is_success:
            # Without a token, a refusal is most likely for want of one.
            unsigned = answer.status_code in (401, 403) and not self.settings.token
            raise _problem(answer, url, login_hint(self.settings.url) if unsigned else "")
        return _json(answer, url)


def _problem(answer: Any, url: str, hint: str) -> ApiError:
    """The API's problem document, or what the answer's status says. A redirect is not
    followed, so that the token stays with its host: the error says where it points."""
    try:
        doc = answer.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("detail"):
        detail, title = str(doc["detail"]), str(doc.get("title") or answer.reason_phrase)
        errors = doc.get("errors") or []
    else:
        moved = f" (to {answer.headers['location']})" if answer.has_redirect_location else ""
        detail, title = f"{url} answered {answer.status_code} {answer.reason_phrase}{moved}.", answer.reason_phrase
        errors = []
    return ApiError(f"{detail} {hint}".rstrip(), answer.status_code, title, errors)


def _json(answer: Any, url: str) -> Any:
    """The answer's JSON (None for an empty one); what is not JSON is no API's answer."""
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        kind = answer.headers.get("content-type") or "no content type"
        raise ApiError(f"{url} answered {answer.status_code} with {kind}, not JSON: is it the API's address "
                       "(such as https://feedback.example.com/api/v1)? Check PILOT_FEEDBACK_URL or "
                       "`pilot-feedback login`.", answer.status_code, "Not JSON") from None

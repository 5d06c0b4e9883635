"""The HTTP side every function group shares: routing, policies, bodies, problems, logs.

A group declares its routes; `Api` turns a functions-framework request into one
authenticated transaction around the route's handler. Bodies and query strings
are validated before any database work; every failure is an RFC 9457 problem.
"""
from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import flask
import pydantic
from werkzeug import exceptions as wz
from werkzeug.routing import Map, Rule

from shared import auth, db, errors, logs, pages, queries
from shared.config import settings

MAX_BODY_BYTES = 64 * 1024
JSON_TYPE = "application/json"
PROBLEM_TYPE = "application/problem+json"

# Who may call a route.
PUBLIC = "public"  # anyone; no credentials read, no database
ANYONE = "anyone"  # anonymous (by intake key or default tenant) or signed in
USER = "user"  # member, admin or staff
TRIAGE = "triage"  # admin or staff
SIGNED = "signed"  # no credentials: the handler checks a signature (a mail's link, a GitHub delivery)
POLICIES = (PUBLIC, ANYONE, USER, TRIAGE, SIGNED)


@dataclass
class Reply:
    status: int
    body: str | dict[str, Any] | list[Any]
    headers: dict[str, str] = field(default_factory=dict)
    mimetype: str = "application/json"


@dataclass
class Call:
    """What a handler receives. A route's policy says what it holds: every policy but
    PUBLIC opens a transaction (`tx`), and USER, TRIAGE and ANYONE know the caller
    (`principal`); asking for what the policy does not give is a programming error."""

    request: flask.Request
    args: dict[str, Any]
    body: Any = None
    query: Any = None
    _principal: auth.Principal | None = None
    _tx: db.Tx | None = None
    _raw: bytes | None = None
    _refused: errors.ApiError | None = None

    @property
    def tx(self) -> db.Tx:
        if self._tx is None:
            raise RuntimeError("a PUBLIC route has no transaction")
        return self._tx

    @property
    def principal(self) -> auth.Principal:
        if self._principal is None:
            raise RuntimeError("only USER, TRIAGE and ANYONE routes know the caller")
        return self._principal

    def raw_body(self, limit: int = MAX_BODY_BYTES) -> bytes:
        """The request's JSON body as sent, read once (see `read_body`); a refused body
        stays refused (what is left of the stream is no body)."""
        if self._refused is not None:
            raise self._refused
        if self._raw is None:
            try:
                self._raw = read_body(self.request, limit)
            except errors.ApiError as exc:
                self._refused = exc
                raise
        return self._raw

    @property
    def body_read(self) -> bool:
        """Whether the whole body was read (a refused one was not)."""
        return self._raw is not None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # below the API base path, with werkzeug converters: /feedback/<uuid:id>/
    handler: Callable[[Call], Reply]
    policy: str
    summary: str
    body: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    response: str | None = None  # name of the success body's model in shared.responses
    status: int = 200
    problems: tuple[int, ...] = ()
    media: str = JSON_TYPE  # of the success body
    headers: tuple[str, ...] = ()  # what the success answer carries besides X-Request-Id (and Link)
    idempotent: bool = False  # takes an Idempotency-Key header
    # Counts an anonymous caller's attempt in a transaction of its own, before anything
    # can refuse it, so refused attempts count too; raises RateLimited when over.
    meter: Callable[[Call, auth.Credentials], None] | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"{self.method} {self.path}: unknown policy {self.policy!r}")


class Api:
    def __init__(self, name: str, routes: list[Route]) -> None:
        self.name = name
        self.routes = routes
        base = settings().api_base_path
        # One adapter for every request: matching with an explicit path keeps no state.
        self._urls = _adapter(base, routes)
        # The same routes taking any text for a UUID: a path it matches names a malformed id.
        self._any_ids = _adapter(base, routes, any_ids=True)

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.perf_counter()
        request_id = _request_id(request)
        route: Route | None = None
        call: Call | None = None
        problem_detail: str | None = None
        origin, refusal = _cors(request)
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            if origin:
                return self._preflight(request, origin)
            if request.headers.get("Origin"):
                return _problem(refusal or errors.Forbidden(
                    f"Browsers at {request.headers['Origin']} may not call this API: the deployment's"
                    " CORS_ALLOWED_ORIGINS lists the origins that may."), request)
        try:
            if refusal is not None:
                raise refusal
            route, args = self._match(request)
            call = Call(request, args)
            reply = self._dispatch(route, call)
            response = _response(reply.status, reply.body, reply.headers, reply.mimetype)
        except errors.ApiError as exc:
            if exc.status == 500:
                _log_failure(request_id, exc.__context__ or exc)
            problem_detail = exc.detail
            response = _problem(exc, request)
        except pydantic.ValidationError as exc:
            problem = _validation_problem(exc)
            problem_detail = f"{problem.detail} ({', '.join(e['field'] for e in problem.errors or [])})"
            response = _problem(problem, request)
        except Exception as exc:
            _log_failure(request_id, exc)
            response = _problem(errors.ApiError("The request could not be completed."), request)
        response.headers["X-Request-Id"] = request_id
        if origin:
            response.headers.update(_cors_headers(origin))
        if not (call and call.body_read):
            response = leave_large_body_unread(response, request)
        status = response.status_code
        principal = call._principal if call else None
        seconds = time.perf_counter() - started
        extra: dict[str, Any] = {logs.TRACE: trace} if (trace := _trace(request)) else {}
        if 400 <= status < 500:
            extra["reason"] = problem_detail
        logs.log(
            "ERROR" if status >= 500 else "INFO",
            "request",
            request_id=request_id,
            function=self.name,
            method=request.method,
            route=route.path if route else None,
            status=status,
            latency_ms=round(seconds * 1000, 2),
            tenant_id=principal.tenant_id if principal else None,
            role=principal.role if principal else None,
            # Cloud Logging's request fields; the query string stays out (it may carry a signed link).
            httpRequest={"requestMethod": request.method, "requestUrl": request.path, "status": status,
                         "responseSize": str(response.content_length or 0),  # the header: a streamed body stays unread
                         "userAgent": request.headers.get("User-Agent", ""), "remoteIp": request.remote_addr or "",
                         "latency": f"{seconds:.6f}s"},
            **extra,
        )
        return response

    def _preflight(self, request: flask.Request, origin: str) -> flask.Response:
        """A browser asking whether it may send the request: the route's methods."""
        allowed = self._methods(request.path)
        if not allowed:
            return _problem(errors.NotFound(f"No route for {request.path}."), request)
        response = flask.Response(status=204)
        response.headers.update(_cors_headers(origin))
        response.headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    def handles(self, path: str) -> bool:
        """Whether some route of this group matches the path (with any method)."""
        return bool(self._methods(path))

    def _methods(self, path: str) -> list[str]:
        """The methods the routes at this path take; none when no route matches."""
        try:
            self._urls.match(path, method="-")  # a method no route takes
        except wz.MethodNotAllowed as exc:
            return sorted(exc.valid_methods or [])
        except wz.HTTPException:
            pass
        return []

    def _match(self, request: flask.Request) -> tuple[Route, dict[str, Any]]:
        try:
            index, args = self._urls.match(request.path, method=request.method)
        except wz.MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            raise errors.MethodNotAllowed(
                f"{request.method} is not allowed here.", headers={"Allow": allowed}
            ) from None
        except wz.HTTPException:
            raise self._not_found(request.path) from None
        return self.routes[index], args

    def _not_found(self, path: str) -> errors.NotFound:
        try:
            self._any_ids.match(path, method="-")
        except wz.MethodNotAllowed:  # a route takes this path, but for a UUID
            return errors.NotFound(
                "No such item: the id in the path must be a UUID, such as 0b9e1f4e-6c2d-4a55-9d3f-2f0e8c7a1b24.",
                errors=[{"field": "id", "message": "Must be a UUID", "type": "uuid_parsing"}])
        except wz.HTTPException:
            pass
        return errors.NotFound(f"No route for {path}.")

    def _dispatch(self, route: Route, call: Call) -> Reply:
        creds = None
        if route.meter is not None:
            creds = auth.read_credentials(call.request.headers, call.request.args)
            if creds.kind == "anonymous":
                route.meter(call, creds)
        if route.query is not None:
            call.query = route.query.model_validate(call.request.args.to_dict(flat=True))
        if route.body is not None:
            empty = _no_body(call.request) and not any(f.is_required() for f in route.body.model_fields.values())
            call.body = route.body.model_validate_json(b"{}" if empty else call.raw_body())
        if route.policy == PUBLIC:
            return route.handler(call)
        if route.policy == SIGNED:
            with db.transaction() as tx:
                call._tx = tx
                return route.handler(call)
        creds = creds or auth.read_credentials(call.request.headers, call.request.args)
        if creds.kind == "anonymous" and route.policy != ANYONE:
            raise errors.Unauthorized("Authentication required.")
        with db.transaction() as tx:
            call._principal = principal = auth.authenticate(tx, creds)
            if route.policy == TRIAGE and not principal.can_triage:
                raise errors.Forbidden("Admins and staff only.")
            call._tx = tx
            return route.handler(call)


# Bearer tokens, not cookies: no credentials mode, so no Allow-Credentials.
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Tenant-Key, X-Request-Id"
# Triage changes say whether the submitter was mailed ("queued", or "none: " and why).
MAIL_HEADER = "X-Submitter-Mail"
CORS_EXPOSED_HEADERS = f"Link, Retry-After, X-Request-Id, {MAIL_HEADER}"


def _cors(request: flask.Request) -> tuple[str | None, errors.ApiError | None]:
    """The request's Origin if it may call, and why not where that is to be refused.

    Browsers at CORS_ALLOWED_ORIGINS may call. An intake key sits in every page that
    embeds the widget, so a request naming one (header, or `tenant_key` in the URL as a
    preflight carries it) may come only from the origins its tenant lists (or, where the
    tenant lists none, the deployment's); from any other it is refused.
    """
    origin = request.headers.get("Origin")
    if not origin:
        return None, None
    intake = request.headers.get("X-Tenant-Key") or request.args.get("tenant_key")
    tenant_origins = _tenant_origins(intake) if intake else None
    if origin_allowed(origin, tenant_origins or settings().cors_allowed_origins):
        return origin, None
    if tenant_origins is None:  # no intake key, or an unknown one (refused as such later)
        return None, None
    return None, errors.Forbidden(
        f"Pages at {origin} may not send feedback with this tenant key: the tenant's operator lists the origins"
        f" that may (manage.py tenants configure TENANT --allowed-origin {origin}).")


def _tenant_origins(intake_key: str) -> list[str] | None:
    """The origins the key's tenant lists (read afresh: an operator may change them at any
    time); None for an unknown key."""
    with db.transaction() as tx:
        row = tx.one(queries.INTAKE_ORIGINS, key_hash=auth.key_hash(intake_key))
    return None if row is None else list(row[1])


def origin_allowed(origin: str, allowed: Collection[str]) -> bool:
    """Listed, `*`, or its host listed with `:*` (any port, as the local demo allows localhost)."""
    any_port = origin.rsplit(":", 1)[0] + ":*" if origin.count(":") == 2 else None
    return "*" in allowed or origin in allowed or any_port in allowed


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
        "Vary": "Origin",
    }


_FRAMEWORK_ERRORS = {404: errors.NotFound, 405: errors.MethodNotAllowed, 413: errors.PayloadTooLarge}


def framework_error(exc: wz.HTTPException) -> flask.Response:
    """A problem document for what the framework refuses before a function runs
    (a path its own router does not take)."""
    code = exc.code or 500
    cls = _FRAMEWORK_ERRORS.get(code, errors.BadRequest if code < 500 else errors.ApiError)
    return leave_large_body_unread(_problem(cls(), flask.request), flask.request)


def leave_large_body_unread(response: flask.Response, request: flask.Request) -> flask.Response:
    """A response that spares the server reading a body nobody read, if it may be large.

    functions-framework reads every unread body into memory after the function
    returns, unless the response is streamed. Streamed, a large body stays unread:
    the server discards a little of it and closes the connection.
    """
    length = request.content_length
    if length is None and not _chunked(request):
        return response
    if length is not None and length <= MAX_BODY_BYTES:
        return response  # small enough to read and keep the connection
    body = response.get_data()
    streamed = flask.Response((part for part in (body,)), status=response.status_code,
                              headers=response.headers, mimetype=response.mimetype)
    streamed.headers["Connection"] = "close"  # for the test client and any server that honours it
    return streamed


def _chunked(request: flask.Request) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _no_body(request: flask.Request) -> bool:
    return not request.content_length and not _chunked(request)


def _adapter(base: str, routes: list[Route], *, any_ids: bool = False) -> Any:
    paths = [(r.path.replace("<uuid:", "<") if any_ids else r.path, r.method) for r in routes]
    url_map = Map([Rule(base + path, endpoint=i, methods=[method]) for i, (path, method) in enumerate(paths)],
                  strict_slashes=False, merge_slashes=False)
    return url_map.bind("")


def read_body(request: flask.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw JSON body, refused when too large or not JSON (before any database work)."""
    if request.content_length is not None and request.content_length > limit:
        raise errors.PayloadTooLarge(f"Bodies are limited to {limit} bytes.")
    mimetype = request.mimetype
    if mimetype != JSON_TYPE and not mimetype.endswith("+json"):
        raise errors.UnsupportedMediaType("Send the body as application/json.")
    try:
        data = request.stream.read(limit + 1)
    except OSError:  # the server's idle timeout: the client stopped sending
        raise errors.BadRequest("The body stopped arriving; send it again.") from None
    if len(data) > limit:
        raise errors.PayloadTooLarge(f"Bodies are limited to {limit} bytes.")
    return data


def client_ip(request: flask.Request) -> str:
    """The caller's address: FORWARDED_HOPS entries from the right of X-Forwarded-For,
    or the connection's peer when no proxy is trusted (the default).

    Google's front ends append the address they saw, so the entries to the left
    of the trusted hops are whatever the client chose to send.
    """
    hops = settings().forwarded_hops
    if hops > 0:
        forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        if len(forwarded) >= hops:
            try:
                return str(ipaddress.ip_address(forwarded[-hops]))
            except ValueError:
                raise errors.BadRequest(
                    "X-Forwarded-For does not name an IP address where the proxy's entry should be.",
                    errors=[{"field": "X-Forwarded-For", "message": "Not an IP address", "type": "invalid"}],
                ) from None
    return request.remote_addr or "unknown"


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def _trace(request: flask.Request) -> str | None:
    """The request's trace, as Cloud Logging names it, from Google's front end's header
    (X-Cloud-Trace-Context: TRACE/SPAN;o=1, or W3C traceparent: 00-TRACE-SPAN-01)."""
    project = settings().google_cloud_project
    given = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0]
    if not _TRACE_ID.match(given):
        parts = request.headers.get("traceparent", "").split("-")
        given = parts[1] if len(parts) == 4 else ""
    return f"projects/{project}/traces/{given}" if project and _TRACE_ID.match(given) else None


def _request_id(request: flask.Request) -> str:
    trace = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0]
    if _REQUEST_ID.match(trace):
        return trace
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _validation_problem(exc: pydantic.ValidationError) -> errors.ApiError:
    found = errors.field_errors(exc)
    invalid = [e for e in found if e["type"] == "json_invalid"]
    if invalid:  # pydantic says where: "Invalid JSON: expected value at line 1 column 9"
        where = invalid[0]["message"].removeprefix("Invalid JSON: ")
        return errors.BadRequest(f"The body is not valid JSON: {where}.")
    return errors.ValidationFailed("The request has invalid fields.", errors=found)


# Every answer of the API (JSON, problems, the widget's script): no page may frame it, no
# browser may take it for another type, no referrer leaves it. An HTML page (a mail's link)
# is answered with the pages' own policy (shared/pages.py).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _response(status: int, body: Any, headers: dict[str, str], mimetype: str) -> flask.Response:
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    secured = {**SECURITY_HEADERS, **(pages.SECURITY_HEADERS if mimetype == pages.HTML else {})}
    return flask.Response(text, status=status, headers={**secured, **headers}, mimetype=mimetype)


def _problem(exc: errors.ApiError, request: flask.Request) -> flask.Response:
    return _response(exc.status, exc.body(request.path), exc.headers, PROBLEM_TYPE)


def _log_failure(request_id: str, exc: BaseException) -> None:
    """What failed, for whoever reads the logs (Error Reporting reads `stack_trace`);
    the client gets a bare problem."""
    import traceback

    logs.log("ERROR", "unhandled error", request_id=request_id, error=type(exc).__name__,
             stack_trace="".join(traceback.format_exception(exc)))

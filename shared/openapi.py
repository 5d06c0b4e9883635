"""OpenAPI 3.1 for a function group, built from the routes and the pydantic models they validate with."""
from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.config import settings
from shared import responses

REF = "#/components/schemas/{model}"
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PARAM_SCHEMAS = {"uuid": {"type": "string", "format": "uuid"}}
_STATUS_TEXT = {
    400: "Malformed request", 401: "Missing or invalid credentials", 403: "Not allowed for this caller",
    404: "Not found (or another tenant's)", 409: "Conflicts with the item's state",
    413: "Body too large", 415: "Body is not JSON", 422: "Invalid fields", 429: "Rate limited",
    503: "Database unavailable; retry after Retry-After",
}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (pfk_...) or a JWT from the platform's identity provider.",
    },
    "tenantKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Tenant-Key",
        "description": "A tenant's public intake key, for anonymous submission.",
    },
}


def public_path(route_path: str, prefix: str | None = None) -> str:
    """A route's path as OpenAPI writes it, under the base path (or `prefix`): /api/v1/feedback/{id}/."""
    return (settings().api_base_path if prefix is None else prefix) + _CONVERTER.sub(r"{\2}", route_path)


def path_parameters(route_path: str) -> list[tuple[str, str]]:
    """(converter, name) of each parameter in a route's path."""
    return _CONVERTER.findall(route_path)


def _strip_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null."""
    options = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**options[0], **rest}
    return {k: v for k, v in schema.items() if not (k == "default" and v is None)}


def _key_patterns(node: Any) -> Any:
    """Pydantic writes a dict with constrained keys as patternProperties, which lets
    other keys through; the validator refuses them, so say propertyNames."""
    if isinstance(node, list):
        return [_key_patterns(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _key_patterns(v) for k, v in node.items()}
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
        (pattern, values), = patterns.items()
        del node["patternProperties"]
        node.update(propertyNames={"pattern": pattern}, additionalProperties=values)
    return node


def _possible_defaults(node: Any) -> Any:
    """Drop `default: null` where null is not allowed: a field that may be left out but
    never sent as null (a PATCH body's). Validators read such a default as invalid."""
    if isinstance(node, list):
        return [_possible_defaults(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _possible_defaults(v) for k, v in node.items()}
    if "default" in node and node["default"] is None and not _allows_null(node):
        del node["default"]
    return node


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or any(
        _allows_null(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


HEADERS = {
    "X-Request-Id": {"description": "The request's id, as the logs name it (X-Cloud-Trace-Context or"
                                    " X-Request-Id when the caller sent one)", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}},
    "Link": {"description": 'The next page: <...?cursor=...>; rel="next" (RFC 8288), when there is one',
             "schema": {"type": "string"}},
    "X-Submitter-Mail": {"description": '"queued" when the change mails its submitter; otherwise "none: " and why',
                         "schema": {"type": "string"}},
}
# Anonymous callers may name their tenant in the query instead of X-Tenant-Key.
TENANT_KEY_PARAMETER = {"name": "tenant_key", "in": "query", "required": False,
                        "description": "A tenant's public intake key (or send X-Tenant-Key)",
                        "schema": {"type": "string"}}


def _headers(*names: str) -> dict[str, Any]:
    return {"headers": {name: HEADERS[name] for name in ("X-Request-Id", *names)}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _strip_null(prop)}
        for name, prop in schema["properties"].items()
    ]


def _json(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


def _schema_of(name: str | None) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)} if name else {"type": "object"}


def _success(route: Any) -> dict[str, Any]:
    if route.media != "application/json":
        return _json({"type": "string"}, route.media)  # a page for people, not for programs
    return _json(_schema_of(route.response))


@functools.cache
def document(api: Any) -> dict[str, Any]:
    from shared import http  # imported here: http imports this module's callers

    models: set[type[BaseModel]] = {responses.Problem}
    for r in api.routes:
        if r.body is not None:
            models.add(r.body)
        if r.response is not None:
            models.add(getattr(responses, r.response))
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    problem = _json({"$ref": REF.format(model="Problem")}, "application/problem+json")

    paths: dict[str, Any] = {}
    for r in api.routes:
        path = public_path(r.path)
        op: dict[str, Any] = {
            "operationId": f"{r.method.lower()}_{r.handler.__name__}",
            "summary": r.summary,
            "responses": {str(r.status): {"description": "Success", **_success(r), **_headers(
                *r.headers, *(["Link"] if r.response == "FeedbackPage" else []))}},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": _PARAM_SCHEMAS.get(conv or "", {"type": "string"})}
            for conv, name in path_parameters(r.path)
        ]
        if r.query is not None:
            params += _query_parameters(r.query)
        if r.policy == http.ANYONE:
            params.append(TENANT_KEY_PARAMETER)
        if r.idempotent:
            params.append(
                {"name": "Idempotency-Key", "in": "header", "required": False,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
            )
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, **_json({"$ref": REF.format(model=r.body.__name__)})}
        if r.policy in (http.PUBLIC, http.SIGNED):
            op["security"] = []
        else:
            op["security"] = [{"bearer": []}] + ([{"tenantKey": []}, {}] if r.policy == http.ANYONE else [])
        if r.policy != http.PUBLIC:
            for status in (*r.problems, 503):
                op["responses"][str(status)] = {"description": _STATUS_TEXT[status], **problem,
                                                **_headers(*(["Retry-After"] if status in (429, 503) else []))}
        op["responses"]["default"] = {"description": "Any other error", **problem, **_headers()}
        paths.setdefault(path, {})[r.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": f"Pilot Feedback: {api.name}", "version": "1.0.0"},
        # Paths carry the base path: the server is the deployment's origin.
        "servers": [{"url": settings().public_base_url or "/", "description": "This deployment"}],
        "paths": paths,
        "components": {"schemas": _possible_defaults(_key_patterns(defs.get("$defs", {}))),
                       "securitySchemes": SECURITY_SCHEMES},
    }

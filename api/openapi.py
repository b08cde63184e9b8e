"""The OpenAPI schema says what the API answers: one error model on every operation.

FastAPI documents only its own ``HTTPValidationError`` for 422, which is not what our handlers send, and
none of the statuses the guards answer (401, 413, 429) or the handlers raise (403, 404, 503). Here every
operation declares each of them with ``ErrorOut``, so a client generated from the schema (or a fuzzer
checking responses against it) sees the real contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorOut

ERRORS = {
    "401": "No or a wrong API key (auth on): send 'Authorization: Bearer KEY'",
    "403": "The caller's groups do not allow this (e.g. the gap report)",
    "404": "Unknown id, or one the caller may not read (the two answer alike)",
    "413": "Request body over the size limit",
    "422": "Invalid input: 'field' names what to fix, 'detail' lists every problem",
    "429": "Rate limit reached: retry after the Retry-After seconds",
    "503": "The store is unavailable: the message names the fix",
}
_REF = "#/components/schemas/ErrorOut"
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that declares ``ErrorOut`` for every error status of every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error.pop("$defs", {}))
        schemas["ErrorOut"] = error
        for name in _FASTAPI_ERRORS:
            schemas.pop(name, None)
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, why in ERRORS.items():
                    responses[status] = {"description": why,
                                         "content": {"application/json": {"schema": {"$ref": _REF}}}}
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]

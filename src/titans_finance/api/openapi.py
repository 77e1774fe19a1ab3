"""The error half of the OpenAPI document: every error answer as the handlers really send it.

FastAPI documents only 422, with its own body shape (``{"detail": [...]}``) that this API never
sends.  ``document_errors`` replaces it with the real bodies and adds the statuses every
operation can answer: 401 (no or bad key), 404 (unknown id), 400/413 (unreadable or oversized
body), 422 (invalid input, NUL characters included), 429 (rate limit) and 503 (database or
model unavailable, with ``Retry-After``).  It also declares the server-side rule that text
never holds a NUL character.
"""

from __future__ import annotations

from typing import Any

ERROR = "ErrorResponse"
VALIDATION_ERROR = "ValidationErrorResponse"
_NO_NUL = "^[^\\x00]*$"

_SCHEMAS: dict[str, Any] = {
    ERROR: {
        "title": ERROR,
        "description": "Every error: a message naming the field or the problem.",
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "success": {"type": "boolean", "enum": [False]},
        },
        "required": ["detail", "success"],
    },
    VALIDATION_ERROR: {
        "title": VALIDATION_ERROR,
        "description": "Invalid input: a summary, and per field what is wrong (when known).",
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "success": {"type": "boolean", "enum": [False]},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "location": {"type": "string"},
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                    },
                    "required": ["field", "location", "message", "type"],
                },
            },
        },
        "required": ["detail", "success"],
    },
}

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
}


def _response(description: str, schema: str, headers: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        body["headers"] = headers
    return body


def _forbid_nul(node: Any) -> None:
    """Declare "no NUL character" on every free-text string schema below ``node``."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"format", "pattern", "enum", "const"} & set(node):
            node["pattern"] = _NO_NUL
        for value in node.values():
            _forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_nul(value)


def document_errors(schema: dict[str, Any], open_paths: set[str]) -> dict[str, Any]:
    """Add the real error responses to every operation of ``schema`` (in place; returned)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses["422"] = _response("Invalid input", VALIDATION_ERROR)
            if path not in open_paths:
                responses.setdefault(
                    "401",
                    _response(
                        "Missing or invalid credentials",
                        ERROR,
                        {"WWW-Authenticate": {"schema": {"type": "string"}}},
                    ),
                )
                responses.setdefault("429", _response("Too many requests", ERROR, _RETRY_AFTER))
                responses.setdefault(
                    "503", _response("Database or model unavailable", ERROR, _RETRY_AFTER)
                )
            if "{" in path:
                responses.setdefault("404", _response("No such record", ERROR))
            if method in ("post", "put", "patch") and "requestBody" in operation:
                responses.setdefault("400", _response("Unreadable request body", ERROR))
                responses.setdefault("413", _response("Request body too large", ERROR))
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" not in response:
                    response["content"] = _response("", ERROR)["content"]
    for name, component in components.items():
        if name not in _SCHEMAS:
            _forbid_nul(component)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _forbid_nul(parameter.get("schema"))
    return schema


__all__ = ["ERROR", "VALIDATION_ERROR", "document_errors"]

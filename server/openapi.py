"""OpenAPI 3.1 from the endpoint table (pydantic emits JSON Schema 2020-12, which 3.1 uses)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter

if TYPE_CHECKING:
    from server.api import Api

_REF = "#/components/schemas/{model}"
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_STATUS_TEXT = {400: "Bad request", 401: "Missing or unknown key", 403: "Forbidden",
                404: "Not found", 409: "Conflict", 413: "Too large", 415: "Wrong media type",
                422: "Invalid request", 429: "Rate limited", 503: "Unavailable"}


def build_document(api: Api) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for ep in api.endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": ep.handler.__name__,
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", ep.path)
        ]
        params += [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
             "description": text}
            for name, text in ep.query.items()
        ]
        if params:
            op["parameters"] = params
        if ep.auth in ("tenant", "admin"):
            op["security"] = [{"apiKey": []}]
        elif ep.auth == "optional":
            op["security"] = [{"apiKey": []}, {}]
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(ep.body, components,
                                                                   "validation")}},
            }
        ok: dict[str, Any] = {"description": "OK"}
        if ep.response is not None:
            ok["content"] = {"application/json": {"schema": _schema(ep.response, components,
                                                                    "serialization")}}
        op["responses"][str(ep.status if ep.response is not None or ep.status != 200 else 204)] = ok
        codes = set(ep.errors) | ({422, 400} if ep.body is not None else set())
        if ep.auth in ("tenant", "admin"):
            codes |= {401, 403}
        for code in sorted(codes):
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
            }
        paths.setdefault(_openapi_path(ep.path), {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version, "description": api.description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "a tenant's API key, or the admin key"}},
        },
    }


def _openapi_path(path: str) -> str:
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def _schema(tp: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(tp).json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        components[tp.__name__] = schema
        return {"$ref": _REF.format(model=tp.__name__)}
    return schema

"""Response shapes of the OpenAPI document (JSON; the XML bodies carry the same fields, see `formats`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None
    service_name: str | None
    service_code: str | None
    agency_responsible: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None


class Error(BaseModel):
    code: int
    description: str


def responses(ok: int, model: Any, *errors: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of an operation: `ok` with `model` in JSON (and XML text), and Open311 error arrays."""
    xml = {"text/xml": {"schema": {"type": "string"}}}
    declared: dict[int | str, dict[str, Any]] = {ok: {"model": model, "content": xml}}
    for status in errors:
        declared[status] = {"model": list[Error], "content": xml, "description": ERROR_TITLES[status]}
    return declared


ERROR_TITLES = {400: "请求无效 Bad request", 403: "API 密钥无效 Invalid api_key", 404: "不存在 Not found",
                409: "幂等键冲突 Idempotency-Key reused with other content",
                503: "暂不可用，请稍后重试 Unavailable: retry after Retry-After seconds"}

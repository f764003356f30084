"""The HTTP layer: GeoReport v2 routes under /open311/v2, in JSON and XML, with Open311 error arrays.

`create_app` takes its collaborators (the complaint sink, the status source, the API keys), so the same app runs
against the broker and the case store (`__main__`) or against fakes in the HTTP layer's unit tests.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Form, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from prometheus_client import make_asgi_app
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from envgrid.domain.intake_contract import MAX_ID_CHARS, check_report
from envgrid.domain.rules.categories import Category

from . import formats, models
from .complaint import ServiceRequestForm, complaint_for, event_id_for, submission_digest
from .keys import ApiKeys
from .metrics import REQUESTS
from .services import service_definition, service_list
from .sink import ComplaintSink, SinkUnavailable
from .status import CHINA, ListFilter, StatusSource, StatusUnavailable, request_status

BASE = "/open311/v2"
REMEMBERED = 20_000  # submissions kept to answer retries and refuse a reused key (bounded; see `Submitted`)
EARLIEST = datetime(2016, 1, 1, tzinfo=UTC)  # our times are this gateway's clock, never before the plan
RECEIVED_NOTE = "已收到，正在分派 Received; being routed to the responsible unit"
MAX_IDS = 100  # ids per lookup of service_request_id=a,b,c
Format = Literal["json", "xml"]
#: GeoReport v2 dates: W3C format (ISO 8601), e.g. 2026-12-01T08:00:00+08:00 or 2026-12-01
W3C_DATETIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"


@dataclass
class Submitted:
    """A submission under a client key: what it contained, the record built for it, whether the broker has it.
    A retry with the same content re-sends the same record (same received_at, so the pipeline sees a redelivery);
    after a restart this memory is empty, and the pipeline itself refuses a reused event id with other content."""

    digest: str
    record: dict[str, Any]
    delivered: bool = False


def create_app(sink: ComplaintSink, status: StatusSource, keys: ApiKeys, categories: Sequence[Category],
               agencies: Mapping[str, tuple[str, str]], clock: Callable[[], datetime] = lambda: datetime.now(UTC),
               retry_after_s: int = 10) -> FastAPI:
    app = FastAPI(title="envgrid Open311 GeoReport v2", version="2",
                  description="Environmental complaints (环境信访投诉) into the Wenzhou grid pipeline.")
    by_code = {c.code: c for c in categories}
    names = {c.code: f"{c.name_zh} {c.name_en}" for c in categories}
    submitted: OrderedDict[str, Submitted] = OrderedDict()
    status_source = status  # `status` is also a query parameter's name below

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        REQUESTS.labels(getattr(route, "path", "unmatched"), str(response.status_code)).inc()
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'] if p not in ('body', 'query', 'path'))}: {e['msg']}"
                             for e in error.errors())
        return formats.errors(400, f"请求参数无效 Invalid request: {problems}", _format_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        text = "不存在 Not found" if error.status_code == 404 else str(error.detail)
        headers = dict(error.headers or {})
        if error.status_code == 405:  # every route of the path (starlette names only the first's methods)
            headers["Allow"] = ", ".join(sorted(_methods_of(app, request.scope)))
        return formats.errors(error.status_code, text, _format_of(request), headers)

    @app.get(f"{BASE}/services.{{fmt}}", responses=models.responses(200, list[models.Service], 400),
             response_class=Response, summary="GeoReport v2 service list (事件类别)")
    async def services(fmt: Format) -> Response:
        return formats.render(service_list(categories), "services", fmt)

    @app.get(f"{BASE}/services/{{service_code}}.{{fmt}}",
             responses=models.responses(200, models.ServiceDefinition, 400, 404), response_class=Response,
             summary="GeoReport v2 service definition (attributes)")
    async def definition(service_code: str, fmt: Format) -> Response:
        category = by_code.get(service_code)
        if category is None:
            return formats.errors(404, f"未知的服务类别 Unknown service_code {service_code!r}; see services.{fmt}", fmt)
        return formats.render(service_definition(category), "service_definition", fmt)

    @app.post(f"{BASE}/requests.{{fmt}}", status_code=201,
              responses=models.responses(201, list[models.RequestCreated], 400, 403, 409, 503),
              response_class=Response, summary="Submit a service request (a complaint)")
    async def create(fmt: Format, form: Annotated[ServiceRequestForm, Form()],
                     api_key: Annotated[str | None, Query(max_length=256)] = None,
                     idempotency_key: Annotated[str | None, Header(min_length=1, max_length=MAX_ID_CHARS)] = None,
                     ) -> Response:
        partner = keys.partner(form.api_key or api_key)
        if partner is None:
            return formats.errors(403, "API 密钥无效或缺失 Invalid or missing api_key", fmt)
        problem = form.location_problem()
        if problem is not None:
            return formats.errors(400, f"请求参数无效 Invalid request: {problem}", fmt)
        if form.service_code not in by_code:
            return formats.errors(400, f"未知的服务类别 Unknown service_code {form.service_code!r}; "
                                       f"GET services.{fmt} lists them", fmt)
        client_key = idempotency_key or form.idempotency_key
        event_id = event_id_for(partner, client_key)
        digest = submission_digest(form)
        earlier = submitted.get(event_id)
        if earlier is not None and earlier.digest != digest:
            return formats.errors(409, "幂等键已用于另一份内容不同的请求 Idempotency-Key was already used for a "
                                       "request with other content; use a new key for a new request", fmt)
        if earlier is None:
            record = complaint_for(form, partner, event_id, clock(), client_key)
            breach = check_report(record, EARLIEST)
            if breach is not None:
                return formats.errors(400, f"请求不符合输入约定 The request breaks the input contract: {breach.message}",
                                      fmt)
            earlier = Submitted(digest, record)
            if client_key is not None:  # without a key, nobody can ask for this submission again
                _remember(submitted, event_id, earlier)
        if not earlier.delivered:
            try:
                await sink.send(event_id, earlier.record)
            except SinkUnavailable as error:
                wait = str(error.retry_after_s or retry_after_s)
                return formats.errors(503, f"暂时无法受理，请用同一幂等键在 {wait} 秒后重试 Cannot accept requests now "
                                           f"({error}); retry after {wait} s with the same Idempotency-Key", fmt,
                                      {"Retry-After": wait})
            earlier.delivered = True
        body = [{"service_request_id": event_id, "service_notice": RECEIVED_NOTE, "account_id": None}]
        return formats.render(body, "service_requests", fmt, 201)

    @app.get(f"{BASE}/requests/{{service_request_id}}.{{fmt}}",
             responses=models.responses(200, list[models.ServiceRequest], 400, 404, 503), response_class=Response,
             summary="One service request's status")
    async def one(service_request_id: str, fmt: Format) -> Response:
        if not _is_uuid(service_request_id):
            return formats.errors(404, f"没有此请求 No request {service_request_id!r}", fmt)
        return await _statuses([service_request_id], fmt)

    @app.get(f"{BASE}/requests.{{fmt}}", responses=models.responses(200, list[models.ServiceRequest], 400, 503),
             response_class=Response, summary="Service requests, by status, service and date")
    async def many(fmt: Format, service_request_id: str | None = None, service_code: str | None = None,
                   status: Annotated[str | None, Query(pattern=r"^(open|closed)(,(open|closed))?$")] = None,
                   start_date: W3CDateTime | None = None, end_date: W3CDateTime | None = None) -> Response:
        if service_request_id is not None:
            ids = [i.strip() for i in service_request_id.split(",") if _is_uuid(i.strip())]
            return await _statuses(ids[:MAX_IDS], fmt)
        statuses = tuple(sorted(set(status.split(",")))) if status else ()
        chosen = ListFilter(statuses=() if len(statuses) == 2 else statuses,
                            service_codes=tuple(c for c in (service_code or "").split(",") if c),
                            start=_in_china(start_date), end=_in_china(end_date))
        try:
            found = await run_in_threadpool(status_source.cases, chosen, clock())
        except StatusUnavailable as error:
            return _unavailable(error, fmt)
        return formats.render([request_status(i, view, names, agencies) for i, view in found], "service_requests", fmt)

    async def _statuses(ids: list[str], fmt: str) -> Response:
        try:
            views = [await run_in_threadpool(status_source.case_of, i) for i in ids]
        except StatusUnavailable as error:
            return _unavailable(error, fmt)
        return formats.render([request_status(i, v, names, agencies) for i, v in zip(ids, views, strict=True)],
                              "service_requests", fmt)

    def _unavailable(error: Exception, fmt: str) -> Response:
        return formats.errors(503, f"状态暂不可查 Status cannot be read now ({error}); retry later", fmt,
                              {"Retry-After": str(retry_after_s)})

    app.mount("/metrics", make_asgi_app())
    return app


def _remember(submitted: OrderedDict[str, Submitted], event_id: str, entry: Submitted) -> None:
    submitted[event_id] = entry
    while len(submitted) > REMEMBERED:
        submitted.popitem(last=False)


def _methods_of(app: FastAPI, scope: Mapping[str, Any]) -> set[str]:
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(scope["path"]):
            methods |= route.methods or set()
    return methods


def _format_of(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _in_china(moment: datetime | None) -> datetime | None:
    """A date-time without a zone is Beijing time (the city's)."""
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=CHINA)


def _w3c(value: Any) -> Any:
    """Only W3C text: pydantic alone would also take a number as seconds since 1970."""
    if isinstance(value, str) and not re.match(W3C_DATETIME, value):
        raise ValueError("use the W3C format, e.g. 2026-12-01T08:00:00+08:00")
    return value


W3CDateTime = Annotated[datetime, BeforeValidator(_w3c)]

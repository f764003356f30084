"""The Open311 gateway (issue 11) on the real secured broker, registry and PostgreSQL, seen as its users see it.

The gateway runs as `python -m envgrid.connectors.open311 serve`, logged in as the intake-gateway principal; an
HTTP client posts service requests; a plain consumer reads the complaint intake topic (the record, the reporter in
its complainant fields) and, once the real worker routed it, the lead department's topic (no trace of the
reporter); the case store's sink stores the case, and the gateway's status answers come from it. The same
submission twice is one record; a broker that does not answer is a 503 with Retry-After.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from envgrid.connectors.open311.gateway import build
from envgrid.connectors.open311.keys import ApiKeys, Partner, digest_of
from envgrid.connectors.settings import CASE_STORE_DSN_ENV
from envgrid.domain.case_ids import case_id_for
from tests.integration.case_store_process import (
    SinkProcess,
    case_store_admin_dsn,
    fresh_database,
    sink_cluster,
    wait_until,
)
from tests.integration.open311_process import KEY, PARTNER, GatewayProcess, free_port
from tests.integration.pipeline_process import WorkerProcess, grant_units, prepare, read_all, read_raw

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
BASE = "/open311/v2"
REPORTER = {"first_name": "晓明", "last_name": "欧阳", "phone": "13912345678", "email": "ouyang@example.org"}
FORM = {"api_key": KEY, "service_code": "water_pollution", "lat": "27.9936", "long": "120.6994", "datum": "GCJ-02",
        "address_string": "温州市鹿城区五马街道解放街12号", "description": "河水发黑发臭，有死鱼 Black, smelly river, dead fish",
        "media_url": "https://example.org/photos/river.jpg", **REPORTER}


def test_a_service_request_reaches_the_pipeline_once_without_its_reporter_and_shows_its_case(
        cluster, cluster_is_local, unique_name, tmp_path):
    prefix = unique_name("open311")
    catalogue, codec = prepare(cluster, prefix)
    grant_units(prefix)  # the intake-gateway and case-store principals on this prefix's topics
    dsn = fresh_database(case_store_admin_dsn(cluster_is_local), prefix)
    intake = catalogue.intake("PetitionComplaint")
    gateway = GatewayProcess(cluster, prefix, dsn, tmp_path).start()
    worker = sink = None
    try:
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            first = http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "it-1"})
            assert first.status_code == 201, first.text
            again = http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "it-1"})
            assert again.json() == first.json()
            request_id = first.json()[0]["service_request_id"]
            other = http.post(f"{BASE}/requests.json", data={**FORM, "description": "另一件事"},
                              headers={"Idempotency-Key": "it-1"})
            assert other.status_code == 409, other.text
            xml = http.post(f"{BASE}/requests.xml", data={**FORM, "datum": "BD-09"})
            assert xml.status_code == 201 and b"<service_request_id>" in xml.content

            records = [value for _key, _event, value, _raw in read_all(cluster, codec, [intake])[intake]]
            mine = [r for r in records if r["event_id"] == request_id]
            assert len(mine) == 1, f"{len(mine)} records of request {request_id} on {intake}"
            [record] = mine
            assert record["channel"] == "WEB" and record["category"] == "water_pollution"
            assert record["location"]["datum"] == "GCJ02" and record["location"]["latitude"] == 27.9936
            assert record["complainant"] == {"name": "欧阳晓明", "phone": "13912345678", "id_number": None}
            assert len(records) == 2 and {r["location"]["datum"] for r in records} == {"GCJ02", "BD09"}

            assert http.get(f"{BASE}/requests/{request_id}.json").status_code == 503  # a store without tables
            subprocess.run([sys.executable, "-m", "envgrid.connectors.case_store", "migrate"], check=True,
                           env={**os.environ, CASE_STORE_DSN_ENV: dsn}, timeout=120)  # what its operator runs
            [pending] = http.get(f"{BASE}/requests/{request_id}.json").json()
            assert pending["status"] == "open" and "being routed" in pending["status_notes"]

            worker = WorkerProcess(cluster, prefix, tmp_path / "state").start()
            sink = SinkProcess(sink_cluster(cluster), prefix, dsn, f"case-store-{prefix}").start()
            department = catalogue.topic_for(("department", "epb"))
            case_id = case_id_for(request_id)

            def dispatched() -> bool:
                return any(v["case_id"] == case_id for _k, _e, v, _r in read_all(cluster, codec, [department])[department])

            worker.wait_for(dispatched, 300, f"case {case_id} on {department}")
            raw = read_raw(cluster, [department])[department]
            for secret in ("欧阳晓明", "晓明", "13912345678", "ouyang@example.org"):
                assert not any(secret.encode() in (value or b"") or secret.encode() in (key or b"")
                               for key, value, _headers in raw), f"{secret!r} reached {department}"
            copy = next(v for _k, _e, v, _r in read_all(cluster, codec, [department])[department]
                        if v["case_id"] == case_id)
            assert copy["complainant"] is None or "晓明" not in repr(copy["complainant"])

            def stored() -> bool:
                [shown] = http.get(f"{BASE}/requests/{request_id}.json").json()
                return "being routed" not in shown["status_notes"]

            wait_until(stored, 300, f"the case store to hold case {case_id}", sink)
            [shown] = http.get(f"{BASE}/requests/{request_id}.json").json()
            assert shown["status"] == "open" and shown["service_code"] == "water_pollution"
            assert "环保局" in shown["status_notes"] and shown["agency_responsible"].startswith("环保局")
            assert shown["expected_datetime"], shown
            listed = http.get(f"{BASE}/requests.json", params={"status": "open", "service_code": "water_pollution"})
            assert request_id in [r["service_request_id"] for r in listed.json()]
            assert http.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
            print(f"\nopen311: request {request_id} -> case {case_id}: {shown['status_notes']}; "
                  f"expected {shown['expected_datetime']}")
    finally:
        for process in (sink, worker):
            if process is not None:
                process.stop()
        gateway.stop()


def test_a_broker_that_does_not_answer_is_a_503_with_retry_after(cluster, unique_name):
    """The registry answers (the schema id is found) but the bootstrap address is a closed port."""
    import asyncio
    import threading

    import uvicorn

    prefix = unique_name("open311down")
    prepare(cluster, prefix)
    closed = dataclasses.replace(cluster, bootstrap_servers=f"127.0.0.1:{free_port()}")
    keys = ApiKeys({digest_of(KEY): Partner(PARTNER, "WEB")})
    gateway = build(closed, keys, "postgresql://127.0.0.1:1/none", topic_prefix=prefix, produce_timeout_s=2.0,
                    retry_after_s=15)
    server = uvicorn.Server(uvicorn.Config(gateway.app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "uvicorn to start")
        url = f"http://127.0.0.1:{server.config.port}"
        response = httpx.post(f"{url}{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": str(uuid.uuid4())},
                              timeout=30)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "15"
        assert "retry after 15 s" in response.json()[0]["description"]
        status = httpx.get(f"{url}{BASE}/requests/{uuid.uuid4()}.json", timeout=30)
        assert status.status_code == 503 and status.headers["Retry-After"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        gateway.close()

"""The Open311 HTTP layer through FastAPI's TestClient: each endpoint in JSON and XML, and each error."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from envgrid.connectors.open311.complaint import EVENT_ID_NAMESPACE
from envgrid.domain.rules.categories import list_categories
from tests.unit.open311.open311kit import FORM, KEY, NOW, make_client, view

BASE = "/open311/v2"


@pytest.fixture
def client():
    return make_client()


def test_services_list_every_category_with_chinese_names_and_groups(client):
    http, _sink, _status = client
    body = http.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in body] == [c.code for c in list_categories()]
    dust = body[0]
    assert dust["service_name"].startswith("建筑工地扬尘") and dust["group"].startswith("村居网格当场制止")
    assert {s["group"] for s in body} == {"村居网格当场制止 Stopped on the spot by village grids",
                                          "环境执法监管 Environmental enforcement"}


def test_services_in_xml():
    http, _sink, _status = make_client()
    response = http.get(f"{BASE}/services.xml")
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "services" and root[0].tag == "service"
    assert root[0].findtext("service_code") == "construction_dust" and root[0].findtext("metadata") == "true"


def test_a_service_definition_asks_for_the_key_entity_and_a_suspected_crime(client):
    http, _sink, _status = client
    body = http.get(f"{BASE}/services/enterprise_discharge.json").json()
    codes = [a["code"] for a in body["attributes"]]
    assert codes == ["key_entity", "suspected_crime", "cross_district", "severity"]
    assert "重点环境监管对象" in body["attributes"][0]["description"]
    crime = http.get(f"{BASE}/services/environmental_crime.json").json()
    assert "suspected_crime" not in [a["code"] for a in crime["attributes"]]
    dust = http.get(f"{BASE}/services/construction_dust.json").json()
    assert "key_entity" not in [a["code"] for a in dust["attributes"]]
    root = ET.fromstring(http.get(f"{BASE}/services/enterprise_discharge.xml").content)
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/code").text == "key_entity"
    assert [v.findtext("key") for v in root.findall("attributes/attribute/values/value")][:2] == ["true", "false"]


def test_an_unknown_service_is_a_404_open311_error(client):
    http, _sink, _status = client
    response = http.get(f"{BASE}/services/no_such.json")
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404 and "未知的服务类别" in error["description"] and "Unknown" in error["description"]


def test_a_request_becomes_a_petition_complaint_with_the_reporter_only_in_the_complainant(client):
    http, sink, _status = client
    form = {**FORM, "attribute[key_entity]": "温州某化工有限公司", "attribute[suspected_crime]": "true",
            "attribute[severity]": "HIGH"}
    response = http.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "order-1"})
    assert response.status_code == 201, response.text
    [created] = response.json()
    [(key, record)] = sink.sent
    assert created["service_request_id"] == key == record["event_id"] == str(
        uuid.uuid5(EVENT_ID_NAMESPACE, "test-web\norder-1"))
    assert record["channel"] == "WEB" and record["category"] == "water_pollution"
    assert record["location"] == {"longitude": 120.6994, "latitude": 27.9936, "datum": "GCJ02",
                                  "address": FORM["address_string"]}
    assert record["complainant"] == {"name": "张三", "phone": "13800000000", "id_number": None}
    assert record["key_entity"] == "温州某化工有限公司" and record["suspected_crime"] is True
    assert record["severity"] == "HIGH" and record["attachments"] == [FORM["media_url"]]
    assert record["received_at"] == record["occurred_at"] == NOW
    text = repr({k: v for k, v in record.items() if k != "complainant"})
    assert "张三" not in text and "13800000000" not in text and "zhang@example.org" not in repr(record)


def test_the_datum_defaults_to_wgs84_and_bd09_is_accepted(client):
    http, sink, _status = client
    plain = {k: v for k, v in FORM.items() if k != "datum"}
    assert http.post(f"{BASE}/requests.json", data=plain).status_code == 201
    assert http.post(f"{BASE}/requests.json", data={**FORM, "datum": "BD-09"}).status_code == 201
    assert [r["location"]["datum"] for _k, r in sink.sent] == ["WGS84", "BD09"]


def test_a_request_in_xml(client):
    http, sink, _status = client
    response = http.post(f"{BASE}/requests.xml", data=FORM)
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == sink.sent[0][0]


def test_the_same_submission_twice_is_sent_once_and_answers_the_same_id(client):
    http, sink, _status = client
    first = http.post(f"{BASE}/requests.json", data={**FORM, "idempotency_key": "k-1"}).json()
    again = http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "k-1"}).json()
    assert first == again and len(sink.sent) == 1


def test_a_key_reused_for_other_content_is_a_409(client):
    http, sink, _status = client
    assert http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "k-2"}).status_code == 201
    response = http.post(f"{BASE}/requests.json", data={**FORM, "description": "另一件事 something else"},
                         headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 409 and len(sink.sent) == 1
    assert "Idempotency-Key" in response.json()[0]["description"]


def test_a_wrong_or_missing_api_key_is_a_403(client):
    http, sink, _status = client
    wrong = http.post(f"{BASE}/requests.json", data={**FORM, "api_key": "guess"})
    missing = http.post(f"{BASE}/requests.xml", data={k: v for k, v in FORM.items() if k != "api_key"})
    assert wrong.status_code == missing.status_code == 403 and not sink.sent
    assert wrong.json()[0]["code"] == 403 and "API 密钥" in wrong.json()[0]["description"]
    assert ET.fromstring(missing.content).find("error/code").text == "403"


def test_the_api_key_may_come_as_a_query_parameter(client):
    http, sink, _status = client
    form = {k: v for k, v in FORM.items() if k != "api_key"}
    assert http.post(f"{BASE}/requests.json", params={"api_key": KEY}, data=form).status_code == 201


@pytest.mark.parametrize(("change", "says"), [
    ({"lat": "91"}, "lat"),
    ({"datum": "NAD27"}, "datum must be WGS-84, GCJ-02 or BD-09"),
    ({"lat": None, "long": None, "address_string": None}, "a location is required"),
    ({"long": None}, "lat and long come together"),
    ({"phone": "call me"}, "phone"),
    ({"email": "nobody"}, "email"),
    ({"media_url": "ftp://x"}, "media_url"),
    ({"attribute[severity]": "APOCALYPTIC"}, "attribute[severity]"),
    ({"service_code": "no_such"}, "Unknown service_code"),
])
def test_invalid_requests_are_400_open311_errors_in_both_languages(client, change, says):
    http, sink, _status = client
    form = {k: v for k, v in {**FORM, **change}.items() if v is not None}
    response = http.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 400, response.text
    [error] = response.json()
    assert error["code"] == 400 and says in error["description"], error
    assert any("\u4e00" <= c <= "\u9fff" for c in error["description"])
    assert not sink.sent


def test_an_unavailable_broker_is_a_503_with_retry_after_and_the_retry_sends_the_same_record(client):
    http, sink, _status = client
    sink.down = True
    response = http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "k-3"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert "retry after 7 s" in response.json()[0]["description"]
    sink.down = False
    assert http.post(f"{BASE}/requests.json", data=FORM, headers={"Idempotency-Key": "k-3"}).status_code == 201
    assert len(sink.sent) == 1


def test_a_request_in_the_store_shows_its_state_and_deadline(client):
    http, _sink, status = client
    request_id = str(uuid.uuid4())
    status.views[request_id] = view("dispatched")
    [shown] = http.get(f"{BASE}/requests/{request_id}.json").json()
    assert shown["status"] == "open" and shown["status_notes"] == \
        "已派单至环保局 Dispatched to the Environmental Protection Bureau"
    assert shown["agency_responsible"] == "环保局 Environmental Protection Bureau"
    assert shown["expected_datetime"] == "2026-12-09T17:30:00+08:00" and shown["service_code"] == "water_pollution"
    status.views[request_id] = view("resolved", merged=True)
    [shown] = http.get(f"{BASE}/requests/{request_id}.json").json()
    assert shown["status"] == "closed" and shown["status_notes"].startswith("已并入案件 WZ-0123456789ABCDEF")
    root = ET.fromstring(http.get(f"{BASE}/requests/{request_id}.xml").content)
    assert root.find("request/status").text == "closed"


def test_a_request_not_in_the_store_yet_is_open_and_being_routed(client):
    http, _sink, _status = client
    [shown] = http.get(f"{BASE}/requests/{uuid.uuid4()}.json").json()
    assert shown["status"] == "open" and "being routed" in shown["status_notes"]


def test_a_request_id_that_is_no_uuid_is_a_404(client):
    http, _sink, _status = client
    assert http.get(f"{BASE}/requests/WZ-1.json").status_code == 404


def test_the_list_passes_its_filters_to_the_store(client):
    http, _sink, status = client
    status.views = {str(uuid.uuid4()): view(), str(uuid.uuid4()): view(category="odor")}
    response = http.get(f"{BASE}/requests.json", params={"status": "open", "service_code": "odor",
                                                        "start_date": "2026-11-01T00:00:00+08:00",
                                                        "end_date": "2026-12-01T00:00:00"})
    assert response.status_code == 200 and [r["service_code"] for r in response.json()] == ["odor"]
    [asked] = status.asked
    assert asked.statuses == ("open",) and asked.service_codes == ("odor",)
    assert asked.start.isoformat() == "2026-11-01T00:00:00+08:00" and asked.end.isoformat() == "2026-12-01T00:00:00+08:00"
    assert http.get(f"{BASE}/requests.json", params={"status": "pending"}).status_code == 400


def test_an_unreadable_store_is_a_503(client):
    http, _sink, status = client
    status.down = True
    response = http.get(f"{BASE}/requests.json")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert http.get(f"{BASE}/requests/{uuid.uuid4()}.json").status_code == 503


def test_an_unknown_format_is_a_400(client):
    http, _sink, _status = client
    response = http.get(f"{BASE}/services.csv")
    assert response.status_code == 400 and "fmt" in response.json()[0]["description"]


def test_metrics_count_requests_by_endpoint_and_status(client):
    http, _sink, _status = client
    http.get(f"{BASE}/services.json")
    text = http.get("/metrics/").text
    assert 'envgrid_open311_requests_total{endpoint="/open311/v2/services.{fmt}",status="200"}' in text

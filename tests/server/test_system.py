"""Health, readiness, metrics, the OpenAPI document and request ids."""

from __future__ import annotations

import json
import logging

from server.observability import configure_logging, request_id


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"]["database"] == "ok" and body["checks"]["store"] == "ok"
    assert body["checks"]["models.embeddings"] == "ok"


def test_ready_names_the_failing_part(make_client):
    client = make_client(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    resp = client.get("/ready")
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["store"] != "ok"


def test_metrics_count_requests_per_route(client, tenant):
    for _ in range(3):
        client.get("/v1/lessons")
    text = client.get("/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("parley_http_requests_total{")
                and 'route="/v1/lessons"' in x and 'method="GET"' in x)
    assert float(line.rsplit(" ", 1)[1]) == 3.0
    assert "parley_http_request_duration_seconds_bucket" in text
    assert "parley_websockets_open" in text and "parley_sessions_active" in text
    assert "parley_turn_duration_seconds" in text


def test_openapi_document_is_generated_from_the_models(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/v1/sessions/{session_id}/turns" in doc["paths"]
    turn_op = doc["paths"]["/v1/sessions/{session_id}/turns"]["post"]
    body_ref = turn_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert schema["properties"]["text"]["maxLength"] == 2000
    assert "Lesson" in doc["components"]["schemas"]
    assert "404" in turn_op["responses"]
    # the pronunciation assessment's one shape, documented where it is answered
    assess = doc["paths"]["/v1/pronunciation/assess"]["post"]
    assert {p["name"] for p in assess["parameters"]} >= {"reference", "learner_id"}
    shape = doc["components"]["schemas"]["AssessmentOut"]
    assert set(shape["properties"]) == {"reference", "recognized", "scores", "fluency", "words",
                                        "miscues", "scorer"}
    assert "PhoneScoreOut" in doc["components"]["schemas"]
    spoken = doc["components"]["schemas"]["SpokenTurnOut"]["properties"]["pronunciation"]
    assert "AssessmentOut" in str(spoken)
    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text


def test_request_id_round_trip(client):
    resp = client.get("/health", headers={"X-Request-ID": "abc123"})
    assert resp.headers["x-request-id"] == "abc123"
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32


def test_logs_are_json_with_request_id(capsys):
    configure_logging("INFO")
    token = request_id.set("req-42")
    try:
        logging.getLogger("parley.test").info("hello", extra={"route": "/x"})
    finally:
        request_id.reset(token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello" and record["request_id"] == "req-42"
    assert record["route"] == "/x" and record["level"] == "INFO"

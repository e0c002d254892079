"""Tenant text classifiers over REST: life cycle, samples, training, versions, retrieval."""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.responses import Response

from server.api import Call
from server.errors import ApiError, pydantic_message
from server.nlu_schemas import (
    ClassifierCreate,
    ClassifierOut,
    ClassifierUpdate,
    ImportOut,
    JobOut,
    RetrieveIn,
    RetrieveOut,
    RollbackIn,
    SampleIn,
    SampleOut,
    SamplePage,
    SamplesIn,
    TestIn,
    TestOut,
    TrainIn,
    VersionOut,
)
from server.routes._api import api

BASE = "/v1/nlu/classifiers"
ONE = BASE + "/{classifier_id}"
SPLITS = {"samples": "train", "test-samples": "test"}
_PAGE = {"after": "the last id of the previous page (default 0)",
         "limit": "1 to 1000 (default 100)", "label": "only this label"}
_IMPORT = {"replace": "true: delete the split's samples first (default false)"}


def _cid(call: Call) -> str:
    return call.params["classifier_id"]


def _tenant(call: Call) -> str:
    assert call.principal.tenant_id is not None
    return call.principal.tenant_id


@api.route("POST", BASE, summary="Create a text classifier", tag="nlu", body=ClassifierCreate,
           response=ClassifierOut, status=201, errors=(409, 422))
async def create(call: Call) -> ClassifierOut:
    return await call.services.classifiers.create(_tenant(call), call.body)


@api.route("GET", BASE, summary="The tenant's classifiers", tag="nlu",
           response=list[ClassifierOut])
async def list_all(call: Call) -> list[ClassifierOut]:
    return await call.services.classifiers.list(_tenant(call))


@api.route("GET", ONE, summary="One classifier", tag="nlu", response=ClassifierOut,
           errors=(404,))
async def read(call: Call) -> ClassifierOut:
    return await call.services.classifiers.read(_tenant(call), _cid(call))


@api.route("PATCH", ONE, summary="Change a classifier's settings", tag="nlu",
           body=ClassifierUpdate, response=ClassifierOut, errors=(404, 422))
async def patch(call: Call) -> ClassifierOut:
    return await call.services.classifiers.update(_tenant(call), _cid(call), call.body)


@api.route("DELETE", ONE, summary="Delete a classifier, its samples, versions and jobs",
           tag="nlu", status=204, errors=(404,))
async def remove(call: Call) -> None:
    await call.services.classifiers.delete(_tenant(call), _cid(call))


def _sample_routes(kind: str, split: str) -> None:
    """The same five routes for the training set and the held-out test set."""
    path = f"{ONE}/{kind}"
    what = "training" if split == "train" else "test"

    @api.route("POST", path, summary=f"Add {what} samples (up to 1,000 a call)", tag="nlu",
               body=SamplesIn, response=ImportOut, status=201, errors=(404, 422))
    async def add(call: Call) -> ImportOut:
        return ImportOut(**await call.services.classifiers.add_samples(
            _tenant(call), _cid(call), split, call.body.samples))

    @api.route("GET", path, summary=f"A page of {what} samples", tag="nlu",
               response=SamplePage, errors=(404, 422), query=_PAGE)
    async def page(call: Call) -> SamplePage:
        q = call.request.query_params
        after, limit = q.get("after", "0"), q.get("limit", "100")
        if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
            raise ApiError("after is a sample id, limit 1 to 1000", status=422,
                           code="invalid_query")
        return SamplePage(**await call.services.classifiers.page(
            _tenant(call), _cid(call), split, int(after), int(limit), q.get("label")))

    @api.route("POST", f"{path}/import", summary=f"Bulk-import {what} samples as JSON lines "
               "(body: application/x-ndjson, one {\"text\", \"label\"} a line)", tag="nlu",
               response=ImportOut, status=201, errors=(400, 404, 413, 415, 422), query=_IMPORT)
    async def import_(call: Call) -> ImportOut:
        samples = await _jsonl_body(call)
        replace = call.request.query_params.get("replace", "false").lower() in ("true", "1")
        return ImportOut(**await call.services.classifiers.add_samples(
            _tenant(call), _cid(call), split, samples, replace=replace))

    @api.route("GET", f"{path}/export", summary=f"Export the {what} samples as JSON lines",
               tag="nlu", errors=(404,))
    async def export(call: Call) -> Response:
        text = await call.services.classifiers.export(_tenant(call), _cid(call), split)
        return Response(text, media_type="application/x-ndjson")

    @api.route("PUT", f"{path}/{{sample_id:int}}", summary=f"Change a {what} sample",
               tag="nlu", body=SampleIn, response=SampleOut, errors=(404, 422))
    async def put(call: Call) -> SampleOut:
        return SampleOut(**await call.services.classifiers.update_sample(
            _tenant(call), _cid(call), split, int(call.params["sample_id"]), call.body))

    @api.route("DELETE", f"{path}/{{sample_id:int}}", summary=f"Delete a {what} sample",
               tag="nlu", status=204, errors=(404,))
    async def delete(call: Call) -> None:
        await call.services.classifiers.delete_sample(
            _tenant(call), _cid(call), split, int(call.params["sample_id"]))


for _kind, _split in SPLITS.items():
    _sample_routes(_kind, _split)


async def _jsonl_body(call: Call) -> list[SampleIn]:
    limit = call.services.settings.max_import_bytes
    ctype = call.request.headers.get("content-type", "").split(";")[0].strip()
    if ctype not in ("application/x-ndjson", "application/jsonl", "application/json-lines",
                     "text/plain", ""):
        raise ApiError("send JSON lines (application/x-ndjson)", status=415,
                       code="unsupported_media_type")
    raw = bytearray()
    async for chunk in call.request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(f"import over {limit} bytes", status=413, code="payload_too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(f"the body is not UTF-8 (byte {exc.start})", code="bad_encoding") from None
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            samples.append(SampleIn.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ApiError(f"line {number}: malformed JSON: {exc.msg}",
                           code="malformed_json") from None
        except ValidationError as exc:
            raise ApiError(f"line {number}: {pydantic_message(exc)}", status=422,
                           code="invalid_sample") from None
    if not samples:
        raise ApiError("no samples in the body", status=422, code="invalid_sample")
    return samples


# -- training and versions -------------------------------------------------------------

@api.route("POST", f"{ONE}/train", summary="Start training a new version (an asynchronous job)",
           tag="nlu", body=TrainIn, response=JobOut, status=202, errors=(404, 409, 422))
async def train(call: Call) -> JobOut:
    body: TrainIn = call.body
    return JobOut(**await call.services.training.submit(
        _tenant(call), _cid(call), body.algorithm, body.params, body.activate))


@api.route("GET", f"{ONE}/jobs", summary="The classifier's latest training jobs", tag="nlu",
           response=list[JobOut], errors=(404,))
async def jobs(call: Call) -> list[JobOut]:
    return [JobOut(**j) for j in await call.services.training.jobs(_tenant(call), _cid(call))]


@api.route("GET", "/v1/nlu/jobs/{job_id}", summary="A training job's status and progress",
           tag="nlu", response=JobOut, errors=(404,))
async def job(call: Call) -> JobOut:
    return JobOut(**await call.services.training.job(_tenant(call), call.params["job_id"]))


@api.route("GET", f"{ONE}/versions", summary="Every trained version", tag="nlu",
           response=list[VersionOut], errors=(404,))
async def versions(call: Call) -> list[VersionOut]:
    return [VersionOut(**v) for v in
            await call.services.classifiers.versions(_tenant(call), _cid(call))]


@api.route("GET", f"{ONE}/versions/{{version:int}}", summary="One version: hyper-parameters, "
           "data hash, metrics", tag="nlu", response=VersionOut, errors=(404,))
async def version(call: Call) -> VersionOut:
    return VersionOut(**await call.services.classifiers.version(
        _tenant(call), _cid(call), int(call.params["version"])))


@api.route("DELETE", f"{ONE}/versions/{{version:int}}", summary="Delete a version (not the "
           "active one); retrieving from it is then 410", tag="nlu", status=204,
           errors=(404, 409))
async def delete_version(call: Call) -> None:
    await call.services.classifiers.delete_version(_tenant(call), _cid(call),
                                                   int(call.params["version"]))


@api.route("POST", f"{ONE}/versions/{{version:int}}/activate", summary="Make a version the "
           "one that answers", tag="nlu", response=ClassifierOut, errors=(404, 410))
async def activate(call: Call) -> ClassifierOut:
    return await call.services.classifiers.activate(_tenant(call), _cid(call),
                                                    int(call.params["version"]))


@api.route("POST", f"{ONE}/rollback", summary="Roll back to an earlier version in one call",
           tag="nlu", body=RollbackIn, response=ClassifierOut, errors=(404, 409, 410))
async def rollback(call: Call) -> ClassifierOut:
    return await call.services.classifiers.activate(_tenant(call), _cid(call),
                                                    call.body.version)


# -- retrieval and testing -------------------------------------------------------------

@api.route("POST", f"{ONE}/retrieve", summary="Top-k labels with calibrated scores, an "
           "out-of-scope answer, and entities, for one text or a batch", tag="nlu",
           body=RetrieveIn, response=RetrieveOut, errors=(404, 409, 410, 422))
async def retrieve(call: Call) -> RetrieveOut:
    body: RetrieveIn = call.body
    if (body.text is None) == (body.texts is None):
        raise ApiError("give either text or texts", status=422, code="invalid_request")
    texts = [body.text] if body.text is not None else list(body.texts or [])
    return await call.services.understanding.retrieve(
        _tenant(call), _cid(call), texts, body.top_k, body.version, body.threshold,
        body.entities)


@api.route("POST", f"{ONE}/test", summary="Accuracy, macro F1, per-label precision/recall, "
           "out-of-scope rates and the confusion matrix on the test set (or posted samples)",
           tag="nlu", body=TestIn, response=TestOut, errors=(404, 409, 410, 422))
async def test(call: Call) -> TestOut:
    body: TestIn = call.body
    samples = None if body.samples is None else [(x.text, x.label) for x in body.samples]
    return await call.services.understanding.test(_tenant(call), _cid(call), body.version,
                                                  samples)

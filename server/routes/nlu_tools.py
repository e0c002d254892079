"""Entities, emotion and FAQs: the text-understanding tools beside the classifiers."""

from __future__ import annotations

from server.api import Call
from server.errors import ApiError
from server.nlu_schemas import (
    EmotionIn,
    EmotionOut,
    EntitiesIn,
    EntitiesOut,
    FaqCreate,
    FaqOut,
    FaqPairIn,
    FaqPairOut,
    FaqPairsIn,
    FaqQueryIn,
    FaqQueryOut,
)
from server.routes._api import api

FAQS = "/v1/nlu/faqs"
FAQ = FAQS + "/{faq_id}"


def _tenant(call: Call) -> str:
    assert call.principal.tenant_id is not None
    return call.principal.tenant_id


@api.route("POST", "/v1/nlu/entities", summary="Numbers, durations, dates, times, money, "
           "countries and nationalities (plus a classifier's gazetteers and patterns), with "
           "character offsets", tag="nlu", body=EntitiesIn, response=EntitiesOut,
           errors=(404, 422))
async def entities(call: Call) -> EntitiesOut:
    body: EntitiesIn = call.body
    understanding = call.services.understanding
    resolved = None
    if body.classifier_id is not None:
        resolved = await call.services.classifiers.custom(_tenant(call), body.classifier_id)
    return EntitiesOut(entities=understanding.entities(body.text, resolved))


@api.route("POST", "/v1/nlu/emotion", summary="Positive, neutral, negative or frustrated, "
           "for one text or a batch", tag="nlu", body=EmotionIn, response=EmotionOut,
           errors=(422,))
async def emotion(call: Call) -> EmotionOut:
    body: EmotionIn = call.body
    if (body.text is None) == (body.texts is None):
        raise ApiError("give either text or texts", status=422, code="invalid_request")
    texts = [body.text] if body.text is not None else list(body.texts or [])
    return EmotionOut(results=await call.services.understanding.emotion(texts))


@api.route("POST", FAQS, summary="Create an FAQ", tag="faq", body=FaqCreate, response=FaqOut,
           status=201, errors=(409, 422))
async def create_faq(call: Call) -> FaqOut:
    return FaqOut(**await call.services.faqs.create(_tenant(call), call.body.name,
                                                    call.body.threshold))


@api.route("GET", FAQS, summary="The tenant's FAQs", tag="faq", response=list[FaqOut])
async def list_faqs(call: Call) -> list[FaqOut]:
    return [FaqOut(**f) for f in await call.services.faqs.list(_tenant(call))]


@api.route("GET", FAQ, summary="An FAQ with its pairs", tag="faq", response=FaqOut,
           errors=(404,))
async def read_faq(call: Call) -> FaqOut:
    return FaqOut(**await call.services.faqs.read(_tenant(call), call.params["faq_id"]))


@api.route("DELETE", FAQ, summary="Delete an FAQ", tag="faq", status=204, errors=(404,))
async def delete_faq(call: Call) -> None:
    await call.services.faqs.delete(_tenant(call), call.params["faq_id"])


@api.route("POST", f"{FAQ}/pairs", summary="Add question/answer pairs (up to 1,000 a call)",
           tag="faq", body=FaqPairsIn, response=list[FaqPairOut], status=201,
           errors=(404, 422))
async def add_pairs(call: Call) -> list[FaqPairOut]:
    pairs = [(p.questions, p.answer) for p in call.body.pairs]
    return [FaqPairOut(**p) for p in await call.services.faqs.add_pairs(
        _tenant(call), call.params["faq_id"], pairs)]


@api.route("PUT", f"{FAQ}/pairs/{{pair_id}}", summary="Change a pair", tag="faq",
           body=FaqPairIn, response=FaqPairOut, errors=(404, 422))
async def put_pair(call: Call) -> FaqPairOut:
    body: FaqPairIn = call.body
    return FaqPairOut(**await call.services.faqs.update_pair(
        _tenant(call), call.params["faq_id"], call.params["pair_id"], body.questions,
        body.answer))


@api.route("DELETE", f"{FAQ}/pairs/{{pair_id}}", summary="Delete a pair", tag="faq",
           status=204, errors=(404,))
async def delete_pair(call: Call) -> None:
    await call.services.faqs.delete_pair(_tenant(call), call.params["faq_id"],
                                         call.params["pair_id"])


@api.route("POST", f"{FAQ}/query", summary="The best answer with its score, or none under "
           "the threshold", tag="faq", body=FaqQueryIn, response=FaqQueryOut,
           errors=(404, 422))
async def query(call: Call) -> FaqQueryOut:
    body: FaqQueryIn = call.body
    return FaqQueryOut(**await call.services.faqs.query(
        _tenant(call), call.params["faq_id"], body.text, body.top_k, body.threshold))

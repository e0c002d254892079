"""Spoken turns: audio in, endpointing, recognition steered by the state, then the turn.

Both transports end in :meth:`SpeechService.spoken_turn`: the recogniser (a model
family, so it runs in Ray Serve or the local thread pool) hears the utterance
with the language model of the session's current dialog state, and the text it
heard takes the same path as a typed turn. The pronunciation family scores the
same audio against the expected answer it matched (or, when the learner said
something else, against what was heard) while the dialog moves on, so the
reply never waits for it (they only share the CPU). A WebSocket connection owns a
:class:`Listener`: the real-time guard and the endpointer (VAD) that cut its
frame stream into utterances. The VAD runs in one shared worker thread, never on
the event loop (0.3 ms of CPU per 32 ms chunk would add up across sockets).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from dialog.engine import ACTIVE
from dialog.errors import SessionFinished
from server.errors import ApiError
from server.schemas import AssessmentOut, RecognitionOut, SpokenTurnOut
from serving.base import ServingError
from speech.asr.match import match
from speech.audio import RealTimeGuard, check_frame
from speech.endpoint import EndpointConfig, Endpointer, SpeechEnded, SpeechStarted

log = logging.getLogger("parley.speech")

__all__ = ["Listener", "LiveUtterance", "SpeechService"]

FEED_SAMPLES = 3200  # send the recogniser 200 ms of new speech at a time


@dataclass(eq=False)
class LiveUtterance:
    """An utterance decoded while it is spoken (``models.recognize_stream``).

    ``after`` is the previous spoken turn: the state's expected answers are read
    once it is done, so an utterance is heard with the state it answers.
    """

    stream_id: str
    after: asyncio.Task | None = None
    sentences: list[str] | None = None
    sent: int = 0  # samples the recogniser has
    task: asyncio.Task | None = None  # the feed in flight
    failed: bool = False
    restarts: int = 0
    partial: str = ""
    partial_at: int = 0


class SpeechService:
    """What every spoken turn shares: the VAD model, its thread, state LMs to prepare."""

    def __init__(self, settings: Any, models: Any, play: Any, lessons: Any,
                 progress: Any = None) -> None:
        self.settings, self.models, self.play, self.lessons = settings, models, play, lessons
        self.progress = progress
        self._vad: Any = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vad")
        self._prepared: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task] = set()

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- endpointing -------------------------------------------------------------------

    def _vad_engine(self) -> Any:
        if self._vad is None:
            if self.settings.vad == "webrtc":
                from speech.vad.webrtc import WebRtcVad

                self._vad = WebRtcVad()
            else:
                from speech.vad.silero import SileroVad

                self._vad = SileroVad()
        return self._vad

    async def listener(self) -> Listener:
        loop = asyncio.get_running_loop()
        vad = await loop.run_in_executor(self._pool, self._vad_engine)  # loads once
        config = EndpointConfig(trailing_silence_ms=self.settings.trailing_silence_ms,
                                max_utterance_s=self.settings.max_utterance_s)
        return Listener(Endpointer(vad, config), self._pool,
                        RealTimeGuard(burst_seconds=self.settings.audio_burst_s))

    # -- recognition and the turn ------------------------------------------------------

    async def expected(self, row: Any) -> list[str]:
        """The current state's expected answers: what its language model is built from.

        A finished session refuses the utterance here, before anything is recognised
        (its turn would be refused anyway, after a decode with the slow general model).
        """
        state = await self.play.live(row.id)
        if state.status != ACTIVE:
            raise SessionFinished(row.id)
        compiled = await self.lessons.compiled(state.lesson_id, state.version)
        self.prepare_lesson(compiled)
        return compiled.expected_sentences(state.state)

    async def recognize(self, pcm: np.ndarray, sentences: list[str]) -> dict[str, Any]:
        """The whole utterance in one call, with the state's expected answers as its model."""
        return await self.models.recognize(pcm.astype("<i2").tobytes(), sentences or None)

    async def assess(self, pcm: np.ndarray, reference: str,
                     recognized: str | None) -> AssessmentOut:
        out = await self.models.assess_pronunciation(pcm.astype("<i2").tobytes(), reference,
                                                     recognized)
        return AssessmentOut.model_validate(out)

    async def _assess_turn(self, row: Any, pcm: np.ndarray, heard: RecognitionOut,
                           sentences: list[str]) -> AssessmentOut | None:
        """The turn's assessment (kept for the learner's progress when the session names
        one), or None: a turn never fails for its pronunciation score."""
        if heard.expected:
            reference = heard.text
        else:
            found = match(heard.text, sentences) if sentences else None
            reference = found.candidate if found is not None and found.accepted else heard.text
        try:
            assessed = await self.assess(pcm, reference, heard.text)
            if self.progress is not None and row.learner_id:
                await self.progress.record(row.tenant_id, row.learner_id, row.id, "turn",
                                           assessed)
            return assessed
        except Exception as exc:  # noqa: BLE001 - logged; the learner still gets the reply
            log.info("pronunciation not assessed: %s", exc)
            return None

    async def check_speech(self, pcm: np.ndarray) -> None:
        """Refuse an upload in which the VAD hears no speech (recognisers hallucinate on it)."""
        voiced = await asyncio.get_running_loop().run_in_executor(
            self._pool, _voiced_seconds, self._vad_engine(), pcm)
        if voiced < 0.2:
            raise ApiError("no speech was heard in the audio", status=422, code="no_speech")

    async def feed(self, row: Any, live: LiveUtterance, chunk: np.ndarray) -> str:
        """Send the next chunk of a live utterance; returns the transcript so far."""
        if live.failed:
            return live.partial
        try:
            if live.sentences is None:
                if live.after is not None:
                    await asyncio.gather(live.after, return_exceptions=True)
                live.sentences = await self.expected(row)
            out = await self.models.recognize_stream(
                live.stream_id, chunk.astype("<i2").tobytes(), live.sentences or None,
                live.sent, False)
        except ServingError as exc:
            if exc.code == "stream_lost" and live.restarts < 2:
                # the chunk reached another replica before Serve knew where the stream
                # lives (its routing table is updated asynchronously): start again under a
                # new id with the whole utterance on the next feed
                live.stream_id, live.sent = uuid.uuid4().hex, 0
                live.restarts += 1
                return live.partial
            log.info("live recognition stopped: %s", exc)  # the final hears it all instead
            live.failed = True
            return live.partial
        live.sent += chunk.size
        return out.get("text") or ""

    async def _final(self, pcm: np.ndarray, sentences: list[str],
                     live: LiveUtterance | None) -> dict:
        if live is not None:
            if live.task is not None:
                await asyncio.gather(live.task, return_exceptions=True)
            if not live.failed and live.sent:
                rest = pcm[live.sent:] if pcm.size > live.sent else pcm[:0]
                try:
                    return await self.models.recognize_stream(
                        live.stream_id, rest.astype("<i2").tobytes(), live.sentences or None,
                        live.sent, True)
                except ServingError as exc:
                    log.info("live recognition lost, recognising the whole utterance: %s", exc)
        return await self.recognize(pcm, sentences)

    async def spoken_turn(self, row: Any, pcm: np.ndarray, transport: str,
                          live: LiveUtterance | None = None
                          ) -> tuple[SpokenTurnOut, asyncio.Task | None]:
        """Recognise an utterance and play it as the learner's turn.

        Returns the turn and the task of its pronunciation assessment (None when
        assessment is off), started before the dialog moves so both run at once.
        """
        if live is not None and live.sentences is not None:
            sentences = live.sentences
        else:
            sentences = await self.expected(row)
        heard = RecognitionOut.model_validate(await self._final(pcm, sentences, live))
        if not heard.text.strip():
            raise ApiError("no words were recognised in the audio; speak a little louder "
                           "or closer to the microphone", status=422, code="no_speech")
        assessing = None
        if self.settings.pronunciation:
            assessing = asyncio.get_running_loop().create_task(
                self._assess_turn(row, pcm, heard, sentences))
        try:
            turn = await self.play.turn(row, heard.text, transport, assessing)
        except BaseException:
            if assessing is not None:
                assessing.cancel()
            raise
        return SpokenTurnOut(recognition=heard, turn=turn), assessing

    def prepare_lesson(self, compiled: Any) -> None:
        """Build every state's recognition model in the background, once per version."""
        key = (compiled.lesson_id, compiled.version)
        if key in self._prepared:
            return
        self._prepared.add(key)
        states = [compiled.expected_sentences(s) for s in compiled.states]
        task = asyncio.get_running_loop().create_task(self._prepare(key, states))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare(self, key: tuple[str, int], states: list[list[str]]) -> None:
        for sentences in states:
            if not sentences:
                continue
            try:
                await self.models.prepare_speech(sentences)
            except Exception as exc:  # the first turn in that state builds it instead
                log.warning("could not prepare the speech models of %s: %s", key, exc)
                self._prepared.discard(key)
                return


def _voiced_seconds(vad: Any, pcm: np.ndarray) -> float:
    stream = vad.stream()
    n = stream.chunk_samples
    voiced = sum(stream.probability(pcm[i:i + n]) >= 0.5 for i in range(0, pcm.size - n + 1, n))
    return voiced * n / 16_000


class Listener:
    """One connection's audio stream: guard → endpointer → utterances (not shared)."""

    def __init__(self, endpointer: Endpointer, pool: ThreadPoolExecutor,
                 guard: RealTimeGuard) -> None:
        self.endpointer, self.guard, self._pool = endpointer, guard, pool
        self.utterance = 0  # number of the utterance in progress or last ended
        self._open = False  # a SpeechStarted was counted for the utterance in progress
        self.live: LiveUtterance | None = None  # the utterance in progress, decoded live

    async def push(self, data: bytes) -> list[SpeechStarted | SpeechEnded]:
        """Check a binary frame, account it against real time, run the VAD over it."""
        samples = check_frame(data)
        self.guard.feed(samples.size)
        events = await asyncio.get_running_loop().run_in_executor(
            self._pool, self.endpointer.push, samples)
        for event in events:
            self._count(event)
        return events

    def end(self) -> SpeechEnded | None:
        """Push-to-talk release: the utterance ends now (None when nothing was heard)."""
        event = self.endpointer.force_end()
        if event is not None:
            self._count(event)
        return event

    def _count(self, event: SpeechStarted | SpeechEnded) -> None:
        if isinstance(event, SpeechStarted) or not self._open:
            self.utterance += 1  # a forced end may come without a start (a quick "no")
        self._open = isinstance(event, SpeechStarted)

    def start_live(self, after: asyncio.Task | None) -> LiveUtterance:
        self.live = LiveUtterance(f"{uuid.uuid4().hex}", after)
        return self.live

    def end_live(self) -> LiveUtterance | None:
        live, self.live = self.live, None
        return live

    def next_chunk(self) -> np.ndarray | None:
        """New speech of the live utterance once there is enough to send."""
        live = self.live
        if live is None or live.failed or not self.endpointer.in_speech:
            return None
        if live.task is not None and not live.task.done():
            return None
        audio = self.endpointer.audio()
        if audio.size - live.sent < FEED_SAMPLES:
            return None
        return audio[live.sent:]  # everything after a restart (sent back to 0)

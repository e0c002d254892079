"""Spoken turns: audio in, endpointing, recognition steered by the state, then the turn.

Both transports end in :meth:`SpeechService.spoken_turn`: the recogniser (a model
family, so it runs in Ray Serve or the local thread pool) hears the utterance
with the language model of the session's current dialog state, and the text it
heard takes the same path as a typed turn. A WebSocket connection owns a
:class:`Listener`: the real-time guard and the endpointer (VAD) that cut its
frame stream into utterances. The VAD runs in one shared worker thread, never on
the event loop (0.3 ms of CPU per 32 ms chunk would add up across sockets).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from server.errors import ApiError
from server.schemas import RecognitionOut, SpokenTurnOut
from speech.audio import RealTimeGuard, check_frame
from speech.endpoint import EndpointConfig, Endpointer, SpeechEnded, SpeechStarted

log = logging.getLogger("parley.speech")

__all__ = ["Listener", "SpeechService"]


class SpeechService:
    """What every spoken turn shares: the VAD model, its thread, state LMs to prepare."""

    def __init__(self, settings: Any, models: Any, play: Any, lessons: Any) -> None:
        self.settings, self.models, self.play, self.lessons = settings, models, play, lessons
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
        """The current state's expected answers: what its language model is built from."""
        state = await self.play.live(row.id)
        compiled = await self.lessons.compiled(state.lesson_id, state.version)
        self.prepare_lesson(compiled)
        return compiled.expected_sentences(state.state)

    async def recognize(self, row: Any, pcm: np.ndarray, partial: bool = False) -> dict[str, Any]:
        sentences = await self.expected(row)
        return await self.models.recognize(pcm.astype("<i2").tobytes(), sentences or None,
                                           partial)

    async def check_speech(self, pcm: np.ndarray) -> None:
        """Refuse an upload in which the VAD hears no speech (recognisers hallucinate on it)."""
        voiced = await asyncio.get_running_loop().run_in_executor(
            self._pool, _voiced_seconds, self._vad_engine(), pcm)
        if voiced < 0.2:
            raise ApiError("no speech was heard in the audio", status=422, code="no_speech")

    async def spoken_turn(self, row: Any, pcm: np.ndarray, transport: str) -> SpokenTurnOut:
        """Recognise an utterance and play it as the learner's turn."""
        heard = RecognitionOut.model_validate(await self.recognize(row, pcm))
        if not heard.text.strip():
            raise ApiError("no words were recognised in the audio; speak a little louder "
                           "or closer to the microphone", status=422, code="no_speech")
        turn = await self.play.turn(row, heard.text, transport)
        return SpokenTurnOut(recognition=heard, turn=turn)

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
        self._partial_at = 0  # samples of the utterance at the last partial

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
            self._partial_at = 0
        self._open = isinstance(event, SpeechStarted)

    def partial_due(self, interval_samples: int) -> np.ndarray | None:
        """The utterance so far when enough new speech came since the last partial."""
        if not self.endpointer.in_speech:
            return None
        audio = self.endpointer.audio()
        if audio.size - self._partial_at < interval_samples:
            return None
        self._partial_at = audio.size
        return audio

"""The per-call runtime: joins the media bridge, the Listener, the Conversation, speech output and the store.

Three sides, three threads:

- media side (pjmedia's clock thread, shared by every call): ``push_inbound`` / ``pull_outbound`` only move
  20 ms frames in and out of deques; O(1), no waiting, no decoding;
- signalling side (pjsua2's callbacks): ``on_dtmf`` / ``on_hangup`` / ``shutdown`` post a signal and return;
- the worker thread (one per call) feeds the Listener, runs the Conversation, executes its decisions, records
  both directions to a stereo WAV and stores every turn; a speech producer thread (one per call) synthesizes
  prompts into the outbound deque, so the worker keeps listening while the bot talks (barge-in).

No pjsua2 here: the SIP core hands each call a ``CallControl`` and drives the media side; tests drive it by
pushing frames directly.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from callbot.asr import Recognizer, VoskModels, VoskRecognizer
from callbot.audio import FRAME_MS, Frame, samples_per_frame, write_wav
from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.listener import BargeIn, Final, Listener, NoInputTimeout, SpeechStarted
from callbot.model_manager import ModelManager, ModelNotFound
from callbot.private_files import private_dir, private_opener
from callbot.recording import StereoRecorder, clips_dir_of, recording_path_of, safe_file_stem
from callbot.store import Store, open_store
from callbot.tts import SpeechOutput
from callbot.types import (
    Ask,
    CallerEvent,
    Decision,
    DtmfInput,
    EndCall,
    FileTicket,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    RecordedAnswer,
    Speak,
    TicketDraft,
    TicketFiled,
    Transcript,
    Transfer,
    TransferResult,
)

log = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_MS / 1000
INBOUND_CAPACITY_FRAMES = 500  # 10 s of caller audio may wait for a stalled worker; older frames are dropped
RECORDING_SKEW_FRAMES = 10  # one direction this far ahead of the other means the other is silent, not late
PLAYED_CAPACITY_FRAMES = 500
PUSH_TIME_RING_FRAMES = 3000  # remembers when each of the last 60 s of inbound frames arrived (turn latency)
DTMF_INTER_DIGIT_S = 3.0  # an unfinished keypad answer is sent after this pause
DRAIN_STALL_S = 3.0  # waiting for the bot's audio to play out gives up when playback stops moving this long
TICKET_HEADER = "X-Callbot-Ticket"


class CallControl(Protocol):
    """What the SIP core lets a call session do to its call (called from the session's worker thread)."""

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool: ...

    def hangup(self) -> None: ...

    def operator_uri_free(self) -> str | None: ...


@dataclass
class SharedResources:
    """Loaded once per process and shared by every call: ASR models, voices, dialogue data, the ticket store."""

    settings: Settings
    speech: SpeechOutput
    store: Store
    vosk_models: VoskModels
    asr_model_paths: dict[str, Path] = field(default_factory=dict)  # a locale missing here runs record-only
    dialogue: DialogueResources | None = None  # None: built from the settings

    def __post_init__(self) -> None:
        if self.dialogue is None:
            self.dialogue = DialogueResources(self.settings)

    @classmethod
    def load(
        cls, settings: Settings, locales: tuple[str, ...] | None = None, vosk_models: VoskModels | None = None
    ) -> SharedResources:
        """Resolve and load each locale's ASR model (or note record-only), warm the voices and the dialogue's
        data, open the store: the first caller must not wait seconds for any of it."""
        manager = ModelManager(settings)
        resources = cls(settings, SpeechOutput(settings), open_store(settings), vosk_models or VoskModels())
        for locale in locales or (settings.locale,):
            try:
                path = manager.asr_model_path(locale)
            except ModelNotFound as exc:
                log.warning("no speech recognition for locale %s, answering in record-only mode: %s", locale, exc)
            else:
                resources.vosk_models.get(path)
                resources.asr_model_paths[locale] = path
            resources.speech.warm(locale, settings.call_sample_rate)
            resources.dialogue.context(locale)  # type: ignore[union-attr]
        return resources

    def record_only(self, locale: str) -> bool:
        return locale not in self.asr_model_paths

    def recognizer(self, locale: str, rate: int) -> Recognizer | None:
        """A fresh recognizer for one call at ``rate`` (None = record-only: no model for this locale). Vosk
        runs at ``settings.asr_sample_rate``: the Listener resamples the call's audio to the recognizer's rate."""
        path = self.asr_model_paths.get(locale)
        if path is None:
            return None
        return VoskRecognizer(self.vosk_models.get(path), self.settings.asr_sample_rate)


# --- signals from the other threads to the worker ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Dtmf:
    digit: str
    at: float  # monotonic


@dataclass(frozen=True, slots=True)
class _CallerHungUp:
    at: float


@dataclass(frozen=True, slots=True)
class _Shutdown:
    reason: str


@dataclass(eq=False)
class _SpeechJob:
    """One Speak or Ask on its way to the caller's ear."""

    decision: Speak | Ask
    cancel: threading.Event = field(default_factory=threading.Event)
    first_frame_queued_at: float | None = None  # monotonic
    playing_since: float | None = None  # stream seconds when its first frame went out
    answers: _TurnEnd | None = None  # the caller's turn this prompt answers (its first prompt only)

    @property
    def ask(self) -> Ask | None:
        return self.decision if isinstance(self.decision, Ask) else None


@dataclass(frozen=True, slots=True)
class _PlaybackMark:
    """Queued around a prompt's frames; the clock thread hands it to the worker when it reaches the wire."""

    job: _SpeechJob
    started: bool  # True: before the first frame; False: after the last one


@dataclass(frozen=True, slots=True)
class _TurnEnd:
    """When the caller's turn ended (monotonic) and when the worker had it in hand (transcript decoded)."""

    speech_end: float
    understood_at: float


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """From the end of the caller's speech: transcript ready, the answer's first frame queued, and played."""

    understood_s: float
    queued_s: float
    played_s: float


@dataclass(frozen=True, slots=True)
class BargeInCut:
    """A prompt cut by the caller: stream seconds of the caller's speech start and of the cut."""

    speech_at: float
    cut_at: float


@dataclass
class CallStats:
    inbound_frames: int = 0
    inbound_dropped: int = 0
    outbound_frames: int = 0
    turn_latencies: list[TurnLatency] = field(default_factory=list)
    barge_ins: list[BargeInCut] = field(default_factory=list)


class _Framer:
    """Cuts a stream of PCM chunks of any size into 20 ms frames."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._rest = b""

    def frames(self, pcm: bytes) -> list[bytes]:
        data = self._rest + pcm
        cut = len(data) - len(data) % self.frame_bytes
        self._rest = data[cut:]
        return [data[i : i + self.frame_bytes] for i in range(0, cut, self.frame_bytes)]

    def flush(self) -> list[bytes]:
        rest, self._rest = self._rest, b""
        return [rest + b"\x00" * (self.frame_bytes - len(rest))] if rest else []


class CallSession:
    """One answered call, from the greeting to the filed ticket."""

    def __init__(
        self,
        *,
        call_id: str,
        caller_id: str | None,
        locale: str,
        rate: int,
        settings: Settings,
        resources: SharedResources,
        control: CallControl,
    ) -> None:
        self.call_id = call_id
        self.caller_id = caller_id
        self.locale = locale
        self.rate = rate
        self.settings = settings
        self.resources = resources
        self.control = control
        self.frame_bytes = 2 * samples_per_frame(rate)
        self.stats = CallStats()
        self.recording_path = recording_path_of(settings.data_dir / "recordings", call_id)
        self.clips_dir = clips_dir_of(self.recording_path)
        self.clips: list[Path] = []
        self.record_only = resources.record_only(locale)
        self._ticket_number: str | None = None
        self._filed_outcome: Outcome | None = None
        self._unfiled_path: Path | None = None  # where the draft went when even the store's journal failed
        self._written_ahead: tuple[TicketDraft, int] | None = None  # the draft and clip count last stored

        # media side: touched by the clock thread with single deque operations only
        self._inbound: collections.deque[tuple[int, bytes, float]] = collections.deque(maxlen=INBOUND_CAPACITY_FRAMES)
        self._inbound_seq = 0
        self._outbound: collections.deque[bytes | _PlaybackMark] = collections.deque()
        self._played: collections.deque[bytes | None] = collections.deque(maxlen=PLAYED_CAPACITY_FRAMES)
        self._signals: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._wake = threading.Event()

        # speech producer
        self._speech_jobs: queue.SimpleQueue[_SpeechJob | None] = queue.SimpleQueue()
        self._outbound_lock = threading.Lock()  # between the producer's append and the worker's barge-in clear

        # worker state (worker thread only)
        self._worker = threading.Thread(target=self._run, name=f"call-{call_id}", daemon=True)
        self._producer = threading.Thread(target=self._produce_speech, name=f"speech-{call_id}", daemon=True)
        self._listener: Listener | None = None
        self._conversation: Conversation | None = None
        self._recorder: StereoRecorder | None = None
        self._caller_frames: collections.deque[bytes | None] = collections.deque()
        self._push_times: list[tuple[int, float]] = [(-1, 0.0)] * PUSH_TIME_RING_FRAMES  # (seq, monotonic)
        self._next_seq = 0
        self._pending: collections.deque[Decision] = collections.deque()
        self._speaking: list[_SpeechJob] = []  # queued or playing, in order
        self._current_ask: Ask | None = None
        self._turn_pending: Ask | None = None  # an Ask whose listening turn starts when its prompt has played
        self._speech_in_progress = False
        self._discard_utterance = False  # speech that began over a prompt the caller may not interrupt
        self._turn_end: _TurnEnd | None = None  # the caller's last turn, until a prompt answers it
        self._dtmf_buffer = ""
        self._last_digit_at = 0.0
        self._hung_up = False
        self._hangup_sent = False
        self._ending: str | None = None  # set once the call is being wound up (time limit, shutdown)
        self._done = False  # the worker's loop stops
        self._closed = threading.Event()  # ...and everything is stored
        self._started_monotonic = 0.0
        self._drain_progress: tuple[int, int] | None = None  # (frames played, frames queued) when last seen
        self._drain_moved_at = 0.0

    # --- public API --------------------------------------------------------------------------------------
    @property
    def ticket_number(self) -> str | None:
        return self._ticket_number

    @property
    def finished(self) -> bool:
        """The call has ended and everything is stored (ticket, turns, recording)."""
        return self._closed.is_set()

    @property
    def current_ask(self) -> Ask | None:
        """The question the bot asked last (what the caller's next answer is for)."""
        return self._current_ask

    @property
    def bot_speaking(self) -> bool:
        return bool(self._speaking)

    def start(self) -> None:
        self._started_monotonic = time.monotonic()
        self._producer.start()
        self._worker.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the call to end and its ticket to be filed; True when it has."""
        if self._worker.ident is None:  # never started
            return self.finished
        return self._closed.wait(timeout)

    # --- media side (pjmedia's clock thread) ------------------------------------------------------------
    def push_inbound(self, pcm: bytes) -> None:
        """One 20 ms frame from the caller. Never blocks: a stalled worker loses the oldest frames."""
        if len(self._inbound) == INBOUND_CAPACITY_FRAMES:
            self.stats.inbound_dropped += 1
        self._inbound.append((self._inbound_seq, pcm, time.monotonic()))
        self._inbound_seq += 1
        self._wake.set()

    def pull_outbound(self) -> bytes | None:
        """The next 20 ms frame of the bot's voice, or None for silence."""
        while True:
            try:
                item = self._outbound.popleft()
            except IndexError:
                self._played.append(None)
                return None
            if isinstance(item, bytes):
                self._played.append(item)
                self.stats.outbound_frames += 1
                return item
            self._signals.put((item, time.monotonic()))  # a playback mark: tell the worker, send the next frame
            self._wake.set()

    # --- signalling side ----------------------------------------------------------------------------------
    def on_dtmf(self, digit: str) -> None:
        self._post(_Dtmf(digit, time.monotonic()))

    def on_hangup(self) -> None:
        self._post(_CallerHungUp(time.monotonic()))

    def shutdown(self, reason: str = "service shutting down") -> None:
        """Wind the call up now: the conversation files what it has, then the call is hung up."""
        self._post(_Shutdown(reason))

    def _post(self, signal: object) -> None:
        self._signals.put(signal)
        self._wake.set()

    # --- worker ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._open()
            assert self._conversation is not None
            decisions = self._conversation.start()
            self._write_ahead()  # the bare call (locale, caller, record-only) is recoverable from the first word
            self._execute(decisions)
            while not self._done:
                self._wake.wait(0.05)
                self._wake.clear()
                self._step()
        except Exception:
            log.exception("call %s: the call session failed; filing what was captured", self.call_id)
        finally:
            self._close()

    def _open(self) -> None:
        try:
            self.resources.store.call_log.start_call(
                call_id=self.call_id, caller_id=self.caller_id, locale=self.locale, started_at=_utcnow(),
                recording_path=self.recording_path,
            )
        except Exception:  # the caller is still answered: the ticket has its own fallbacks
            log.exception("call %s: could not record the start of the call", self.call_id)
        self._recorder = StereoRecorder(self.recording_path, self.rate)
        recognizer = self.resources.recognizer(self.locale, self.rate)
        self._listener = Listener(self.settings, recognizer, self.rate)
        self._conversation = Conversation(
            self.settings, locale=self.locale, call_id=self.call_id, caller_id=self.caller_id,
            resources=self.resources.dialogue,
        )

    def _step(self) -> None:
        self._take_signals()
        self._take_inbound()
        self._record(final=False)
        self._check_clocks()
        self._run_pending()

    def _take_signals(self) -> None:
        while True:
            try:
                signal = self._signals.get_nowait()
            except queue.Empty:
                return
            match signal:
                case (_PlaybackMark() as mark, float(at)):
                    self._on_playback_mark(mark, at)
                case _Dtmf():
                    self._on_dtmf(signal)
                case _CallerHungUp():
                    self._on_caller_hung_up()
                case _Shutdown(reason):
                    self._wind_up(reason)

    def _take_inbound(self) -> None:
        assert self._listener is not None
        while self._inbound and not self._hung_up:
            seq, pcm, pushed_at = self._inbound.popleft()
            while self._next_seq < seq:  # frames dropped while the worker stalled: silence keeps time aligned
                self._caller_frames.append(None)
                self._next_seq += 1
            if len(pcm) != self.frame_bytes:
                pcm = pcm[: self.frame_bytes].ljust(self.frame_bytes, b"\x00")
            self._push_times[seq % PUSH_TIME_RING_FRAMES] = (seq, pushed_at)
            self._next_seq = seq + 1
            self.stats.inbound_frames += 1
            self._caller_frames.append(pcm)
            for event in self._listener.feed(Frame(pcm, self.rate, seq * FRAME_SECONDS)):
                self._on_listener_event(event)

    @property
    def _stream_time(self) -> float:
        return self._next_seq * FRAME_SECONDS

    def _record(self, *, final: bool) -> None:
        """Pair caller and bot frames tick by tick; a side running far ahead means the other is silent."""
        recorder = self._recorder
        if recorder is None:
            return
        caller, played = self._caller_frames, self._played
        while caller and played:
            recorder.write_frame(caller.popleft(), played.popleft())
        slack = 0 if final else RECORDING_SKEW_FRAMES
        while len(caller) > slack:
            recorder.write_frame(caller.popleft(), None)
        while len(played) > slack:
            recorder.write_frame(None, played.popleft())

    # --- listener events -----------------------------------------------------------------------------------
    def _on_listener_event(self, event: object) -> None:
        match event:
            case SpeechStarted():
                self._speech_in_progress = True
                self._discard_utterance = bool(self._speaking) and not self._speaking[0].decision.barge_in
            case BargeIn():
                self._barge_in(event.at, kind="speech")
            case Final():
                self._speech_in_progress = False
                if self._discard_utterance:
                    self._discard_utterance = False
                    return
                self._on_final(event)
            case NoInputTimeout():
                if not self._speaking and not self._speech_in_progress and self._turn_pending is None:
                    self._add_turn(speaker="caller", text="", confidence=None, start=event.at, end=event.at,
                                   kind="no_input")
                    self._handle(NoInput(event.seconds))

    def _on_final(self, final: Final) -> None:
        transcript = final.transcript
        self._turn_end = _TurnEnd(self._push_time_at(final.speech_end), time.monotonic())
        if self.record_only:
            clip = self._save_clip(final.audio)
            self._add_turn(speaker="caller", text="", confidence=None, start=transcript.start,
                           end=final.speech_end, kind="speech")
            self._handle(RecordedAnswer(str(clip), len(final.audio) / 2 / self.rate))
            return
        self._add_turn(speaker="caller", text=transcript.text, confidence=transcript.confidence,
                       start=transcript.start, end=final.speech_end, kind="speech", transcript=transcript)
        self._handle(FinalTranscript(transcript.text, transcript.confidence, transcript))

    def _save_clip(self, pcm: bytes) -> Path:
        slot = self._current_ask.slot if self._current_ask else "answer"
        path = self.clips_dir / f"{slot}.wav"
        attempt = 1
        while path in self.clips or path.exists():
            attempt += 1
            path = self.clips_dir / f"{slot}-{attempt}.wav"
        write_wav(path, pcm, self.rate)
        self.clips.append(path)
        return path

    def _push_time_at(self, stream_seconds: float) -> float:
        """When the inbound frame at this stream time arrived (monotonic); now if it is unknown (too old, or
        dropped while the worker stalled)."""
        seq = min(round(stream_seconds / FRAME_SECONDS), self._next_seq - 1)
        recorded_seq, pushed_at = self._push_times[max(seq, 0) % PUSH_TIME_RING_FRAMES]
        return pushed_at if recorded_seq == seq else time.monotonic()

    # --- DTMF, hangup, barge-in ----------------------------------------------------------------------------
    def _on_dtmf(self, signal: _Dtmf) -> None:
        self._barge_in(self._stream_time, kind="dtmf")
        self._last_digit_at = signal.at
        wanted = self._current_ask.dtmf_digits if self._current_ask else 1
        if signal.digit == "#" and self._dtmf_buffer:
            self._send_digits(signal.at)
            return
        self._dtmf_buffer += signal.digit
        if len(self._dtmf_buffer) >= wanted or signal.digit == "#":
            self._send_digits(signal.at)

    def _send_digits(self, at: float) -> None:
        digits, self._dtmf_buffer = self._dtmf_buffer, ""
        self._turn_end = _TurnEnd(at, time.monotonic())
        self._add_turn(speaker="caller", text=digits, confidence=1.0, start=self._stream_time,
                       end=self._stream_time, kind="dtmf")
        self._handle(DtmfInput(digits))

    def _barge_in(self, speech_at: float, *, kind: str) -> None:
        """The caller spoke or pressed a key over the bot: stop talking now if this prompt allows it."""
        if not self._speaking or not self._speaking[0].decision.barge_in:
            return
        cut_at = self._stream_time
        self._stop_speaking()
        self.stats.barge_ins.append(BargeInCut(speech_at, cut_at))
        if kind == "speech":
            self._add_turn(speaker="caller", text="", confidence=None, start=speech_at, end=cut_at,
                           kind="barge_in")

    def _stop_speaking(self) -> None:
        """Cancel every queued or playing prompt and drop the audio not yet played."""
        jobs, self._speaking = self._speaking, []
        with self._outbound_lock:
            for job in jobs:
                job.cancel.set()
            self._outbound.clear()
        for job in jobs:
            self._bot_turn(job)
        self._listener_bot_speaking(False)
        if self._turn_pending is not None:
            self._begin_turn(self._turn_pending)

    def _on_caller_hung_up(self) -> None:
        if self._hung_up:
            return
        self._take_inbound()  # the caller's last words, already received, still count
        assert self._listener is not None
        for event in self._listener.finish():
            if isinstance(event, Final):
                self._on_final(event)
        self._hung_up = True
        self._stop_speaking()
        self._pending.clear()
        if self._conversation is not None and not self._conversation.ended:
            self._handle(Hangup())
        self._pending.append(EndCall("caller hung up"))

    def _wind_up(self, reason: str) -> None:
        """Time limit or shutdown: stop talking, let the conversation file its partial ticket, hang up."""
        if self._ending is not None or self._hung_up:
            return
        self._ending = reason
        log.info("call %s: %s, filing and hanging up", self.call_id, reason)
        self._stop_speaking()
        self._pending.clear()
        if self._conversation is not None and not self._conversation.ended:
            self._handle(Hangup())
        self._pending.append(EndCall(reason))

    def _check_clocks(self) -> None:
        now = time.monotonic()
        if self._dtmf_buffer and now - self._last_digit_at > DTMF_INTER_DIGIT_S:
            self._send_digits(now)
        if now - self._started_monotonic > self.settings.max_call_duration_s:
            self._wind_up(f"maximum call duration of {self.settings.max_call_duration_s} s reached")

    # --- the conversation and its decisions ---------------------------------------------------------------
    def _handle(self, event: CallerEvent) -> None:
        assert self._conversation is not None
        if self._conversation.ended and not isinstance(event, (TicketFiled, TransferResult)):
            return
        if self._ending is not None and not isinstance(event, (Hangup, TicketFiled, TransferResult)):
            return
        decisions = self._conversation.handle(event)
        self._write_ahead()
        self._pending.extendleft(reversed(decisions))  # answers to this event come before what was waiting

    def _write_ahead(self) -> None:
        """What the call has captured reaches the store as soon as it changes: a process killed at any moment
        leaves enough for recovery to file the partial ticket (one write per changed answer, not per frame)."""
        assert self._conversation is not None
        captured = (self._as_filed(self._conversation.draft), len(self.clips))
        if captured == self._written_ahead:
            return
        self._written_ahead = captured
        try:
            self.resources.store.call_log.save_draft(call_id=self.call_id, draft=captured[0],
                                                     clips=tuple(self.clips))
        except Exception:
            log.exception("call %s: could not write the captured answers ahead", self.call_id)

    def _as_filed(self, draft: TicketDraft) -> TicketDraft:
        return dataclasses.replace(draft, needs_transcription=True) if self.record_only else draft

    def _execute(self, decisions: list[Decision]) -> None:
        self._pending.extend(decisions)
        self._run_pending()

    def _run_pending(self) -> None:
        while self._pending and not self._done:
            decision = self._pending[0]
            if isinstance(decision, (Transfer, EndCall)) and not self._playback_drained():
                return  # the caller hears the end of what was said first
            self._pending.popleft()
            match decision:
                case Speak() | Ask():
                    if not self._hung_up and self._ending is None:
                        self._say(decision)
                case FileTicket(draft):
                    number = self._file_ticket(draft)
                    if number is None:
                        self._pending.clear()
                        self._pending.append(EndCall("ticket could not be filed"))
                    else:
                        self._handle(TicketFiled(number))
                case Transfer():
                    self._handle(TransferResult(self._transfer(decision)))
                case EndCall():
                    self._end_call(decision)

    def _say(self, decision: Speak | Ask) -> None:
        job = _SpeechJob(decision, answers=self._turn_end)
        self._turn_end = None  # only the first prompt of an answer measures the turn latency
        self._speaking.append(job)
        self._listener_bot_speaking(True)
        if isinstance(decision, Ask):
            self._current_ask = decision
            self._dtmf_buffer = ""
            if decision.barge_in:
                # listen during the prompt; the Listener starts the no-input timer once the bot stops speaking
                self._begin_turn(decision)
            else:
                self._turn_pending = decision
        self._speech_jobs.put(job)

    def _begin_turn(self, ask: Ask) -> None:
        assert self._listener is not None
        self._listener.begin_turn(ask)
        self._turn_pending = None

    def _listener_bot_speaking(self, speaking: bool) -> None:
        if self._listener is not None:
            self._listener.set_bot_speaking(speaking)

    def _on_playback_mark(self, mark: _PlaybackMark, at: float) -> None:
        job = mark.job
        if job not in self._speaking:
            return  # cut by barge-in after the mark was taken off the wire
        if mark.started:
            job.playing_since = self._stream_time
            turn = job.answers
            if turn is not None and job.first_frame_queued_at is not None:
                self.stats.turn_latencies.append(TurnLatency(
                    turn.understood_at - turn.speech_end, job.first_frame_queued_at - turn.speech_end,
                    at - turn.speech_end,
                ))
            return
        self._speaking.remove(job)
        self._bot_turn(job)
        if not self._speaking:
            self._listener_bot_speaking(False)
            if self._turn_pending is not None:
                self._begin_turn(self._turn_pending)

    def _bot_turn(self, job: _SpeechJob) -> None:
        start = job.playing_since if job.playing_since is not None else self._stream_time
        latency = None
        if job.answers is not None and job.first_frame_queued_at is not None:
            latency = job.first_frame_queued_at - job.answers.speech_end
        text = job.decision.text + (" [cut]" if job.cancel.is_set() else "")
        self._add_turn(speaker="bot", text=text, confidence=None, start=start, end=self._stream_time,
                       kind="bot", latency_s=latency)

    def _playback_drained(self) -> bool:
        if not self._speaking or self._hung_up:
            return True
        progress, now = (self.stats.outbound_frames, len(self._outbound)), time.monotonic()
        if progress != self._drain_progress:  # still moving: wait
            self._drain_progress, self._drain_moved_at = progress, now
            return False
        if now - self._drain_moved_at > DRAIN_STALL_S:
            log.warning("call %s: bot audio stopped playing out; going on without it", self.call_id)
            self._stop_speaking()
            return True
        return False

    # --- effects: store, transfer, hang up -----------------------------------------------------------------
    def _file_ticket(self, draft: TicketDraft) -> str | None:
        draft = self._as_filed(draft)
        if self._ending is not None:
            draft = dataclasses.replace(draft, notes=[*draft.notes, self._ending])
        try:
            number = self.resources.store.call_log.file_ticket(
                draft=draft, recording_path=self.recording_path, clips=tuple(self.clips)
            )
        except Exception:
            log.critical("call %s: the ticket store failed even to journal; keeping the draft on disk",
                         self.call_id, exc_info=True)
            self._unfiled_path = self._last_resort(draft)
            return None
        self._ticket_number = number
        self._filed_outcome = draft.outcome
        return number

    def _last_resort(self, draft: TicketDraft) -> Path | None:
        path = self.settings.data_dir / "unfiled" / f"{safe_file_stem(self.call_id)}.json"
        record = {
            "draft": _jsonable(dataclasses.asdict(draft)),
            "recording_path": str(self.recording_path),
            "clips": [str(p) for p in self.clips],
            "saved_at": _utcnow().isoformat(),
        }
        try:
            private_dir(path.parent)
            with open(path, "w", encoding="utf-8", opener=private_opener) as handle:
                handle.write(json.dumps(record, ensure_ascii=False, indent=2))
        except OSError:  # the slots' values stay out of the log (citizen data): only which were captured
            log.critical("call %s: could not even write %s; lost a draft with %s", self.call_id, path,
                         [name for name, value in record["draft"].items() if value] or "nothing")
            return None
        log.critical("call %s: unfiled ticket saved to %s", self.call_id, path)
        return path

    def _transfer(self, transfer: Transfer) -> bool:
        target = {
            "operator": lambda: self.control.operator_uri_free(),
            "emergency": lambda: self.settings.emergency_uri,
            "fallback": lambda: self.settings.fallback_uri,
        }[transfer.target]()
        if not target or self._hung_up:
            log.info("call %s: no %s to transfer to", self.call_id, transfer.target)
            return False
        headers = {TICKET_HEADER: transfer.ticket_number} if transfer.ticket_number else {}
        try:
            return bool(self.control.transfer(target, headers))
        except Exception:
            log.exception("call %s: transfer to %s failed", self.call_id, target)
            return False

    def _end_call(self, decision: EndCall) -> None:
        log.info("call %s: ending (%s)", self.call_id, decision.reason)
        self._hang_up()
        self._done = True

    def _hang_up(self) -> None:
        if self._hung_up or self._hangup_sent:
            return
        self._hangup_sent = True
        try:
            self.control.hangup()
        except Exception:
            log.exception("call %s: hanging up failed", self.call_id)

    def _add_turn(self, *, speaker: str, text: str, confidence: float | None, start: float, end: float,
                  kind: str, latency_s: float | None = None, transcript: Transcript | None = None) -> None:
        words = transcript.as_dict()["words"] if transcript is not None else None
        try:
            self.resources.store.call_log.add_turn(
                call_id=self.call_id, speaker=speaker, text=text, confidence=confidence, start=start, end=end,
                kind=kind, words=words, latency_ms=None if latency_s is None else round(latency_s * 1000, 1),
            )
        except Exception:
            log.exception("call %s: could not store a %s turn", self.call_id, kind)

    def _close(self) -> None:
        """Whatever happened: stop speech, file a ticket if none was, finish the recording and the call."""
        self._done = True
        try:
            for job in self._speaking:
                job.cancel.set()
            self._speech_jobs.put(None)
            if self._ticket_number is None and self._unfiled_path is None:
                self._file_ticket(self._partial_draft())
            self._hang_up()
            recording = self._finish_recording()
            try:
                self.resources.store.call_log.finish_call(
                    call_id=self.call_id, outcome=(self._filed_outcome or Outcome.partial).value,
                    ended_at=_utcnow(), recording_path=recording,
                )
            except Exception:
                log.exception("call %s: could not record the end of the call", self.call_id)
            self._producer.join(timeout=5)
        finally:
            self._closed.set()

    def _finish_recording(self) -> Path | None:
        if self._recorder is None:
            return None
        while self._inbound:  # what arrived after the worker stopped listening still belongs in the recording
            self._caller_frames.append(self._inbound.popleft()[1])
        try:
            self._record(final=True)
            return self._recorder.close()
        except Exception:
            log.exception("call %s: could not finish the recording", self.call_id)
            return None

    def _partial_draft(self) -> TicketDraft:
        try:
            draft = dataclasses.replace(self._conversation.draft, outcome=Outcome.partial)  # type: ignore[union-attr]
        except Exception:  # no conversation (it failed to start) or a broken one: file the bare call
            log.exception("call %s: no draft from the conversation; filing the bare call", self.call_id)
            draft = TicketDraft(call_id=self.call_id, locale=self.locale, outcome=Outcome.partial,
                                caller_id=self.caller_id)
        return dataclasses.replace(draft, notes=[*draft.notes, "the call session ended unexpectedly"])

    # --- speech producer thread ----------------------------------------------------------------------------
    def _produce_speech(self) -> None:
        while True:
            job = self._speech_jobs.get()
            if job is None:
                return
            if job.cancel.is_set():
                continue
            try:
                self._synthesize(job)
            except Exception:
                log.exception("call %s: speech output failed for prompt %s", self.call_id,
                              job.decision.key or "(dynamic)")  # the text may read back a name or address
            finally:
                with self._outbound_lock:
                    if not job.cancel.is_set():
                        self._outbound.append(_PlaybackMark(job, started=False))
                        self._wake.set()

    def _synthesize(self, job: _SpeechJob) -> None:
        framer = _Framer(self.frame_bytes)
        decision = job.decision
        chunks = self.resources.speech.stream(
            decision.text, locale=self.locale, rate=self.rate, key=decision.key, cancel=job.cancel
        )
        for chunk in chunks:
            if not self._queue_frames(job, framer.frames(chunk)):
                return
        self._queue_frames(job, framer.flush())

    def _queue_frames(self, job: _SpeechJob, frames: list[bytes]) -> bool:
        """Append a prompt's frames unless it was cancelled meanwhile; False once it has been."""
        with self._outbound_lock:
            if job.cancel.is_set():
                return False
            if frames and job.first_frame_queued_at is None:
                job.first_frame_queued_at = time.monotonic()
                self._outbound.append(_PlaybackMark(job, started=True))
            self._outbound.extend(frames)
        return True


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value"):  # enums
        return value.value
    return value

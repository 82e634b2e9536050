"""One answered call: the threads, the queues and the loop that join its parts.

- media side (pjmedia's clock thread, shared by every call): ``push_inbound`` / ``pull_outbound`` only move
  20 ms frames in and out of deques; O(1), no waiting, no decoding;
- signalling side (pjsua2's callbacks): ``on_dtmf`` / ``on_hangup`` / ``shutdown`` post a signal and return;
- the worker thread (one per call) runs the loop: signals, then the caller's frames through the turn-taker
  (``callbot.call.turns``), whose caller turns go to the conversation; the decision interpreter
  (``callbot.call.effects``) carries the decisions out through this call's effects: the bot's voice
  (``callbot.call.playback``, synthesized on the call's speech thread, so the worker keeps listening while the
  bot talks), the store (``callbot.call.storage``), the transfer and the hang-up (a ``CallControl``). Both
  directions are recorded to a stereo WAV.

No pjsua2 here: tests drive a session by pushing frames, and may pass the ``clock``; without ``start`` (no
threads), a test steps it itself: ``open``, then ``step`` (with ``playback.produce_one``), then ``close``.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from callbot.audio import FRAME_MS, Frame, samples_per_frame
from callbot.call.effects import DecisionInterpreter
from callbot.call.playback import Playback, PlaybackMark
from callbot.call.resources import SharedResources
from callbot.call.stats import BargeInCut, CallStats
from callbot.call.storage import CallStorage, WrittenAhead
from callbot.call.turns import CallerTurn, Clock, PromptCut, TurnEnd, TurnOutput, TurnTaker
from callbot.config import Settings
from callbot.dialogue import Conversation
from callbot.listener import Listener
from callbot.recording import RECORDING_FAILURES, FramePairer, StereoRecorder
from callbot.telephony.contracts import TICKET_HEADER, CallControl
from callbot.types import Ask, EndCall, LookupTicket, Speak, TicketDraft, TicketLookedUp, Transfer, TurnKind

log = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_MS / 1000
INBOUND_CAPACITY_FRAMES = 500  # 10 s of caller audio may wait for a stalled worker; older frames are dropped


# --- signals from the other threads to the worker ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Dtmf:
    digit: str
    at: float  # on the call's clock


@dataclass(frozen=True, slots=True)
class _CallerHungUp:
    pass


@dataclass(frozen=True, slots=True)
class _Shutdown:
    reason: str


@dataclass(frozen=True, slots=True)
class _MarkReached:
    mark: PlaybackMark
    at: float


class CallSession:
    """One answered call, from the greeting to the filed ticket."""

    def __init__(self, *, call_id: str, caller_id: str | None, locale: str, rate: int, settings: Settings,
                 resources: SharedResources, control: CallControl, clock: Clock = time.monotonic) -> None:
        self.call_id = call_id
        self.caller_id = caller_id
        self.locale = locale
        self.rate = rate
        self.settings = settings
        self.resources = resources
        self.control = control
        self.clock = clock
        self.frame_bytes = 2 * samples_per_frame(rate)
        self.stats = CallStats()
        self.record_only = resources.record_only(locale)
        self.storage = CallStorage(call_id=call_id, caller_id=caller_id, locale=locale, rate=rate,
                                   record_only=self.record_only, settings=settings,
                                   call_log=resources.store.call_log)
        self.recording_path = self.storage.recording_path

        # media side: touched by the clock thread with single deque operations only
        self._inbound: collections.deque[tuple[int, bytes, float]]  # (seq, pcm, arrival on the clock)
        self._inbound = collections.deque(maxlen=INBOUND_CAPACITY_FRAMES)
        self._inbound_seq = 0
        self._signals: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.playback = Playback(
            speech=resources.speech, call_id=call_id, locale=locale, rate=rate, clock=clock, stats=self.stats,
            notify=lambda mark, at: self._post(_MarkReached(mark, at)), wake=self._wake.set,
        )

        # worker state (worker thread only)
        self._worker = threading.Thread(target=self._run, name=f"call-{call_id}", daemon=True)
        self._producer = threading.Thread(target=self.playback.produce, name=f"speech-{call_id}", daemon=True)
        self._turns: TurnTaker | None = None
        self._conversation: Conversation | None = None
        self._decisions: DecisionInterpreter | None = None
        self._recording: FramePairer | None = None
        self._next_seq = 0
        self._turn_end: TurnEnd | None = None  # the caller's last turn, until a prompt answers it
        self._hangup_sent = False
        self._done = False  # the worker's loop stops
        self._closed = threading.Event()  # ...and everything is stored
        self._started_at = 0.0

    # --- public API --------------------------------------------------------------------------------------
    @property
    def ticket_number(self) -> str | None:
        return self.storage.ticket_number

    @property
    def finished(self) -> bool:
        """The call has ended and everything is stored (ticket, turns, recording)."""
        return self._closed.is_set()

    @property
    def current_ask(self) -> Ask | None:
        """The question the bot asked last (what the caller's next answer is for)."""
        return self._turns.current_ask if self._turns is not None else None

    @property
    def bot_speaking(self) -> bool:
        return self.playback.front is not None

    def start(self) -> None:
        """Run the call on its own threads (the worker and the speech thread)."""
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
        self._inbound.append((self._inbound_seq, pcm, self.clock()))
        self._inbound_seq += 1
        self._wake.set()

    def pull_outbound(self) -> bytes | None:
        """The next 20 ms frame of the bot's voice, or None for silence."""
        return self.playback.pull()

    # --- signalling side ----------------------------------------------------------------------------------
    def on_dtmf(self, digit: str) -> None:
        self._post(_Dtmf(digit, self.clock()))

    def on_hangup(self) -> None:
        self._post(_CallerHungUp())

    def shutdown(self, reason: str = "service shutting down") -> None:
        """Wind the call up now: the conversation files what it has, then the call is hung up."""
        self._post(_Shutdown(reason))

    def _post(self, signal: object) -> None:
        self._signals.put(signal)
        self._wake.set()

    # --- worker ---------------------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        """The worker's loop is over (the call ended, or it failed): ``close`` is next."""
        return self._done

    def _run(self) -> None:
        try:
            self.open()
            while not self._done:
                self._wake.wait(0.05)
                self._wake.clear()
                self.step()
        except Exception:  # broad on purpose: whatever failed, close() still files what was captured
            log.exception("call %s: the call session failed; filing what was captured", self.call_id)
        finally:
            self.close()

    def open(self) -> None:
        """Record the call's start, make its recording, Listener, turn-taker and conversation; greet."""
        self._started_at = self.clock()
        self.storage.start()
        self._recording = FramePairer(StereoRecorder(self.recording_path, self.rate), self.playback.played)
        listener = Listener(self.settings, self.resources.recognizer(self.locale, self.rate), self.rate)
        self._turns = TurnTaker(listener, self.clock, self.storage.keep_clip if self.record_only else None)
        self._conversation = Conversation(
            self.settings, locale=self.locale, call_id=self.call_id, caller_id=self.caller_id,
            resources=self.resources.dialogue,
        )
        dialogue = WrittenAhead(self._conversation, self.storage)
        self._decisions = DecisionInterpreter(dialogue, _CallEffects(self))
        self._decisions.start()

    def step(self) -> None:
        """One turn of the loop: signals, the caller's frames, the recording, the clocks, the decisions."""
        assert self._recording is not None and self._turns is not None and self._decisions is not None
        self._take_signals()
        self._take_inbound()
        self._recording.write()
        self._take(self._turns.tick())  # the keypad's inter-digit pause
        if self.clock() - self._started_at > self.settings.max_call_duration_s:
            self._wind_up(f"maximum call duration of {self.settings.max_call_duration_s} s reached")
        self._decisions.run()

    def _take_signals(self) -> None:
        assert self._turns is not None
        while True:
            try:
                signal = self._signals.get_nowait()
            except queue.Empty:
                return
            match signal:
                case _MarkReached(mark, at):
                    self._on_mark(mark, at)
                case _Dtmf(digit, at):
                    self._take(self._turns.digit(digit, at))
                case _CallerHungUp():
                    self._on_caller_hung_up()
                case _Shutdown(reason):
                    self._wind_up(reason)

    def _take_inbound(self) -> None:
        assert self._turns is not None and self._recording is not None and self._decisions is not None
        while self._inbound and not self._decisions.hung_up:
            seq, pcm, pushed_at = self._inbound.popleft()
            while self._next_seq < seq:  # frames dropped while the worker stalled: silence keeps time aligned
                self._recording.caller.append(None)
                self._next_seq += 1
            if len(pcm) != self.frame_bytes:
                pcm = pcm[: self.frame_bytes].ljust(self.frame_bytes, b"\x00")
            self._next_seq = seq + 1
            self.stats.inbound_frames += 1
            self._recording.caller.append(pcm)
            self._take(self._turns.feed(Frame(pcm, self.rate, seq * FRAME_SECONDS), pushed_at))

    @property
    def _stream_time(self) -> float:
        return self._next_seq * FRAME_SECONDS

    # --- what the turn-taker says ---------------------------------------------------------------------------
    def _take(self, outputs: list[TurnOutput]) -> None:
        for output in outputs:
            if isinstance(output, PromptCut):
                self._on_cut(output)
            else:
                self._on_caller_turn(output)

    def _on_caller_turn(self, turn: CallerTurn) -> None:
        assert self._decisions is not None
        if turn.kind != TurnKind.no_input:
            self._turn_end = turn.ended
        self.storage.caller_turn(turn)
        self._decisions.handle(turn.event)

    def _on_cut(self, cut: PromptCut) -> None:
        self._stop_speaking()
        self.stats.barge_ins.append(BargeInCut(cut.speech_at, cut.cut_at))
        if cut.by == "speech":
            self.storage.barge_in(cut)

    def _on_mark(self, mark: PlaybackMark, at: float) -> None:
        job = self.playback.mark_reached(mark, at, self._stream_time)
        if job is not None:  # a prompt played to its end
            assert self._turns is not None
            self.storage.bot_turn(job, self._stream_time)
            self._turns.speaking(self.playback.front)

    def _stop_speaking(self) -> None:
        for job in self.playback.stop():
            self.storage.bot_turn(job, self._stream_time)
        if self._turns is not None:
            self._turns.speaking(None)

    # --- hang-up and wind-up ------------------------------------------------------------------------------
    def _on_caller_hung_up(self) -> None:
        assert self._turns is not None and self._decisions is not None
        if self._decisions.hung_up:
            return
        self._take_inbound()  # the caller's last words, already received, still count
        self._take(self._turns.finish())
        self._decisions.caller_hung_up()
        self._stop_speaking()

    def _wind_up(self, reason: str) -> None:
        """Time limit or shutdown: stop talking, let the conversation file its partial ticket, hang up."""
        assert self._decisions is not None
        if self._decisions.wind_up(reason):
            log.info("call %s: %s, filing and hanging up", self.call_id, reason)
            self._stop_speaking()

    # --- effects (the interpreter calls them through _CallEffects) ------------------------------------------
    def _say(self, decision: Speak | Ask) -> None:
        assert self._turns is not None
        self.playback.say(decision, answers=self._turn_end)
        self._turn_end = None  # only the first prompt of an answer measures the turn latency
        self._turns.prompt(decision)

    def _file_ticket(self, draft: TicketDraft) -> str | None:
        return self.storage.file_ticket(draft, ending=self._decisions.ending if self._decisions else None)

    def _lookup_ticket(self, decision: LookupTicket) -> TicketLookedUp:
        """Status by phone: the store's answer (rate limit and audit there); a store error is ``failed``."""
        from callbot.api.security import load_secret_key
        from callbot.store.lookups import caller_key, phone_lookup

        settings = self.settings
        try:
            with self.resources.store.session() as session:
                found = phone_lookup(session, number=decision.number,
                                     caller=caller_key(self.caller_id, load_secret_key(settings)),
                                     limit=settings.lookup_limit, window_s=settings.lookup_window_s,
                                     zone=settings.campaign_timezone, actor=f"phone:{self.call_id}")
        except Exception:  # broad on purpose: the caller hears "not available" and the call goes on
            log.exception("call %s: the ticket status lookup failed", self.call_id)
            return TicketLookedUp("failed", decision.number)
        return TicketLookedUp(found.result, found.number, found.status, found.unit, found.updated)

    def _transfer(self, transfer: Transfer) -> bool:
        target = {
            "operator": lambda: self.control.operator_uri_free(),
            "emergency": lambda: self.settings.emergency_uri,
            "fallback": lambda: self.settings.fallback_uri,
        }[transfer.target]()
        if not target or (self._decisions is not None and self._decisions.hung_up):
            log.info("call %s: no %s to transfer to", self.call_id, transfer.target)
            return False
        headers = {TICKET_HEADER: transfer.ticket_number} if transfer.ticket_number else {}
        return bool(self.control.transfer(target, headers))

    def _end_call(self, decision: EndCall) -> None:
        log.info("call %s: ending (%s)", self.call_id, decision.reason)
        self._hang_up()
        self._done = True

    def _played_out(self) -> bool:
        """Whether what was said has reached the caller (a transfer or hang-up waits for it)."""
        if self._decisions is not None and self._decisions.hung_up:
            return True
        state = self.playback.drain()
        if state == "stalled":
            log.warning("call %s: bot audio stopped playing out; going on without it", self.call_id)
            self._stop_speaking()
        return state != "playing"

    def _hang_up(self) -> None:
        if self._hangup_sent or (self._decisions is not None and self._decisions.hung_up):
            return
        self._hangup_sent = True
        self.control.hangup()

    # --- the end --------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Whatever happened: stop speech, file a ticket if none was, finish the recording and the call."""
        self._done = True
        try:
            self.playback.close()
            if not self.storage.settled:
                self._file_ticket(self.storage.partial_draft(self._captured_draft()))
            self._hang_up()
            self.storage.finish(self._finish_recording())
            if self._producer.ident is not None:
                self._producer.join(timeout=5)
        finally:
            self._closed.set()

    def _captured_draft(self) -> TicketDraft | None:
        try:
            return self._conversation.draft if self._conversation is not None else None
        except Exception:  # broad on purpose: a broken conversation still leaves a ticket, of the bare call
            log.exception("call %s: no draft from the conversation; filing the bare call", self.call_id)
            return None

    def _finish_recording(self) -> Path | None:
        if self._recording is None:
            return None
        while self._inbound:  # what arrived after the worker stopped listening still belongs in the recording
            self._recording.caller.append(self._inbound.popleft()[1])
        try:
            return self._recording.close()
        except RECORDING_FAILURES:
            log.exception("call %s: could not finish the recording", self.call_id)
            return None


class _CallEffects:
    """The live call's side of the decisions (``callbot.call.effects.Effects``)."""

    def __init__(self, session: CallSession) -> None:
        self.session = session

    def say(self, decision: Speak | Ask) -> None:
        self.session._say(decision)

    def file_ticket(self, draft: TicketDraft) -> str | None:
        return self.session._file_ticket(draft)

    def transfer(self, decision: Transfer) -> bool:
        return self.session._transfer(decision)

    def lookup_ticket(self, decision: LookupTicket) -> TicketLookedUp:
        return self.session._lookup_ticket(decision)

    def end_call(self, decision: EndCall) -> None:
        self.session._end_call(decision)

    def ready(self, decision: Transfer | EndCall) -> bool:
        return self.session._played_out()

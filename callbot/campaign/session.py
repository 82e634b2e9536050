"""One answered campaign call: answering-machine detection first, then the notification dialogue.

Threads as in the hotline's ``CallSession``: the media side (pjmedia's clock thread) only moves 20 ms frames
through deques, signalling posts DTMF and the hang-up, and one worker thread per call runs the loop; a second
thread synthesizes speech (``Playback``). The worker feeds the callee's frames to the ``AnsweringMachineDetector``
until it has a verdict: a machine is hung up on at once (``machine``); a person hears the message and the menu,
through the same ``TurnTaker`` (keys, voice replies, silence) and ``DecisionInterpreter`` as the hotline. A callee
who sends no RTP at all (silence suppression) still hears everything: missing frames are counted as silence so
the detector and the no-input timer keep time. No pjsua2 here, and nothing is stored: the dialer writes the
attempt's progress (``on_reply``) and its result.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from callbot.audio import FRAME_MS, Frame, samples_per_frame
from callbot.call.effects import DecisionInterpreter
from callbot.call.playback import Playback, PlaybackMark
from callbot.call.resources import SharedResources
from callbot.call.stats import CallStats
from callbot.call.turns import Clock, PromptCut, TurnOutput, TurnTaker
from callbot.campaign.amd import AmdConfig, AmdVerdict, Answerer, AnsweringMachineDetector
from callbot.campaign.dialogue import Message, NotificationDialogue, NotifyContext
from callbot.config import Settings
from callbot.listener import Listener
from callbot.telephony.contracts import CallControl
from callbot.types import Ask, ContactStatus, EndCall, LookupTicket, Speak, TicketDraft, TicketLookedUp, Transfer

log = logging.getLogger(__name__)

FRAME_S = FRAME_MS / 1000
INBOUND_CAPACITY_FRAMES = 500
NO_RTP_GAP_S = 0.5  # no frame for this long: the callee sends nothing (silent), count the time as silence


@dataclass(frozen=True, slots=True)
class OutboundResult:
    outcome: ContactStatus  # confirmed | answered_no_confirm | machine
    dtmf: str
    amd: AmdVerdict | None


@dataclass(frozen=True, slots=True)
class _Key:
    digit: str


@dataclass(frozen=True, slots=True)
class _HungUp:
    pass


@dataclass(frozen=True, slots=True)
class _Mark:
    mark: PlaybackMark
    at: float


class OutboundSession:
    """Implements the endpoint's ``MediaSession`` for a call the bot placed."""

    def __init__(self, *, call_id: str, locale: str, name: str | None, message: Message, settings: Settings,
                 resources: SharedResources, control: CallControl,
                 on_reply: Callable[[str, bool], None] = lambda digits, confirmed: None,
                 clock: Clock = time.monotonic) -> None:
        self.call_id = call_id
        self.locale = locale
        self.settings = settings
        self.resources = resources
        self.control = control
        self.on_reply = on_reply  # (every key so far, confirmed): written ahead by the dialer
        self.clock = clock
        self.rate = settings.call_sample_rate
        self.frame_bytes = 2 * samples_per_frame(self.rate)
        self.stats = CallStats()
        loaded = resources.dialogue_data.locale(locale)
        self.dialogue = NotificationDialogue(NotifyContext(loaded.prompts, loaded.lexicon, message, name))
        self.amd = AnsweringMachineDetector(AmdConfig.from_settings(settings), settings, self.rate)
        self.verdict: AmdVerdict | None = None
        self._inbound: collections.deque[bytes] = collections.deque(maxlen=INBOUND_CAPACITY_FRAMES)
        self._signals: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.playback = Playback(speech=resources.speech, call_id=call_id, locale=locale, rate=self.rate, clock=clock,
                                 stats=self.stats, notify=lambda mark, at: self._post(_Mark(mark, at)),
                                 wake=self._wake.set)
        self._turns: TurnTaker | None = None
        self._decisions: DecisionInterpreter | None = None
        self._worker = threading.Thread(target=self._run, name=f"out-{call_id}", daemon=True)
        self._producer = threading.Thread(target=self.playback.produce, name=f"speech-{call_id}", daemon=True)
        self._answered_at = 0.0
        self._last_frame_at = 0.0
        self._frames = 0  # stream time = frames * 20 ms
        self._hung_up = False  # the callee is gone
        self._hangup_sent = False
        self._done = False
        self._reported = ("", False)
        self._closed = threading.Event()

    # --- media and signalling sides -------------------------------------------------------------------------
    def push_inbound(self, pcm: bytes) -> None:
        self._inbound.append(pcm)
        self._wake.set()

    def pull_outbound(self) -> bytes | None:
        return self.playback.pull()

    def on_dtmf(self, digit: str) -> None:
        self._post(_Key(digit))

    def on_hangup(self) -> None:
        self._post(_HungUp())

    def _post(self, signal: object) -> None:
        self._signals.put(signal)
        self._wake.set()

    # --- life cycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._producer.start()
        self._worker.start()

    @property
    def finished(self) -> bool:
        return self._closed.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._closed.wait(timeout) if self._worker.ident is not None else self.finished

    @property
    def result(self) -> OutboundResult:
        state = self.dialogue.state
        if self.verdict is not None and self.verdict.answerer is Answerer.machine:
            return OutboundResult(ContactStatus.machine, state.digits, self.verdict)
        return OutboundResult(state.outcome, state.digits, self.verdict)

    def _run(self) -> None:
        try:
            self._answered_at = self._last_frame_at = self.clock()
            while not self._done:
                self._wake.wait(0.05)
                self._wake.clear()
                self.step()
        except Exception:  # broad on purpose: the dialer still gets a result, the line is still hung up
            log.exception("campaign call %s failed", self.call_id)
        finally:
            self.playback.close()
            self._hang_up()
            self._producer.join(timeout=5)
            self._closed.set()

    def step(self) -> None:
        self._take_signals()
        self._take_frames()
        if self._turns is None and not self._done:
            verdict = self.amd.elapsed(self.clock() - self._answered_at)
            if verdict is not None:
                self._decide(verdict)
        if self._turns is not None and self._decisions is not None:
            self._take(self._turns.tick())
            self._decisions.run()
            self._report()

    # --- the callee -----------------------------------------------------------------------------------------
    def _take_signals(self) -> None:
        while True:
            try:
                signal = self._signals.get_nowait()
            except queue.Empty:
                return
            match signal:
                case _Mark(mark, at):
                    job = self.playback.mark_reached(mark, at, self._frames * FRAME_S)
                    if job is not None and self._turns is not None:
                        self._turns.speaking(self.playback.front)
                case _Key(digit):
                    self._on_key(digit)
                case _HungUp():
                    self._on_hung_up()

    def _take_frames(self) -> None:
        now = self.clock()
        if not self._inbound and now - self._last_frame_at >= NO_RTP_GAP_S:  # no RTP: silence keeps time
            behind = int((now - self._answered_at) / FRAME_S) - self._frames
            for _ in range(max(0, behind)):
                self._inbound.append(bytes(self.frame_bytes))
        while self._inbound and not self._hung_up:
            pcm = self._inbound.popleft()
            self._last_frame_at = now
            frame = Frame(pcm[: self.frame_bytes].ljust(self.frame_bytes, b"\x00"), self.rate, self._frames * FRAME_S)
            self._frames += 1
            if self._turns is not None:
                self._take(self._turns.feed(frame, now))
            elif not self._done:
                verdict = self.amd.feed(frame)
                if verdict is not None:
                    self._decide(verdict)

    def _decide(self, verdict: AmdVerdict) -> None:
        self.verdict = verdict
        log.info("campaign call %s: %s (%s)", self.call_id, verdict.answerer.value, verdict.reason)
        if verdict.answerer is Answerer.machine:
            self._done = True
            return
        listener = Listener(self.settings, self.resources.recognizer(self.locale, self.rate), self.rate)
        self._turns = TurnTaker(listener, self.clock)
        self._decisions = DecisionInterpreter(self.dialogue, _OutboundEffects(self))
        self._decisions.start()

    def _on_key(self, digit: str) -> None:
        if self._turns is None:  # a key before the message: a person, but the key answers nothing yet
            self._decide(AmdVerdict(Answerer.person, self._frames * FRAME_S, 0.0, "pressed a key"))
            return
        self._stop_speaking()  # a key cuts the message or the menu (speech does not: "alô?" must not)
        self._take(self._turns.digit(digit, self.clock()))

    def _on_hung_up(self) -> None:
        self._hung_up = True
        if self._decisions is not None:
            self._decisions.caller_hung_up()
            self._decisions.run()
            self._report()
        self._stop_speaking()
        self._done = True

    def _take(self, outputs: list[TurnOutput]) -> None:
        assert self._decisions is not None
        for output in outputs:
            if isinstance(output, PromptCut):
                self._stop_speaking()
            else:
                self._decisions.handle(output.event)

    def _report(self) -> None:
        state = self.dialogue.state
        if (state.digits, state.confirmed) != self._reported:
            self._reported = (state.digits, state.confirmed)
            try:
                self.on_reply(state.digits, state.confirmed)
            except Exception:  # the call goes on; the result is written at its end anyway
                log.exception("campaign call %s: could not write its progress", self.call_id)

    # --- the bot's side --------------------------------------------------------------------------------------
    def _stop_speaking(self) -> None:
        self.playback.stop()
        if self._turns is not None:
            self._turns.speaking(None)

    def _say(self, decision: Speak | Ask) -> None:
        assert self._turns is not None
        self.playback.say(decision, answers=None)
        self._turns.prompt(decision)

    def _transfer(self, decision: Transfer) -> bool:
        target = self.control.operator_uri_free()
        return bool(target) and not self._hung_up and self.control.transfer(target, {})

    def _played_out(self) -> bool:
        if self._hung_up:
            return True
        state = self.playback.drain()
        if state == "stalled":
            self._stop_speaking()
        return state != "playing"

    def _end(self, decision: EndCall) -> None:
        log.info("campaign call %s: ending (%s)", self.call_id, decision.reason)
        self._done = True

    def _hang_up(self) -> None:
        if not self._hangup_sent and not self._hung_up:
            self._hangup_sent = True
            self.control.hangup()


class _OutboundEffects:
    """The campaign call's side of the decisions (``callbot.call.effects.Effects``); no ticket is ever filed."""

    def __init__(self, session: OutboundSession) -> None:
        self.session = session

    def say(self, decision: Speak | Ask) -> None:
        self.session._say(decision)

    def file_ticket(self, draft: TicketDraft) -> str | None:
        raise AssertionError("a campaign call files no ticket")

    def transfer(self, decision: Transfer) -> bool:
        return self.session._transfer(decision)

    def lookup_ticket(self, decision: LookupTicket) -> TicketLookedUp:
        return TicketLookedUp("failed", decision.number)  # the notification dialogue never looks tickets up

    def end_call(self, decision: EndCall) -> None:
        self.session._end(decision)

    def ready(self, decision: Transfer | EndCall) -> bool:
        return self.session._played_out()

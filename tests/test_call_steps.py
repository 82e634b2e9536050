"""A CallSession stepped by the test, frames in and effects out: no worker thread, no speech thread, a fake
clock that moves 20 ms per tick of the media clock. The session's effects (speech, the ticket, the transfer
with its ticket header, the hang-up) are carried out by the real decision interpreter on the real dialogue,
real espeak-ng prompts and a real SQLite store; the Listener runs record-only (no model); the SIP side is a
unit-level fake that notes what it was asked and when."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from conftest import FakeClock
from store_fixtures import read_ticket

from callbot.asr import VoskModels
from callbot.audio import samples_per_frame
from callbot.call.playback import DRAIN_STALL_S
from callbot.call.resources import SharedResources
from callbot.call.session import CallSession
from callbot.config import Settings
from callbot.store import Store, open_store
from callbot.telephony.contracts import TICKET_HEADER
from callbot.tts import SpeechOutput

RATE = 8000
SILENCE = b"\x00" * 2 * samples_per_frame(RATE)
OPERATOR = "sip:op1@127.0.0.1"


@dataclass
class NotingControl:
    """The SIP side: notes each request, and whether the bot was still talking when it came."""

    session: CallSession | None = None
    transfers: list[tuple[str, dict[str, str], bool]] = field(default_factory=list)
    hangups: int = 0
    free_operator: str | None = OPERATOR

    def transfer(self, target_uri: str, headers: dict[str, str]) -> bool:
        assert self.session is not None
        self.transfers.append((target_uri, dict(headers), self.session.bot_speaking))
        return True

    def hangup(self) -> None:
        self.hangups += 1

    def operator_uri_free(self) -> str | None:
        return self.free_operator


class SteppedCall:
    """Plays the media clock and the worker in turn: each tick pulls the bot's frame, pushes the caller's,
    steps the session and synthesizes whatever it queued."""

    def __init__(self, session: CallSession, clock: FakeClock) -> None:
        self.session = session
        self.clock = clock
        self.heard: list[bytes | None] = []
        session.open()
        self._produce()

    def _produce(self) -> None:
        while self.session.playback.produce_one(block=False):
            pass

    def tick(self, *, pull: bool = True) -> None:
        self.clock.now += 0.02
        if pull:
            self.heard.append(self.session.pull_outbound())
        self.session.push_inbound(SILENCE)
        self.session.step()
        self._produce()

    def until(self, condition: Callable[[], bool], *, max_ticks: int = 3000, pull: bool = True) -> int:
        """Tick until ``condition`` holds; returns how many ticks it took."""
        for ticks in range(max_ticks):
            if condition():
                return ticks
            self.tick(pull=pull)
        raise AssertionError(f"not reached in {max_ticks} ticks")

    def close(self) -> None:
        assert self.session.ended
        self.session.close()


@pytest.fixture
def store() -> Iterator[Store]:
    opened = open_store(Settings(call_sample_rate=RATE))
    yield opened
    opened.close()


@pytest.fixture
def start(store: Store) -> Callable[..., tuple[SteppedCall, NotingControl]]:
    settings = store.settings
    resources = SharedResources(settings, SpeechOutput(settings), store, VoskModels())  # record-only: no model

    def started(**changes: object) -> tuple[SteppedCall, NotingControl]:
        control, clock = NotingControl(), FakeClock(1000.0)
        session = CallSession(call_id="stepped-1", caller_id="0912345678", locale="vi", rate=RATE,
                              settings=settings.model_copy(update=changes), resources=resources,
                              control=control, clock=clock)
        control.session = session
        return SteppedCall(session, clock), control

    return started


def test_key_0_cuts_the_greeting_files_and_transfers_once_the_announcement_has_played(start, store) -> None:
    call, control = start()
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)  # the greeting is playing
    call.session.on_dtmf("0")
    call.tick()
    number = call.session.ticket_number
    assert number is not None and call.session.bot_speaking and control.transfers == []  # the announcement first
    call.until(lambda: bool(control.transfers))
    assert control.transfers == [(OPERATOR, {TICKET_HEADER: number}, False)]
    call.until(lambda: call.session.ended)
    call.close()
    assert control.hangups == 1
    detail = read_ticket(store, number)
    assert detail.ticket.outcome == "escalated"
    bot = [t.text for t in detail.turns if t.speaker == "bot"]
    assert bot[0].endswith("[cut]") and not bot[-1].endswith("[cut]")  # the greeting cut, the announcement not
    assert [t.text for t in detail.turns if t.kind.value == "dtmf"] == ["0"]


def test_key_0_with_no_operator_free_promises_a_callback_and_the_ticket_owes_one(start, store) -> None:
    call, control = start()
    control.free_operator = None  # every operator busy (the PBX pushed their status)
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)
    call.session.on_dtmf("0")
    call.until(lambda: call.session.ended)
    call.close()
    assert control.transfers == [] and control.hangups == 1
    detail = read_ticket(store, call.session.ticket_number)
    assert (detail.ticket.outcome, detail.ticket.escalation) == ("escalated", "callback")
    bot = [t.text for t in detail.turns if t.speaker == "bot"]
    assert bot[-2].startswith("Hiện chưa có tổng đài viên nào rảnh")  # the call-back promised, then goodbye
    assert not any("giữ máy" in text for text in bot)  # never "please hold the line"


def test_a_transfer_waits_for_playback_only_until_it_stalls(start, caplog) -> None:
    call, control = start()
    call.until(lambda: bool(call.heard) and call.heard[-1] is not None)
    call.session.on_dtmf("0")
    call.tick()
    stalled = call.until(lambda: bool(control.transfers), pull=False)  # the media clock stopped pulling
    assert DRAIN_STALL_S <= stalled * 0.02 <= DRAIN_STALL_S + 0.1
    assert "bot audio stopped playing out" in caplog.text


def test_the_maximum_call_duration_is_kept_on_the_call_s_clock(start, store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="callbot.call.session")
    call, control = start(max_call_duration_s=10)
    call.clock.now += 9.95
    call.tick()  # 9.97 s on the call's clock
    assert not call.session.ended and control.hangups == 0
    call.tick()
    call.tick()  # 10.01 s
    assert call.session.ended and control.hangups == 1
    call.close()
    assert read_ticket(store, call.session.ticket_number or "").ticket.outcome == "partial"
    assert "maximum call duration of 10 s reached" in caplog.text


def test_a_hang_up_mid_prompt_cuts_it_and_files_a_partial_ticket(start, store) -> None:
    call, control = start()
    call.until(lambda: sum(frame is not None for frame in call.heard) >= 10)
    call.session.on_hangup()
    call.tick()
    assert call.session.ended
    call.close()
    assert control.hangups == 0 and control.transfers == []  # the caller is gone: nothing to hang up
    detail = read_ticket(store, call.session.ticket_number or "")
    assert detail.ticket.outcome == "partial" and detail.turns[0].text.endswith("[cut]")
    assert detail.call is not None and detail.call.ended_at is not None and detail.call.recording_path

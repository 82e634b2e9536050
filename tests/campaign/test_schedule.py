"""The scheduler on an injected clock: calling windows and days in local time, retries per outcome, the pace
(concurrency cap node-wide, calls per second, this process's free slots), and who is due when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callbot.campaign.schedule import (
    CallingWindow,
    DueCandidate,
    Pace,
    RetryPolicy,
    RetryRule,
    ScheduleError,
    after_attempt,
    format_days,
    parse_days,
    plan_claims,
    sip_outcome,
)
from callbot.types import ContactStatus

HCM = "Asia/Ho_Chi_Minh"  # UTC+7, no daylight saving


def local(text: str) -> datetime:
    """A local Hồ Chí Minh time as an aware UTC datetime ("2026-03-02 08:00" is a Monday)."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC) - timedelta(hours=7)
    return moment


def test_days() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("mon,wed,fri") == frozenset({0, 2, 4})
    assert parse_days("sat-mon") == frozenset({5, 6, 0})
    assert format_days(parse_days("mon-fri,sun")) == "mon-fri,sun"
    for bad in ("", "monday", "mon-xyz", ","):
        with pytest.raises(ScheduleError):
            parse_days(bad)


@pytest.mark.parametrize("bad", ["8-17", "17:00-08:00", "25:00-26:00", "08:60-09:00", "08:00-08:00"])
def test_bad_windows(bad: str) -> None:
    with pytest.raises(ScheduleError):
        CallingWindow.parse(bad, "mon-fri", HCM)


def test_window_in_local_time_and_next_opening() -> None:
    window = CallingWindow.parse("08:00-17:00", "mon-fri", HCM)
    assert not window.contains(local("2026-03-02 07:59"))  # Monday
    assert window.contains(local("2026-03-02 08:00"))
    assert window.contains(local("2026-03-02 16:59"))
    assert not window.contains(local("2026-03-02 17:00"))
    assert not window.contains(local("2026-03-07 10:00"))  # Saturday
    assert window.next_open(local("2026-03-02 07:30")) == local("2026-03-02 08:00")
    assert window.next_open(local("2026-03-02 12:00")) == local("2026-03-02 12:00")
    assert window.next_open(local("2026-03-06 17:30")) == local("2026-03-09 08:00")  # Friday evening -> Monday
    assert window.describe() == "08:00-17:00 mon-fri (Asia/Ho_Chi_Minh)"


def test_sip_outcomes() -> None:
    assert sip_outcome(486, ringing=True, timed_out=False) == ContactStatus.busy
    assert sip_outcome(603, ringing=False, timed_out=False) == ContactStatus.busy
    assert sip_outcome(487, ringing=True, timed_out=True) == ContactStatus.no_answer
    assert sip_outcome(480, ringing=False, timed_out=False) == ContactStatus.no_answer
    assert sip_outcome(408, ringing=True, timed_out=False) == ContactStatus.no_answer
    assert sip_outcome(408, ringing=False, timed_out=False) == ContactStatus.failed  # nobody answered the INVITE
    assert sip_outcome(404, ringing=False, timed_out=False) == ContactStatus.failed
    assert sip_outcome(503, ringing=False, timed_out=False) == ContactStatus.failed
    assert sip_outcome(None, ringing=False, timed_out=False) == ContactStatus.failed


def test_retries_per_outcome() -> None:
    policy = RetryPolicy.uniform(2, 300).with_rule("busy", RetryRule(3, 60))
    now = local("2026-03-02 09:00")
    assert after_attempt(ContactStatus.busy, 1, policy, now) == (ContactStatus.pending, now + timedelta(seconds=60))
    assert after_attempt(ContactStatus.busy, 2, policy, now)[0] == ContactStatus.pending
    assert after_attempt(ContactStatus.busy, 3, policy, now) == (ContactStatus.busy, None)
    assert after_attempt(ContactStatus.no_answer, 1, policy, now) == (
        ContactStatus.pending, now + timedelta(seconds=300))
    assert after_attempt(ContactStatus.no_answer, 2, policy, now) == (ContactStatus.no_answer, None)
    for final in (ContactStatus.confirmed, ContactStatus.machine, ContactStatus.answered_no_confirm):
        assert after_attempt(final, 1, policy, now) == (final, None)
    assert RetryPolicy.from_dict(policy.as_dict()) == policy
    with pytest.raises(ScheduleError):
        policy.with_rule("machine", RetryRule(2, 60))
    with pytest.raises(ScheduleError):
        RetryRule(0, 60)


def candidates(*specs: tuple[int, ContactStatus, datetime | None]) -> list[DueCandidate]:
    return [DueCandidate(i, status, at) for i, status, at in specs]


def test_due_contacts_pace_and_caps() -> None:
    window = CallingWindow.parse("08:00-17:00", "mon-fri", HCM)
    now = local("2026-03-02 09:00")
    pool = candidates(
        (1, ContactStatus.pending, None), (2, ContactStatus.pending, now - timedelta(seconds=5)),
        (3, ContactStatus.pending, now + timedelta(seconds=60)),  # its retry delay has not passed
        (4, ContactStatus.pending, None),
    )
    pace = Pace(concurrency=10, cps=2.0)
    plan = plan_claims(pool, window=window, pace=pace, in_flight=0, free_slots=4, next_dial_at=None, now=now)
    assert plan.claim == (1, 4)  # never-called first; a burst of at most cps (2) starts
    assert plan.next_dial_at == now + timedelta(seconds=0.5)
    slow = plan_claims(pool, window=window, pace=Pace(10, 0.5), in_flight=0, free_slots=4, next_dial_at=None, now=now)
    assert slow.claim == (1,) and slow.next_dial_at == now + timedelta(seconds=2)
    later = plan_claims(pool, window=window, pace=pace, in_flight=2, free_slots=4, next_dial_at=plan.next_dial_at,
                        now=now + timedelta(seconds=0.4))
    assert later.claim == () and later.next_dial_at == plan.next_dial_at  # the cps limit holds the next start
    fast = Pace(concurrency=3, cps=100)
    capped = plan_claims(pool, window=window, pace=fast, in_flight=2, free_slots=4, next_dial_at=None, now=now)
    assert capped.claim == (1,)  # the campaign's concurrency, node-wide
    slots = plan_claims(pool, window=window, pace=Pace(10, 100), in_flight=0, free_slots=1, next_dial_at=None, now=now)
    assert slots.claim == (1,)  # this process's room


def test_outside_the_window_contacts_wait_and_come_back() -> None:
    window = CallingWindow.parse("08:00-17:00", "mon-fri", HCM)
    evening = local("2026-03-02 17:30")
    pool = candidates((1, ContactStatus.pending, None), (2, ContactStatus.pending, evening + timedelta(hours=1)),
                      (3, ContactStatus.outside_window, None))
    plan = plan_claims(pool, window=window, pace=Pace(5, 5), in_flight=0, free_slots=5, next_dial_at=None, now=evening)
    assert plan.claim == () and plan.waiting_for_window == (1,)  # 2 is not due yet; 3 is marked already
    morning = local("2026-03-03 08:00")
    pool = candidates((1, ContactStatus.outside_window, None), (2, ContactStatus.pending, evening + timedelta(hours=1)),
                      (3, ContactStatus.outside_window, None))
    plan = plan_claims(pool, window=window, pace=Pace(5, 5), in_flight=0, free_slots=5, next_dial_at=None, now=morning)
    assert plan.back_in_window == (1, 3) and set(plan.claim) <= {1, 2, 3} and plan.claim


def test_pace_limits() -> None:
    with pytest.raises(ScheduleError):
        Pace(0, 1)
    with pytest.raises(ScheduleError):
        Pace(1, 0)

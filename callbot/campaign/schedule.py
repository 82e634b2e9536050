"""The campaign scheduler, pure and clock-injected: calling windows, the pace (concurrency and calls per
second), retries per outcome, and which contacts are due now. Every function takes ``now``; nothing here reads
a clock or the database (``callbot.store.campaigns`` applies these decisions in one transaction)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from callbot.types import ContactStatus

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOW = "08:00-17:00"
DEFAULT_DAYS = "mon-fri"
FINAL_STATUSES = frozenset(set(ContactStatus) - {ContactStatus.pending, ContactStatus.outside_window})
RETRYABLE = (ContactStatus.busy, ContactStatus.no_answer, ContactStatus.failed)


class ScheduleError(ValueError):
    """A window, a days expression or a retry rule that cannot be used; the message says which and why."""


# --- the calling window ------------------------------------------------------------------------------------
def parse_days(text: str) -> frozenset[int]:
    """``mon-fri`` / ``mon,wed,fri`` / ``sat-sun`` / ``mon-fri,sun`` -> weekday numbers (Monday 0)."""
    days: set[int] = set()
    for part in filter(None, (p.strip().lower() for p in (text or "").split(","))):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ScheduleError(f"days: {part!r} is not a day or a range of days ({', '.join(WEEKDAYS)})")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    if not days:
        raise ScheduleError("days: no day given (e.g. mon-fri)")
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """The shortest comma list of ranges: {0..4} -> ``mon-fri``."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs)


def parse_window(text: str) -> tuple[time, time]:
    """``08:00-17:00`` -> (08:00, 17:00); the end must come after the start (no calls across midnight)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match:
        raise ScheduleError(f"window: {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ScheduleError(f"window: {text!r} is not a time of day")
    start, end = time(h1, m1), time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ScheduleError(f"window: {text!r} ends before it starts (calls across midnight are not made)")
    return start, end


@dataclass(frozen=True, slots=True)
class CallingWindow:
    start: time
    end: time
    days: frozenset[int]
    zone: ZoneInfo

    @classmethod
    def parse(cls, window: str = DEFAULT_WINDOW, days: str = DEFAULT_DAYS,
              zone: str = "Asia/Ho_Chi_Minh") -> CallingWindow:
        start, end = parse_window(window)
        return cls(start, end, parse_days(days), ZoneInfo(zone))

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, moment: datetime) -> datetime:
        """The first instant at or after ``moment`` inside the window (``moment`` itself when inside)."""
        if self.contains(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.start, tzinfo=self.zone)
            if day.weekday() in self.days and opening >= local:
                return opening.astimezone(moment.tzinfo)
        raise AssertionError("a window with at least one day opens within a week")

    @property
    def hours(self) -> str:
        """``08:00-17:00`` (an end of day given as 24:00 stays 24:00)."""
        end = "24:00" if self.end == time.max else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"

    def describe(self) -> str:
        return f"{self.hours} {format_days(self.days)} ({self.zone.key})"


# --- retries -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryRule:
    max_attempts: int  # attempts in all, the first one included
    delay_s: int  # after an attempt with this outcome, the next one waits this long

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ScheduleError(f"max attempts must be 1..20, got {self.max_attempts}")
        if not 0 <= self.delay_s <= 7 * 86400:
            raise ScheduleError(f"a retry delay must be 0..604800 seconds, got {self.delay_s}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    busy: RetryRule = field(default_factory=lambda: RetryRule(3, 600))
    no_answer: RetryRule = field(default_factory=lambda: RetryRule(3, 1800))
    failed: RetryRule = field(default_factory=lambda: RetryRule(2, 600))

    @classmethod
    def uniform(cls, max_attempts: int, delay_s: int) -> RetryPolicy:
        rule = RetryRule(max_attempts, delay_s)
        return cls(rule, rule, rule)

    def rule(self, outcome: ContactStatus) -> RetryRule:
        return {ContactStatus.busy: self.busy, ContactStatus.no_answer: self.no_answer}.get(outcome, self.failed)

    def with_rule(self, outcome: str, rule: RetryRule) -> RetryPolicy:
        if outcome not in {s.value for s in RETRYABLE}:
            raise ScheduleError(f"retries are set for busy, no_answer or failed, not {outcome!r}")
        values = {s.value: self.rule(s) for s in RETRYABLE}
        values[outcome] = rule
        return RetryPolicy(**values)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {s.value: asdict(self.rule(s)) for s in RETRYABLE}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, int]]) -> RetryPolicy:
        return cls(**{s.value: RetryRule(**data[s.value]) for s in RETRYABLE})


def sip_outcome(code: int | None, *, ringing: bool, timed_out: bool) -> ContactStatus:
    """An unanswered call's outcome from its final SIP status. Ringing that ran out (our CANCEL: 487), 480 and a
    408 after ringing are no answer; 486/600/603 busy; anything else, or no response at all, failed."""
    if timed_out or code in (480, 487) or (code == 408 and ringing):
        return ContactStatus.no_answer
    if code in (486, 600, 603):
        return ContactStatus.busy
    return ContactStatus.failed


def after_attempt(outcome: ContactStatus, attempts: int, policy: RetryPolicy,
                  now: datetime) -> tuple[ContactStatus, datetime | None]:
    """The contact's status after its ``attempts``-th attempt ended with ``outcome``, and when it is due next
    (None: final). A retryable outcome with attempts left goes back to pending after the rule's delay."""
    if outcome in RETRYABLE:
        rule = policy.rule(outcome)
        if attempts < rule.max_attempts:
            return ContactStatus.pending, now + timedelta(seconds=rule.delay_s)
    return outcome, None


# --- the pace, and who is due now ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Pace:
    concurrency: int  # calls of the campaign at once, node-wide
    cps: float  # new calls per second, node-wide

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= 1000:
            raise ScheduleError(f"concurrency must be 1..1000, got {self.concurrency}")
        if not 0.01 <= self.cps <= 100:
            raise ScheduleError(f"calls per second must be 0.01..100, got {self.cps}")

    @property
    def gap(self) -> timedelta:
        return timedelta(seconds=1 / self.cps)


@dataclass(frozen=True, slots=True)
class DueCandidate:
    """A contact that may be due: not final, not being called."""

    contact_id: int
    status: ContactStatus  # pending or outside_window
    next_attempt_at: datetime | None  # None: never called yet


@dataclass(frozen=True, slots=True)
class ClaimPlan:
    claim: tuple[int, ...]  # contact ids to dial now, in order
    waiting_for_window: tuple[int, ...]  # due but outside the window: shown as outside_window
    back_in_window: tuple[int, ...]  # were outside_window, the window is open again: pending
    next_dial_at: datetime | None  # the earliest start of the campaign's next call (the cps limit)


def plan_claims(candidates: Sequence[DueCandidate], *, window: CallingWindow, pace: Pace, in_flight: int,
                free_slots: int, next_dial_at: datetime | None, now: datetime) -> ClaimPlan:
    """Which contacts to dial now. Due: never called or its retry delay passed, and ``now`` in the window.
    At most ``pace.concurrency - in_flight`` (the campaign's cap, node-wide) and ``free_slots`` (this
    process's room), and no faster than ``pace.cps``: a token bucket refilled at ``cps`` holding at most one
    second's worth, so a burst never exceeds ``cps`` calls (one call when ``cps`` < 1)."""
    due = [c for c in candidates if c.next_attempt_at is None or c.next_attempt_at <= now]
    if not window.contains(now):
        waiting = tuple(c.contact_id for c in due if c.status != ContactStatus.outside_window)
        return ClaimPlan((), waiting, (), next_dial_at)
    reopened = tuple(c.contact_id for c in candidates if c.status == ContactStatus.outside_window)
    room = min(free_slots, pace.concurrency - in_flight, len(due))
    credit = max(timedelta(0), timedelta(seconds=1) - pace.gap)
    base = max(next_dial_at or now - credit, now - credit)
    if room <= 0 or base > now:
        return ClaimPlan((), (), reopened, next_dial_at)
    count = min(room, 1 + int((now - base) / pace.gap))
    order = sorted(due, key=lambda c: (c.next_attempt_at is not None, c.next_attempt_at or now, c.contact_id))
    return ClaimPlan(tuple(c.contact_id for c in order[:count]), (), reopened, base + count * pace.gap)

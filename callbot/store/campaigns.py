"""Campaigns in the database: created from a parsed contact list, started/paused/resumed/cancelled, their due
attempts claimed atomically (SQLite and PostgreSQL), each call's progress written ahead, attempts settled with
the retry policy, attempts of dead processes recovered, and the report. Functions take a session.

The claim is the heart of it. A claimer first bumps the campaign row (``claims = claims + 1``): PostgreSQL
row-locks it and SQLite takes its write lock, so claimers of one campaign queue up on every backend. Under
that lock it counts the campaign's calls in flight, reads the due contacts, lets the pure scheduler
(``callbot.campaign.schedule.plan_claims``) pick, and for each pick inserts the attempt row (unique per contact
and attempt number) and marks the contact as being called by it, all committed *before* anything is dialled.
A process restarted after ``kill -9`` therefore never dials the same attempt twice, and recovery settles the
attempts it left open (``settle_orphaned_attempts``), so none is lost either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from callbot.campaign.contacts import Contact, RowProblem
from callbot.campaign.schedule import (
    FINAL_STATUSES,
    CallingWindow,
    ClaimPlan,
    DueCandidate,
    Pace,
    RetryPolicy,
    after_attempt,
    format_days,
    plan_claims,
)
from callbot.store.do_not_call import listed
from callbot.store.errors import CampaignNotFound, InvalidChange
from callbot.store.models import AuditEntry, Campaign, CampaignAttempt, CampaignContact, as_utc, utcnow
from callbot.store.workers import Owner, all_workers, process_gone
from callbot.types import CampaignState, ContactStatus

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CANDIDATES_PER_CLAIM = 200  # due contacts read per claim (the scheduler picks among them)
WAITING = (ContactStatus.pending, ContactStatus.outside_window)
# What each command does to a campaign's state: from which states, to which.
TRANSITIONS: dict[str, tuple[frozenset[CampaignState], CampaignState]] = {
    "start": (frozenset({CampaignState.created}), CampaignState.running),
    "pause": (frozenset({CampaignState.running}), CampaignState.paused),
    "resume": (frozenset({CampaignState.paused}), CampaignState.running),
    "cancel": (frozenset({CampaignState.created, CampaignState.running, CampaignState.paused}),
               CampaignState.cancelled),
}


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    name: str
    locale: str
    message_text: str | None
    audio_path: str | None
    window: CallingWindow
    retry: RetryPolicy
    pace: Pace


@dataclass(frozen=True, slots=True)
class ClaimedAttempt:
    """An attempt committed to this process: dial it (once), then settle it."""

    attempt_id: int
    attempt_no: int
    campaign_id: int
    campaign_name: str
    contact_id: int
    number: str  # E.164
    name: str | None
    locale: str  # the contact's, else the campaign's
    message_text: str | None
    audio_path: str | None
    message_locale: str


@dataclass(frozen=True, slots=True)
class CampaignReport:
    campaign: Campaign
    counts: dict[str, int]  # every status, 0 included
    contacts: list[CampaignContact]  # in the CSV's order
    in_flight: int

    @property
    def total(self) -> int:
        return len(self.contacts)

    @property
    def final(self) -> int:
        return sum(n for status, n in self.counts.items() if ContactStatus(status) in FINAL_STATUSES)


def window_of(campaign: Campaign) -> CallingWindow:
    return CallingWindow.parse(f"{campaign.window_start}-{campaign.window_end}", campaign.days, campaign.timezone)


def pace_of(campaign: Campaign) -> Pace:
    return Pace(campaign.concurrency, campaign.cps)


def retry_of(campaign: Campaign) -> RetryPolicy:
    return RetryPolicy.from_dict(campaign.retry)


# --- creating, finding, changing state ------------------------------------------------------------------
def create_campaign(session: Session, *, spec: CampaignSpec, contacts: Sequence[Contact],
                    problems: Sequence[RowProblem] = (), actor: str) -> Campaign:
    """The campaign and its contacts (those on the do-not-call list marked so, never dialled); committed and
    audit-logged. Refused (InvalidChange): a bad or taken name, no contact."""
    if not NAME_PATTERN.fullmatch(spec.name):
        raise InvalidChange("a campaign name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if session.exec(select(Campaign.id).where(Campaign.name == spec.name)).first() is not None:
        raise InvalidChange(f"a campaign named {spec.name} exists already")
    if not contacts:
        raise InvalidChange("the contact list has no number to call")
    if not (spec.message_text or spec.audio_path):
        raise InvalidChange("a campaign needs a message text or a recording")
    window = spec.window
    campaign = Campaign(
        name=spec.name, locale=spec.locale, message_text=spec.message_text, audio_path=spec.audio_path,
        window_start=window.hours[:5], window_end=window.hours[6:], days=format_days(window.days),
        timezone=window.zone.key,
        retry=spec.retry.as_dict(), concurrency=spec.pace.concurrency, cps=spec.pace.cps,
        problems=[{"line": p.line, "reason": p.reason} for p in problems] or None, created_by=actor,
    )
    session.add(campaign)
    session.flush()
    assert campaign.id is not None
    blocked = listed(session, (c.number for c in contacts))
    for contact in contacts:
        status = ContactStatus.do_not_call if contact.number in blocked else ContactStatus.pending
        session.add(CampaignContact(campaign_id=campaign.id, number=contact.number, name=contact.name,
                                    locale=contact.locale, line=contact.line, status=status))
    session.add(AuditEntry(actor=actor, action="campaign.create", target_type="campaign", target_id=spec.name,
                           new_value=f"{len(contacts)} contacts, {len(blocked)} on the do-not-call list"))
    session.commit()
    session.refresh(campaign)
    return campaign


def get_campaign(session: Session, *, name: str) -> Campaign:
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise CampaignNotFound(f"no campaign {name}")
    return campaign


def list_campaigns(session: Session) -> list[tuple[Campaign, dict[str, int]]]:
    """Newest first, each with its counts by status."""
    campaigns = session.exec(select(Campaign).order_by(col(Campaign.created_at).desc(), col(Campaign.id).desc())).all()
    rows = session.exec(select(CampaignContact.campaign_id, CampaignContact.status, func.count())
                        .group_by(CampaignContact.campaign_id, CampaignContact.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, status, count in rows:
        counts.setdefault(campaign_id, {})[ContactStatus(status).value] = count
    return [(c, _all_statuses(counts.get(c.id or 0, {}))) for c in campaigns]


def change_state(session: Session, *, name: str, action: str, actor: str) -> Campaign:
    """start | pause | resume | cancel; InvalidChange names the state that forbids it. Committed and audited."""
    if action not in TRANSITIONS:
        raise InvalidChange(f"unknown campaign action {action!r}")
    campaign = get_campaign(session, name=name)
    allowed, target = TRANSITIONS[action]
    current = CampaignState(campaign.state)
    if current not in allowed:
        raise InvalidChange(f"campaign {name} is {current.value}: it cannot {action}")
    campaign.state = target
    if target == CampaignState.running and campaign.started_at is None:
        campaign.started_at = utcnow()
    if target == CampaignState.cancelled:
        campaign.finished_at = utcnow()
    session.add(campaign)
    session.add(AuditEntry(actor=actor, action=f"campaign.{action}", target_type="campaign", target_id=name,
                           old_value=current.value, new_value=target.value))
    session.commit()
    session.refresh(campaign)
    return campaign


def running_campaign_ids(session: Session, *, name: str | None = None) -> list[int]:
    query = select(Campaign.id).where(Campaign.state == CampaignState.running)
    if name is not None:
        query = query.where(Campaign.name == name)
    return [i for i in session.exec(query.order_by(col(Campaign.id))).all() if i is not None]


# --- claiming due attempts --------------------------------------------------------------------------------
def _in_flight(session: Session, campaign_id: int) -> int:
    return session.exec(select(func.count()).select_from(CampaignContact).where(
        CampaignContact.campaign_id == campaign_id, col(CampaignContact.active_attempt_id).is_not(None))).one()


def _candidates(session: Session, campaign_id: int, now: datetime) -> list[DueCandidate]:
    due = col(CampaignContact.next_attempt_at)
    rows = session.exec(
        select(CampaignContact.id, CampaignContact.status, CampaignContact.next_attempt_at).where(
            CampaignContact.campaign_id == campaign_id, col(CampaignContact.status).in_(WAITING),
            col(CampaignContact.active_attempt_id).is_(None), due.is_(None) | (due <= now))
        .order_by(due.is_not(None), due, col(CampaignContact.id)).limit(CANDIDATES_PER_CLAIM)
    ).all()
    return [DueCandidate(i, ContactStatus(s), as_utc(at) if at else None) for i, s, at in rows if i is not None]


def _plan(session: Session, campaign: Campaign, free_slots: int, now: datetime) -> ClaimPlan:
    assert campaign.id is not None
    next_dial = as_utc(campaign.next_dial_at) if campaign.next_dial_at else None
    return plan_claims(_candidates(session, campaign.id, now), window=window_of(campaign), pace=pace_of(campaign),
                       in_flight=_in_flight(session, campaign.id), free_slots=free_slots, next_dial_at=next_dial,
                       now=now)


def claim_attempts(session: Session, *, campaign_id: int, worker_id: str, incarnation: str, free_slots: int,
                   now: datetime) -> list[ClaimedAttempt]:
    """Claim the attempts due now for this process (at most ``free_slots``); committed before it returns."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.state != CampaignState.running:
        return []
    first_look = _plan(session, campaign, free_slots, now)  # read only: nothing to write, no lock taken
    if not (first_look.claim or first_look.waiting_for_window or first_look.back_in_window):
        session.rollback()
        return []
    bumped = session.exec(update(Campaign).where(col(Campaign.id) == campaign_id,
                                                 col(Campaign.state) == CampaignState.running)
                          .values(claims=col(Campaign.claims) + 1))
    if bumped.rowcount == 0:
        session.rollback()
        return []
    campaign = session.exec(select(Campaign).where(Campaign.id == campaign_id)
                            .execution_options(populate_existing=True)).one()
    plan = _plan(session, campaign, free_slots, now)  # again, under the campaign's lock
    _set_status(session, plan.waiting_for_window, ContactStatus.outside_window)
    _set_status(session, plan.back_in_window, ContactStatus.pending)
    claimed: list[ClaimedAttempt] = []
    if plan.claim:
        contacts = {c.id: c for c in session.exec(select(CampaignContact).where(
            col(CampaignContact.id).in_(plan.claim)).execution_options(populate_existing=True)).all()}
        blocked = listed(session, (c.number for c in contacts.values()))
        for contact_id in plan.claim:
            contact = contacts[contact_id]
            if contact.number in blocked:
                contact.status, contact.next_attempt_at = ContactStatus.do_not_call, None
                session.add(contact)
                continue
            attempt = CampaignAttempt(campaign_id=campaign_id, contact_id=contact_id,
                                      attempt_no=contact.attempts + 1, worker_id=worker_id, incarnation=incarnation,
                                      claimed_at=now)
            session.add(attempt)
            session.flush()
            assert attempt.id is not None
            contact.active_attempt_id = attempt.id
            contact.status = ContactStatus.pending
            session.add(contact)
            claimed.append(ClaimedAttempt(
                attempt.id, attempt.attempt_no, campaign_id, campaign.name, contact_id, contact.number,
                contact.name, contact.locale or campaign.locale, campaign.message_text, campaign.audio_path,
                campaign.locale))
        campaign.next_dial_at = plan.next_dial_at
    _finish_if_done(session, campaign, now)
    session.add(campaign)
    session.commit()
    return claimed


def _set_status(session: Session, ids: Sequence[int], status: ContactStatus) -> None:
    if ids:
        session.exec(update(CampaignContact).where(col(CampaignContact.id).in_(ids)).values(status=status))


def _finish_if_done(session: Session, campaign: Campaign, now: datetime) -> None:
    if campaign.state not in (CampaignState.running, CampaignState.paused):
        return
    open_contacts = session.exec(select(func.count()).select_from(CampaignContact).where(
        CampaignContact.campaign_id == campaign.id,
        col(CampaignContact.status).in_(WAITING) | col(CampaignContact.active_attempt_id).is_not(None))).one()
    if open_contacts == 0:
        campaign.state = CampaignState.finished
        campaign.finished_at = now


# --- during and after a call ------------------------------------------------------------------------------
def note_progress(session: Session, *, attempt_id: int, call_id: str | None = None,
                  answered_at: datetime | None = None, dtmf: str | None = None,
                  confirmed: bool | None = None) -> None:
    """Write ahead what a call has reached (its INVITE out, the answer, the keys, the confirmation): after a
    crash, recovery settles a confirmed attempt as confirmed instead of calling the person again."""
    attempt = session.get(CampaignAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return
    if call_id is not None:
        attempt.call_id = call_id
    if answered_at is not None:
        attempt.answered_at = answered_at
    if dtmf is not None:
        attempt.dtmf = dtmf[-32:]
    if confirmed is not None:
        attempt.confirmed = confirmed
    session.add(attempt)
    session.commit()


def settle_attempt(session: Session, *, attempt_id: int, outcome: ContactStatus, sip_code: int | None,
                   dtmf: str | None, duration_s: float | None, now: datetime,
                   note: str | None = None) -> ContactStatus | None:
    """An attempt ended: record it, and move its contact on by the campaign's retry policy. Idempotent (None
    when it was settled already). Committed."""
    status = _settle(session, attempt_id=attempt_id, outcome=outcome, sip_code=sip_code, dtmf=dtmf,
                     duration_s=duration_s, now=now, note=note)
    session.commit()
    return status


def _settle(session: Session, *, attempt_id: int, outcome: ContactStatus, sip_code: int | None, dtmf: str | None,
            duration_s: float | None, now: datetime, note: str | None) -> ContactStatus | None:
    attempt = session.get(CampaignAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return None
    contact = session.get(CampaignContact, attempt.contact_id)
    campaign = session.get(Campaign, attempt.campaign_id)
    assert contact is not None and campaign is not None
    attempt.ended_at, attempt.outcome, attempt.sip_code, attempt.note = now, outcome, sip_code, note
    attempt.dtmf = dtmf[-32:] if dtmf else attempt.dtmf
    attempt.duration_s = round(duration_s, 2) if duration_s is not None else None
    contact.attempts = max(contact.attempts, attempt.attempt_no)
    contact.sip_code = sip_code
    contact.dtmf = attempt.dtmf or contact.dtmf
    contact.duration_s = attempt.duration_s if attempt.duration_s is not None else contact.duration_s
    contact.first_attempt_at = contact.first_attempt_at or attempt.claimed_at
    contact.last_attempt_at = now
    if contact.active_attempt_id == attempt.id:
        contact.active_attempt_id = None
    if contact.status != ContactStatus.do_not_call:
        contact.status, contact.next_attempt_at = after_attempt(outcome, contact.attempts, retry_of(campaign), now)
    session.add_all([attempt, contact])
    _finish_if_done(session, campaign, now)
    session.add(campaign)
    return ContactStatus(contact.status)


def release_attempt(session: Session, *, attempt_id: int) -> None:
    """An attempt that was never dialled (the endpoint had no free call slot after all): gone without a trace,
    its contact due again at once. Committed."""
    attempt = session.get(CampaignAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return
    contact = session.get(CampaignContact, attempt.contact_id)
    if contact is not None and contact.active_attempt_id == attempt.id:
        contact.active_attempt_id = None
        session.add(contact)
    session.delete(attempt)
    session.commit()


def settle_orphaned_attempts(session: Session, *, owner: Owner, now: datetime) -> int:
    """Attempts left open by a process that is gone (``kill -9``, a crashed host): confirmed ones (the
    confirmation was written ahead) count as confirmed; the others as failed, retried by the policy. Committed;
    returns how many."""
    open_attempts = session.exec(select(CampaignAttempt).where(col(CampaignAttempt.ended_at).is_(None))).all()
    workers = all_workers(session)
    settled = 0
    for attempt in open_attempts:
        if not process_gone(attempt.worker_id, attempt.incarnation, attempt.claimed_at, workers, owner, now):
            continue
        outcome = ContactStatus.confirmed if attempt.confirmed else ContactStatus.failed
        assert attempt.id is not None
        _settle(session, attempt_id=attempt.id, outcome=outcome, sip_code=200 if attempt.answered_at else None,
                dtmf=attempt.dtmf, duration_s=None, now=now, note="the process dialling it stopped")
        settled += 1
    session.commit()
    return settled


# --- the report ---------------------------------------------------------------------------------------------
def _all_statuses(found: dict[str, int]) -> dict[str, int]:
    return {status.value: found.get(status.value, 0) for status in ContactStatus}


def campaign_report(session: Session, *, name: str) -> CampaignReport:
    campaign = get_campaign(session, name=name)
    contacts = list(session.exec(select(CampaignContact).where(CampaignContact.campaign_id == campaign.id)
                                 .order_by(col(CampaignContact.line), col(CampaignContact.id))).all())
    counts: dict[str, int] = {}
    for contact in contacts:
        counts[ContactStatus(contact.status).value] = counts.get(ContactStatus(contact.status).value, 0) + 1
    in_flight = sum(1 for c in contacts if c.active_attempt_id is not None)
    return CampaignReport(campaign, _all_statuses(counts), contacts, in_flight)


def attempt_log(session: Session, *, campaign_id: int) -> list[tuple[datetime, ContactStatus]]:
    """When each ended attempt ended, and how (the UI's progress chart)."""
    rows = session.exec(select(CampaignAttempt.ended_at, CampaignAttempt.outcome).where(
        CampaignAttempt.campaign_id == campaign_id, col(CampaignAttempt.ended_at).is_not(None))
        .order_by(col(CampaignAttempt.ended_at))).all()
    return [(as_utc(at), ContactStatus(outcome)) for at, outcome in rows if at is not None and outcome is not None]


def attempts_of(session: Session, *, campaign_id: int) -> list[CampaignAttempt]:
    return list(session.exec(select(CampaignAttempt).where(CampaignAttempt.campaign_id == campaign_id)
                             .order_by(col(CampaignAttempt.id))).all())

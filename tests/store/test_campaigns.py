"""Campaigns in the real store (SQLite and PostgreSQL) on an injected clock: creation with the do-not-call list,
the window, the retry delay per outcome, the pace, claims racing from several threads never exceeding the cap nor
claiming a contact twice, recovery of a dead process's attempts, and the report."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from callbot.campaign.contacts import parse_contacts
from callbot.campaign.schedule import CallingWindow, Pace, RetryPolicy, RetryRule
from callbot.store import Store
from callbot.store import campaigns as store_campaigns
from callbot.store import do_not_call
from callbot.store.campaigns import CampaignSpec
from callbot.store.errors import InvalidChange
from callbot.store.workers import Owner
from tests.support.campaigns import create, numbers
from callbot.types import CampaignState, ContactStatus

MONDAY_9 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 in Hồ Chí Minh City


def claim(store: Store, name: str = "flu", *, now: datetime = MONDAY_9, slots: int = 10, worker: str = "w1",
          incarnation: str = "i1") -> list[store_campaigns.ClaimedAttempt]:
    with store.session() as session:
        [campaign_id] = store_campaigns.running_campaign_ids(session, name=name) or [0]
        return store_campaigns.claim_attempts(session, campaign_id=campaign_id, worker_id=worker,
                                              incarnation=incarnation, free_slots=slots, now=now)


def settle(store: Store, attempt: store_campaigns.ClaimedAttempt, outcome: ContactStatus, *, code: int | None,
           now: datetime = MONDAY_9) -> ContactStatus | None:
    with store.session() as session:
        return store_campaigns.settle_attempt(session, attempt_id=attempt.attempt_id, outcome=outcome, sip_code=code,
                                              dtmf=None, duration_s=None, now=now)


def report(store: Store, name: str = "flu") -> store_campaigns.CampaignReport:
    with store.session() as session:
        return store_campaigns.campaign_report(session, name=name)


def test_create_with_problems_and_the_do_not_call_list(store: Store) -> None:
    with store.session() as session:
        do_not_call.add_numbers(session, numbers=["+84912000002"], actor="test")
    create(store, csv="0912000001\n0912000002,Chặn\nnot a number\n0912000003\n")
    result = report(store)
    assert [(c.number, c.status) for c in result.contacts] == [
        ("+84912000001", "pending"), ("+84912000002", "do_not_call"), ("+84912000003", "pending")]
    assert result.campaign.problems == [{"line": 3, "reason": "expected 0xxxxxxxxx or +84xxxxxxxxx"}]
    assert result.campaign.state == CampaignState.running and result.counts["do_not_call"] == 1
    with store.session() as session:
        for bad, message in (("flu", "exists already"), ("bad name!", "a campaign name")):
            with pytest.raises(InvalidChange, match=message):
                store_campaigns.create_campaign(
                    session, spec=CampaignSpec(bad, "vi", "x", None, CallingWindow.parse(), RetryPolicy(), Pace(1, 1)),
                    contacts=parse_contacts("0912000009").contacts, actor="test")
        with pytest.raises(InvalidChange, match="running: it cannot start"):
            store_campaigns.change_state(session, name="flu", action="start", actor="test")


def test_window_retry_delay_and_finish_on_an_injected_clock(store: Store) -> None:
    policy = RetryPolicy.uniform(2, 300).with_rule("busy", RetryRule(2, 120))
    create(store, csv="0912000001\n0912000002\n", retry=policy)
    evening = MONDAY_9 + timedelta(hours=9)  # 18:00 local
    assert claim(store, now=evening) == []
    assert report(store).counts["outside_window"] == 2  # due, waiting for the window
    saturday = MONDAY_9 + timedelta(days=5)
    assert claim(store, now=saturday) == []
    first = claim(store, now=MONDAY_9 + timedelta(days=1))  # Tuesday 09:00: the window is open again
    assert sorted(a.number for a in first) == ["+84912000001", "+84912000002"] and report(store).counts["pending"] == 2
    tuesday = MONDAY_9 + timedelta(days=1)
    busy, unanswered = sorted(first, key=lambda a: a.number)
    assert settle(store, busy, ContactStatus.busy, code=486, now=tuesday) == ContactStatus.pending
    assert settle(store, unanswered, ContactStatus.no_answer, code=487, now=tuesday) == ContactStatus.pending
    assert settle(store, busy, ContactStatus.busy, code=486) is None  # settled once
    assert claim(store, now=tuesday + timedelta(seconds=119)) == []  # the busy delay (120 s) has not passed
    [again] = claim(store, now=tuesday + timedelta(seconds=121))
    assert (again.number, again.attempt_no) == ("+84912000001", 2)
    assert claim(store, now=tuesday + timedelta(seconds=299)) == []  # no answer waits 300 s
    [third] = claim(store, now=tuesday + timedelta(seconds=301))
    assert third.number == "+84912000002"
    assert settle(store, again, ContactStatus.busy, code=486, now=tuesday) == ContactStatus.busy  # 2 of 2: final
    assert report(store).campaign.state == CampaignState.running
    assert settle(store, third, ContactStatus.confirmed, code=200, now=tuesday) == ContactStatus.confirmed
    result = report(store)
    assert result.campaign.state == CampaignState.finished
    assert [(c.status, c.attempts, c.sip_code) for c in result.contacts] == [
        ("busy", 2, 486), ("confirmed", 2, 200)]


def test_pace_concurrency_and_calls_per_second(store: Store) -> None:
    create(store, csv=numbers(8), concurrency=3, cps=2)
    first = claim(store, slots=10)
    assert len(first) == 2  # 2/s: one call now, and one missed slot's credit
    assert claim(store, slots=10, now=MONDAY_9 + timedelta(seconds=0.2)) == []  # the next start is 0.5 s later
    assert len(claim(store, slots=10, now=MONDAY_9 + timedelta(seconds=1))) == 1  # the concurrency cap: 3
    assert claim(store, slots=10, now=MONDAY_9 + timedelta(seconds=5)) == []
    settle(store, first[0], ContactStatus.confirmed, code=200)
    assert len(claim(store, slots=1, now=MONDAY_9 + timedelta(seconds=6))) == 1


def test_racing_claimers_never_exceed_the_cap_nor_share_a_contact(store: Store) -> None:
    create(store, csv=numbers(40), concurrency=12, cps=100)
    claimed: list[store_campaigns.ClaimedAttempt] = []
    lock = threading.Lock()

    def claimer(worker: str) -> None:
        for step in range(20):
            got = claim(store, slots=4, worker=worker, now=MONDAY_9 + timedelta(seconds=step * 0.05))
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 12  # the campaign's cap, across every claimer
    assert len({a.contact_id for a in claimed}) == 12 and len({a.attempt_id for a in claimed}) == 12
    assert report(store).in_flight == 12


def test_a_dead_processs_attempts_are_settled(store: Store) -> None:
    create(store, csv=numbers(3), retry=RetryPolicy.uniform(3, 60))
    dialled = claim(store, incarnation="dead")
    by_number = {a.number: a for a in dialled}
    with store.session() as session:
        store_campaigns.note_progress(session, attempt_id=by_number["+84912000001"].attempt_id,
                                      answered_at=MONDAY_9, dtmf="1", confirmed=True)
        store_campaigns.note_progress(session, attempt_id=by_number["+84912000002"].attempt_id, answered_at=MONDAY_9)
    restarted = Owner(worker_id="w1", incarnation="alive", max_call_duration_s=600)
    with store.session() as session:
        assert store_campaigns.settle_orphaned_attempts(session, owner=restarted, now=MONDAY_9) == 3
        assert store_campaigns.settle_orphaned_attempts(session, owner=restarted, now=MONDAY_9) == 0
    result = report(store)
    assert [(c.status, c.attempts, c.dtmf) for c in result.contacts] == [
        ("confirmed", 1, "1"), ("pending", 1, None), ("pending", 1, None)]  # never called twice once confirmed
    again = claim(store, now=MONDAY_9 + timedelta(seconds=61), incarnation="alive")
    assert sorted((a.number, a.attempt_no) for a in again) == [("+84912000002", 2), ("+84912000003", 2)]
    other = Owner(worker_id="w2", incarnation="x", max_call_duration_s=600)  # another live worker leaves them be
    with store.session() as session:
        assert store_campaigns.settle_orphaned_attempts(session, owner=other, now=MONDAY_9) == 0


def test_do_not_call_added_while_running_and_pause(store: Store) -> None:
    create(store, csv=numbers(2))
    with store.session() as session:
        assert do_not_call.add_numbers(session, numbers=["+84912000001", "+84912000001"], actor="t") == ["+84912000001"]
        store_campaigns.change_state(session, name="flu", action="pause", actor="test")
    assert claim(store) == []  # paused
    with store.session() as session:
        store_campaigns.change_state(session, name="flu", action="resume", actor="test")
    [only] = claim(store)
    assert only.number == "+84912000002" and report(store).counts["do_not_call"] == 1
    with store.session() as session:
        assert do_not_call.remove_number(session, number="+84912000001", actor="t")
        assert not do_not_call.remove_number(session, number="+84912000001", actor="t")
        assert do_not_call.list_numbers(session) == ([], 0)

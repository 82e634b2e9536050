"""Campaigns made directly in a store (tests of the store and of the API): five contacts, started."""

from __future__ import annotations

from callbot.campaign.contacts import parse_contacts
from callbot.campaign.schedule import CallingWindow, Pace, RetryPolicy
from callbot.store import Store
from callbot.store import campaigns as store_campaigns
from callbot.store.campaigns import CampaignSpec


def numbers(count: int, first: int = 1) -> str:
    return "".join(f"09120000{index:02d}\n" for index in range(first, first + count))


def create(store: Store, name: str = "flu", csv: str | None = None, *, concurrency: int = 10, cps: float = 100,
           retry: RetryPolicy | None = None) -> None:
    """A campaign of ``csv`` (default: five numbers), 08:00-17:00 Monday to Friday, started."""
    parsed = parse_contacts(csv if csv is not None else numbers(5))
    spec = CampaignSpec(name=name, locale="vi", message_text="Thông báo tiêm chủng.", audio_path=None,
                        window=CallingWindow.parse("08:00-17:00", "mon-fri"),
                        retry=retry or RetryPolicy.uniform(2, 300), pace=Pace(concurrency, cps))
    with store.session() as session:
        store_campaigns.create_campaign(session, spec=spec, contacts=parsed.contacts, problems=parsed.problems,
                                        actor="test")
        store_campaigns.change_state(session, name=name, action="start", actor="test")

"""What the store refuses: an unknown ticket or call, a change the life cycle or the data forbids."""

from __future__ import annotations


class StoreError(Exception):
    """A request the store refuses (unknown ticket, a status change the life cycle forbids...)."""


class TicketNotFound(StoreError):
    pass


class CallNotFound(StoreError):
    pass


class InvalidChange(StoreError):
    pass


class CampaignNotFound(StoreError):
    pass

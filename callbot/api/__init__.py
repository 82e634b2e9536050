"""HTTP API and the supervisors' UI (FastAPI); knows the ticket store, nothing of SIP or audio."""

from callbot.api.app import create_app

__all__ = ["create_app"]

"""Commands of the foundation: ``callbot models ...`` and ``callbot replay``."""

from __future__ import annotations

from callbot.cli.app import app  # noqa: F401

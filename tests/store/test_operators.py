"""Operators in the store (real SQLite and PostgreSQL): statuses pushed by the PBX, URIs seeded from the settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.store import (
    Store,
    open_store,
)
from callbot.types import OperatorStatus
from tests.support.stores import (
    set_operator,
    store_settings,
)


def test_operators(store: Store) -> None:
    assert store.call_log.free_operator() is None
    set_operator(store, uri="sip:op1@pbx", status="busy")
    set_operator(store, uri="sip:op2@pbx", status=OperatorStatus.available, name="Lan")
    free = store.call_log.free_operator()
    assert free is not None and free.uri == "sip:op2@pbx" and free.name == "Lan"
    set_operator(store, uri="sip:op2@pbx", status="offline")
    assert store.call_log.free_operator() is None
    with pytest.raises(ValueError):
        set_operator(store, uri="sip:op1@pbx", status="sleeping")


def test_operator_uris_from_settings_are_seeded(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite", operator_uris=["sip:101@pbx"])
    seeded = open_store(settings)
    free = seeded.call_log.free_operator()
    assert free is not None and free.uri == "sip:101@pbx"
    seeded.close()

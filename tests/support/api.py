"""API test fixtures: an app on a real store with a supervisor, a machine token and a recorded call."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from callbot.api import create_app
from callbot.audio import write_wav
from callbot.store import Role, Store, open_store
from tests.support.ports import free_port
from tests.support.stores import file_call, read_ticket, store_settings
from tests.support.waiting import wait_until

PASSWORD = "correct horse 1"


@dataclass
class ApiWorld:
    client: TestClient
    store: Store
    token: str
    number: str
    call_id: int
    recording: Path

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def tone_wav(path: Path, seconds: float = 6.0, rate: int = 8000) -> Path:
    """A small real WAV (a 440 Hz tone) standing in for a call recording."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    write_wav(path, pcm, rate)
    return path


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": password, "form_token": form_token,
                                           "next": "/tickets"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    tickets = client.get("/tickets")
    return re.search(r'name="csrf_token" value="([^"]+)"', tickets.text).group(1)  # type: ignore[union-attr]


def make_world(request: pytest.FixtureRequest, tmp_path: Path, backend: str,
               **overrides: object) -> Iterator[ApiWorld]:
    settings = store_settings(request, tmp_path, backend, **overrides)
    store = open_store(settings)
    store.accounts.create_user(username="lan", password=PASSWORD, role=Role.supervisor)
    store.accounts.create_user(username="kỹ sư", password=PASSWORD, role=Role.engineer)
    token = store.accounts.create_token(name="ci", role=Role.admin)
    recording = tone_wav(tmp_path / "call.wav")
    number = file_call(store, "api-call")
    call = read_ticket(store, number).call
    assert call is not None and call.id is not None
    store.call_log.finish_call(call_id="api-call", outcome="complete", ended_at=call.started_at,
                               recording_path=recording)
    call_id = call.id
    with TestClient(create_app(settings, store), base_url="http://testserver") as client:
        yield ApiWorld(client=client, store=store, token=token, number=number, call_id=call_id, recording=recording)
    store.close()


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    yield from make_world(request, tmp_path, "sqlite")


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free port (for the browser); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "uvicorn to start", interval=0.05,
               failed=lambda: None if thread.is_alive() else "uvicorn's thread ended")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)

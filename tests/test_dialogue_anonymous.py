"""An anonymous caller (issue 14): the dialogue files a complete ticket without a name, flagged ``anonymous``,
and the flag reaches the real store (SQLite and PostgreSQL), survives migration 0004, and shows read-only in
the API and on the ticket page."""

from __future__ import annotations

import pytest
from api_fixtures import ApiWorld, login
from sqlalchemy import inspect
from store_fixtures import read_ticket

from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.store import Store
from callbot.store.database import alembic_config, upgrade_schema
from callbot.types import FileTicket, FinalTranscript, Outcome, TicketDraft

HANOI = "Thành phố Hà Nội"


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings(default_province=HANOI))


def anonymous_call(
    resources: DialogueResources, locale: str, turns: list[str]
) -> tuple[TicketDraft, list[str]]:
    conv = Conversation(
        Settings(default_province=HANOI), locale=locale, call_id="anon-1", resources=resources
    )
    said = [d.key for d in conv.start() if hasattr(d, "key")]
    filed: list[TicketDraft] = []
    for text in turns:
        for decision in conv.handle(FinalTranscript(text)):
            if isinstance(decision, FileTicket):
                filed.append(decision.draft)
            elif hasattr(decision, "key"):
                said.append(decision.key)  # type: ignore[union-attr]
    assert len(filed) == 1
    return filed[0], [k for k in said if k]


def test_declining_the_name_files_a_complete_anonymous_ticket(resources) -> None:
    draft, said = anonymous_call(
        resources, "vi",
        ["dạ tôi xin giấu tên", "số bốn phố huế phường hai bà trưng", "tôi muốn tố cáo đánh bạc", "đúng rồi"],
    )  # fmt: skip
    assert (draft.outcome, draft.name, draft.anonymous) == (Outcome.complete, None, True)
    assert said == ["greeting", "ask_name", "ask_address", "ask_need", "readback_anonymous"]
    assert "caller declined to give a name" in draft.notes


def test_the_read_back_says_the_name_was_withheld(resources) -> None:
    conv = Conversation(Settings(default_province=HANOI), locale="en", call_id="c", resources=resources)
    conv.start()
    conv.handle(FinalTranscript("i'd rather not give my name"))
    conv.handle(FinalTranscript("twelve lang street"))
    (ask,) = conv.handle(FinalTranscript("i want to report a scam"))
    assert ask.key == "readback_anonymous" and "anonymous" in ask.text and "12 lang street" in ask.text


def test_a_name_given_later_ends_anonymity(resources) -> None:
    draft, said = anonymous_call(
        resources, "vi",
        ["tôi xin giấu tên", "phường láng", "tôi cần hỗ trợ gạo", "thôi tên tôi là nguyễn văn an", "đúng rồi"],
    )  # fmt: skip
    assert (draft.name, draft.anonymous, draft.outcome) == ("Nguyễn Văn An", False, Outcome.complete)
    assert said[-2:] == ["readback_anonymous", "readback"]


def test_emergency_keeps_priority_over_anonymity(resources) -> None:
    draft, said = anonymous_call(resources, "vi", ["tôi xin giấu tên", "mẹ tôi bị ngất xỉu rồi"])
    assert (draft.outcome, draft.escalation, draft.category.value, draft.anonymous) == (
        Outcome.escalated, "emergency", "emergency", True,
    )  # fmt: skip
    assert said[-1] == "transfer_emergency"


def test_the_flag_is_stored_and_migration_0004_adds_it(store: Store) -> None:
    named = store.call_log.file_ticket(
        draft=TicketDraft(call_id="named", locale="vi", outcome=Outcome.complete, name="An")
    )
    hidden = store.call_log.file_ticket(
        draft=TicketDraft(call_id="hidden", locale="vi", outcome=Outcome.complete, anonymous=True)
    )
    assert read_ticket(store, hidden).ticket.anonymous is True
    assert read_ticket(store, named).ticket.anonymous is False
    config = alembic_config(store.database.engine)
    from alembic import command

    command.downgrade(config, "0001")
    assert "anonymous" not in {c["name"] for c in inspect(store.database.engine).get_columns("tickets")}
    upgrade_schema(store.database.engine)  # tickets filed before the column existed were never anonymous
    assert read_ticket(store, named).ticket.anonymous is False


def test_the_api_and_the_ticket_page_show_the_flag_read_only(world: ApiWorld) -> None:
    number = world.store.call_log.file_ticket(
        draft=TicketDraft(
            call_id="anon-api",
            locale="vi",
            outcome=Outcome.complete,
            anonymous=True,
            need_text="tố cáo đánh bạc",
        )
    )
    url = f"/api/tickets/{number}"
    body = world.client.get(url, headers=world.auth()).json()
    assert body["ticket"]["anonymous"] is True and body["ticket"]["name"] is None
    patched = world.client.patch(url, json={"anonymous": False, "assigned_to": "minh"}, headers=world.auth())
    assert patched.status_code == 200 and patched.json()["anonymous"] is True  # not a field a person edits
    login(world.client, "lan")
    page = world.client.get(f"/tickets/{number}")
    assert 'id="anonymous"' in page.text and "Giấu tên" in page.text
    named = world.client.get(f"/tickets/{world.number}")
    assert 'id="anonymous"' not in named.text
    assert "Giấu tên" in world.client.get("/tickets").text  # the queue shows it where the name would be

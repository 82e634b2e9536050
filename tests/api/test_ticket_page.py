"""The ticket page's pickers, clips and history (callbot.api.ticket_page) through the real app (TestClient): a
ward picked by name routes a record-only ticket, a unit can be set by hand, the clips are named by the question
they answer with their length, the history reads in the reader's language, a cut prompt is marked in it too."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from callbot.types import CUT_MARK
from tests.support.api import ApiWorld, login, tone_wav
from tests.support.stores import audit_entries, draft, read_ticket


def record_only_ticket(world: ApiWorld, tmp_path: Path, call_id: str = "rec-1") -> str:
    """What a record-only call files: no place understood, the answers kept as <slot>.wav clips."""
    clips = [tone_wav(tmp_path / name, seconds=seconds)
             for name, seconds in (("name.wav", 1.5), ("address.wav", 3.0), ("address-2.wav", 2.0))]
    log = world.store.call_log
    log.start_call(call_id=call_id, caller_id="0912345678", locale="vi", started_at=datetime.now(UTC))
    log.add_turn(call_id=call_id, speaker="bot", text="Xin chào, tôi là trợ lý tự động" + CUT_MARK,
                 confidence=None, start=0.0, end=1.0, kind="bot")
    return log.file_ticket(draft=draft(call_id, name=None, address_text=None, need_text=None, ward_code=None,
                                       province_code=None, needs_transcription=True), clips=clips)


def form_of(page: str) -> dict[str, str]:
    """The ticket form's fields as the page filled them (inputs, selected options, textareas)."""
    fields = dict(re.findall(r'<input(?: type="hidden")? name="(\w+)"[^>]*? value="([^"]*)"', page))
    for name, options in re.findall(r'<select name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[name] = chosen.group(1) if chosen else ""
    fields.update(re.findall(r'<textarea name="(\w+)"[^>]*>([^<]*)</textarea>', page))
    return fields


def test_a_record_only_ticket_reaches_a_ward_picked_by_name(world: ApiWorld, tmp_path: Path) -> None:
    number = record_only_ticket(world, tmp_path)
    csrf = login(world.client, "lan")
    page = world.client.get(f"/tickets/{number}").text
    assert 'id="ward-choices"></datalist>' in page  # no province yet: nothing to pick from
    fields = {**form_of(page), "csrf_token": csrf, "province_code": "01"}
    assert world.client.post(f"/tickets/{number}", data=fields).status_code == 200
    page = world.client.get(f"/tickets/{number}").text
    assert '<option value="Phường Ba Đình"></option>' in page  # the province's wards, by name
    assert read_ticket(world.store, number).ticket.unit_code == "P01-HOTLINE"  # the province routes it
    fields = {**form_of(page), "csrf_token": csrf, "ward": "phường ba  đình"}  # as typed: case, spaces
    saved = world.client.post(f"/tickets/{number}", data=fields, follow_redirects=False)
    assert saved.status_code == 303
    ticket = read_ticket(world.store, number).ticket
    assert (ticket.ward_code, ticket.ward_name, ticket.unit_code) == ("00004", "Phường Ba Đình", "W00004")
    assert ("unit_code", "P01-HOTLINE", "W00004") in {
        (e.field, e.old_value, e.new_value) for e in audit_entries(world.store, target_id=number)}
    unknown = world.client.post(f"/tickets/{number}", data={**fields, "ward": "Phường Không Có"})
    assert unknown.status_code == 409 and "Phường Không Có" in unknown.text


def test_a_supervisor_sends_the_ticket_to_another_unit_of_the_province(world: ApiWorld) -> None:
    csrf = login(world.client, "lan")
    page = world.client.get(f"/tickets/{world.number}").text
    assert '<option value="W00070" selected>UBND Phường Hoàn Kiếm</option>' in page
    fields = {**form_of(page), "csrf_token": csrf, "unit_code": "P01-LABOUR"}
    assert world.client.post(f"/tickets/{world.number}", data=fields, follow_redirects=False).status_code == 303
    assert read_ticket(world.store, world.number).ticket.unit_code == "P01-LABOUR"
    page = world.client.get(f"/tickets/{world.number}").text
    fields = {**form_of(page), "csrf_token": csrf, "name": "Nguyễn Văn Ân"}  # saving again keeps the choice
    world.client.post(f"/tickets/{world.number}", data=fields)
    assert read_ticket(world.store, world.number).ticket.unit_code == "P01-LABOUR"


def test_clips_are_named_by_their_question_with_their_length_before_play(world: ApiWorld, tmp_path: Path) -> None:
    number = record_only_ticket(world, tmp_path)
    body = world.client.get(f"/api/tickets/{number}", headers=world.auth()).json()
    assert [(c["slot"], c["attempt"], c["seconds"]) for c in body["clips"]] == [
        ("name", 1, 1.5), ("address", 1, 3.0), ("address", 2, 2.0)]
    login(world.client, "lan")
    page = world.client.get(f"/tickets/{number}").text
    labels = re.findall(r'<span class="clip-label">([^<]+)</span>\s*<span class="clip-length muted">([^<]+)</span>',
                        page)
    assert labels == [("Họ tên", "1.5 s"), ("Địa chỉ", "3.0 s"), ("Địa chỉ (2)", "2.0 s")]
    assert page.count('preload="metadata"') == 3
    assert '<dd id="outcome">Đã ghi âm, chưa chép lời</dd>' in page  # answered every question, nothing transcribed
    english = world.client.get(f"/tickets/{number}", params={"lang": "en"}).text
    assert '<span class="clip-label">Address (2)</span>' in english


def test_the_history_and_a_cut_prompt_read_in_the_reader_s_language(world: ApiWorld, tmp_path: Path) -> None:
    number = record_only_ticket(world, tmp_path)
    csrf = login(world.client, "lan")
    page = world.client.get(f"/tickets/{number}").text
    fields = {key: value for key, value in {**form_of(page), "csrf_token": csrf, "province_code": "01"}.items()
              if key != "needs_transcription"}  # the box unticked: transcribed
    world.client.post(f"/tickets/{number}", data=fields)
    vietnamese = world.client.get(f"/tickets/{number}").text
    history = re.search(r'<ul class="history" id="history">(.*?)</ul>', vietnamese, re.S).group(1)  # type: ignore[union-attr]
    assert "Cần nghe và chép lời: <del>có</del> → <ins>không</ins>" in history
    assert "Tỉnh/thành: <del>∅</del> → <ins>Thành phố Hà Nội</ins>" in history
    assert "Đơn vị phụ trách: <del>∅</del> → <ins>Tổng đài 1022 Thành phố Hà Nội</ins>" in history
    assert "needs_transcription" not in history and "True" not in history
    assert "[bị ngắt lời]" in vietnamese and "[cut]" not in vietnamese and CUT_MARK not in vietnamese
    english = world.client.get(f"/tickets/{number}", params={"lang": "en"}).text
    assert "Needs transcription: <del>yes</del> → <ins>no</ins>" in english and "[interrupted]" in english

"""``callbot chat``: a typed conversation with the real dialogue, stdin piped."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from callbot.chat import ChatCommandError, parse_chat_line
from callbot.cli import app
from callbot.types import DtmfInput, FinalTranscript, Hangup, NoInput
from tests.support import REPO


def chat(lines: list[str], *args: str):
    return CliRunner().invoke(app, ["chat", *args], input="\n".join(lines) + "\n")


TYPED_CALL = (
    "dạ tôi tên là trần thị bích ngọc",
    "số năm ngõ ba quận đống đa",
    "/silence",
    "phường láng",
    "/conf 0.6 con tôi bị sốt cao",
    "/dtmf 1",
    "/dtmf 1",
)


def test_full_call_through_a_pipe() -> None:
    typed = "\n".join(TYPED_CALL)
    result = subprocess.run(
        [sys.executable, "-m", "callbot", "chat", "--locale", "vi", "--province", "Hà Nội"],
        input=typed, capture_output=True, text=True, cwd=REPO, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot> Xin chào" in out and "caller> phường láng" in out
    assert "Dạ, từ tháng 7 năm 2025 không còn cấp quận, huyện nữa" in out
    assert "Xin lỗi, tôi chưa nghe rõ. Anh/chị ở phường hoặc xã nào ạ?" in out
    assert "[slots] name=Trần Thị Bích Ngọc | address=- | need=-" in out
    assert "address=số 5 ngõ 3, Phường Láng, Thành phố Hà Nội" in out
    assert "Dạ, nội dung anh/chị cần hỗ trợ là: con tôi bị sốt cao, đúng không ạ?" in out
    assert "[ticket filed: 0000-0001 (complete)]" in out
    assert "[ticket] ward:     Phường Láng (00187)" in out
    assert "[ticket] category: medical_advice, priority high" in out
    assert out.index("[ticket] number:   0000-0001") > out.index("bot> Cảm ơn anh/chị đã gọi")


def test_end_of_input_hangs_up_with_a_partial_ticket() -> None:
    result = chat(["my name is john smith"], "--locale", "en")
    assert result.exit_code == 0, result.output
    assert "bot> First, may I have your full name, please?" in result.output
    assert "[end of input: the caller hangs up]" in result.output
    assert "[ticket] outcome:  partial" in result.output and "[ticket] name:     John Smith" in result.output


def test_keypad_zero_and_busy_operators() -> None:
    result = chat(["/dtmf 0"], "--locale", "vi", "--operators-busy")
    assert "[transfer to operator: nobody free]" in result.output
    assert "Hiện chưa có tổng đài viên nào rảnh" in result.output
    assert "[ticket] outcome:  escalated (escalation: operator)" in result.output


def test_bad_commands_are_explained_and_the_call_goes_on() -> None:
    result = chat(["/dtmf x", "/conf high hello", "/fly", "/help", "/hangup"], "--locale", "vi")
    assert result.exit_code == 0
    assert "! /dtmf takes keypad digits" in result.output
    assert "! /conf takes a confidence then the text" in result.output
    assert "! unknown command /fly" in result.output
    assert "[ticket] outcome:  partial" in result.output


def test_bad_options_exit_2() -> None:
    assert chat([], "--locale", "fr").exit_code == 2
    result = chat([], "--province", "Atlantis")
    assert result.exit_code == 2 and "unknown province 'Atlantis'" in result.stderr


@pytest.mark.parametrize(
    ("line", "events"),
    [
        ("tôi là an", [FinalTranscript("tôi là an")]),
        ("", [NoInput(8.0)]),
        ("/silence", [NoInput(8.0)]),
        ("/silence 3", [NoInput(3.0)]),
        ("/dtmf 12", [DtmfInput("1"), DtmfInput("2")]),
        ("/conf 0.4 nguyễn văn an", [FinalTranscript("nguyễn văn an", 0.4)]),
        ("/hangup", [Hangup()]),
        ("/help", None),
    ],
)
def test_parse_chat_line(line: str, events) -> None:
    assert parse_chat_line(line, 8.0) == events


def test_parse_chat_line_errors() -> None:
    with pytest.raises(ChatCommandError):
        parse_chat_line("/silence soon", 8.0)
    with pytest.raises(ChatCommandError):
        parse_chat_line("/conf 3 text", 8.0)

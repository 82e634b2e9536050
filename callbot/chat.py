"""``callbot chat``: talk to the bot in a terminal, typing as the caller.

Lines are what the ASR would have heard; commands: ``/silence [seconds]``, ``/dtmf DIGITS``,
``/conf 0.6 TEXT`` (an utterance heard with low confidence), ``/hangup``. End of input hangs up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from callbot.call.effects import SimulatedCall, SimulatedEffects, TranscriptLine
from callbot.config import Settings
from callbot.dialogue.conversation import Conversation
from callbot.dialogue.resources import DialogueResources
from callbot.types import CallerEvent, DtmfInput, FinalTranscript, Hangup, NoInput, Speaker, TicketDraft

HELP = "Type what the caller says. Commands: /silence [s], /dtmf DIGITS, /conf 0.6 TEXT, /hangup, /help"


class ChatCommandError(ValueError):
    pass


def parse_chat_line(line: str, no_input_seconds: float) -> list[CallerEvent] | None:
    """The caller events a typed line stands for; None for a line that is only a command to the chat."""
    text = line.strip()
    if not text.startswith("/"):
        return [FinalTranscript(text)] if text else [NoInput(no_input_seconds)]
    command, _, rest = text.partition(" ")
    rest = rest.strip()
    if command == "/silence":
        try:
            return [NoInput(float(rest) if rest else no_input_seconds)]
        except ValueError:
            raise ChatCommandError(f"/silence takes a number of seconds, not {rest!r}") from None
    if command == "/dtmf":
        if not rest or any(d not in "0123456789*#" for d in rest):
            raise ChatCommandError("/dtmf takes keypad digits, e.g. /dtmf 1")
        return [DtmfInput(d) for d in rest]
    if command == "/conf":
        value, _, said = rest.partition(" ")
        try:
            confidence = float(value)
        except ValueError:
            raise ChatCommandError(
                "/conf takes a confidence then the text, e.g. /conf 0.6 nguyễn văn an"
            ) from None
        if not 0 <= confidence <= 1 or not said.strip():
            raise ChatCommandError("/conf takes a confidence from 0 to 1 then the text")
        return [FinalTranscript(said.strip(), confidence)]
    if command in ("/hangup", "/quit", "/exit"):
        return [Hangup()]
    if command == "/help":
        return None
    raise ChatCommandError(f"unknown command {command}; {HELP}")


def _slots_line(draft: TicketDraft) -> str:
    parts = [
        f"name={draft.name or '-'}",
        f"address={draft.address_text or '-'}",
        f"need={draft.need_text or '-'}",
    ]
    if draft.need_text:
        parts.append(f"category={draft.category.value}/{draft.priority.value}")
    return "[slots] " + " | ".join(parts)


def ticket_lines(draft: TicketDraft, number: str | None) -> list[str]:
    return [
        f"[ticket] number:   {number or '(not filed)'}",
        f"[ticket] outcome:  {draft.outcome.value}"
        + (f" (escalation: {draft.escalation})" if draft.escalation else ""),
        f"[ticket] name:     {draft.name or '-'}",
        f"[ticket] address:  {draft.address_text or '-'}",
        f"[ticket] ward:     {draft.ward_name or '-'} ({draft.ward_code or '-'})",
        f"[ticket] province: {draft.province_name or '-'} ({draft.province_code or '-'})",
        f"[ticket] need:     {draft.need_text or '-'}",
        f"[ticket] category: {draft.category.value}, priority {draft.priority.value}",
    ] + [f"[ticket] note:     {note}" for note in draft.notes]


def run_chat(
    settings: Settings,
    locale: str,
    lines: Iterable[str],
    echo: Callable[[str], None],
    operators_free: bool = True,
    prompt: Callable[[], None] | None = None,
) -> TicketDraft | None:
    """Drive one conversation from typed lines; returns the filed ticket draft."""
    conversation = Conversation(
        settings, locale=locale, call_id="chat", resources=DialogueResources(settings)
    )

    def show(line: TranscriptLine) -> None:
        if line.speaker == Speaker.bot:
            echo(f"bot> {line.text}")
        elif line.speaker == "system":
            echo(f"[{line.text}]")
        elif prompt is None:  # piped input is not echoed by a terminal: show what the caller "said"
            echo(f"caller> {line.text}")

    effects = SimulatedEffects(operators_free=operators_free, on_line=show)
    call = SimulatedCall(conversation, effects)
    echo(HELP)
    call.start()
    slots = _slots_line(conversation.draft)
    source = iter(lines)
    while not call.ended:
        if prompt:
            prompt()
        line = next(source, None)
        if line is None:
            echo("[end of input: the caller hangs up]")
            call.caller(Hangup())
            break
        try:
            events = parse_chat_line(line, settings.no_input_timeout_s)
        except ChatCommandError as exc:
            echo(f"! {exc}")
            continue
        if events is None:
            echo(HELP)
            continue
        for event in events:
            if not call.ended:
                call.caller(event)
        now = _slots_line(conversation.draft)
        if now != slots and not call.ended:
            echo(now)
            slots = now
    if effects.filed is not None:
        for text in ticket_lines(effects.filed, conversation.ticket_number or effects.ticket_number):
            echo(text)
    return effects.filed

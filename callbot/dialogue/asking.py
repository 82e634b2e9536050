"""Turning the form's next step into words: prompts by name, the grammar of a question, the read-back."""

from __future__ import annotations

from dataclasses import replace

from callbot.dialogue.context import PolicyContext, Step
from callbot.dialogue.need import NeedReading
from callbot.dialogue.state import AddressValue, DialogueState, SlotValue
from callbot.dialogue.text import words
from callbot.types import Ask, Question, Slot, Speak

CONFIRMATIONS = (Question.check, Question.readback)  # answered yes or no: the audio side's "confirm"


def speak(ctx: PolicyContext, key: str, **values: object) -> Speak:
    return Speak(ctx.prompts.text(key, **values), key=key)


def ask(state: DialogueState, ctx: PolicyContext, question: Question, key: str, **values: object) -> Step:
    """The question, with how long its answer may pause: callers reading out an address pause between its
    parts, so the address waits longest (both for the plain timer and as the smart end of turn's limit)."""
    question_ask = Ask(
        text=ctx.prompts.text(key, **values),
        slot="confirm" if question in CONFIRMATIONS else question.value,
        key=key,
        phrases=_phrases(state, ctx, question),
        end_silence_ms=ctx.config.address_end_silence_ms if question.slot == Slot.address else None,
        min_silence_ms=ctx.config.turn_min_silence_ms,
        max_silence_ms=(ctx.config.address_max_silence_ms if question == Question.address
                        else ctx.config.turn_max_silence_ms),
        endings=_endings(ctx, question),
    )
    return replace(state, question=question, last_prompt=question_ask), [question_ask]


def ask_readback(state: DialogueState, ctx: PolicyContext, key: str | None = None) -> Step:
    """The read-back covers every slot; an anonymous caller hears that no name is kept."""
    assert state.address is not None and state.need is not None and state.filled(Slot.name)
    if key is None:
        key = "readback_anonymous" if state.anonymous else "readback"
    return ask(
        state,
        ctx,
        Question.readback,
        key,
        name=state.name or "",
        address=state.address.spoken(),
        need=state.need.text,
    )


def _endings(ctx: PolicyContext, question: Question) -> tuple[str, ...] | None:
    """What a whole address ends with, for the end of turn: a ward of the default province."""
    province = ctx.config.default_province
    if question != Question.address or province is None or ctx.lexicon.address_as_text:
        return None
    return ctx.gazetteer.spoken_ward_names(province)


def _phrases(state: DialogueState, ctx: PolicyContext, question: Question) -> tuple[str, ...] | None:
    """A grammar where the answers are few: yes/no, which part, the wards of the province."""
    if question in CONFIRMATIONS:
        return ctx.lexicon.yes_no_phrases()
    if question == Question.which_slot:
        return (
            tuple(p for slot in Slot for p in ctx.lexicon.slot_words[slot].phrases)
            + ctx.lexicon.yes_no_phrases()
        )
    if question == Question.ward:
        pending = state.pending_address
        if pending is not None and pending.ambiguous:  # the answer is one of the candidates' provinces
            return tuple(
                sorted(
                    {
                        " ".join(words(n))
                        for w in pending.ambiguous
                        for n in (w.province.name, w.province.short)
                    }
                )
            )
        province = (pending.province if pending else None) or ctx.config.default_province
        return ctx.gazetteer.spoken_ward_names(province) if province else None
    return None


def prompt_key(ctx: PolicyContext, question: Question, attempt: int) -> str:
    """reprompt_<question>_<n>, falling back to the last one written, then to ask_<question>."""
    for n in range(attempt, 0, -1):
        key = f"reprompt_{question}_{n}"
        if key in ctx.prompts.texts:
            return key
    return f"ask_{question}"


def spoken_number(number: str, ctx: PolicyContext) -> str:
    """ "1234-5678" (or "12345678") -> "một hai ba bốn, năm sáu bảy tám": digit by digit, in groups of four."""
    groups = [g for g in number.replace(" ", "-").split("-") if g]
    if len(groups) == 1 and groups[0].isdigit():
        groups = [groups[0][i : i + 4] for i in range(0, len(groups[0]), 4)]
    digit_words = ctx.lexicon.digit_words
    return ", ".join(" ".join(digit_words[int(d)] for d in g if d.isdigit()) for g in groups)


def value_text(value: SlotValue) -> str:
    if isinstance(value, AddressValue):
        return value.spoken()
    if isinstance(value, NeedReading):
        return value.text
    return value

"""A campaign call's dialogue, pure like the hotline's: the message, then "press 1 if you heard it, 2 to hear it
again, 0 for an operator"; a voice reply counts too ("có", "nghe rồi", "nhắc lại"; "yes", "repeat") when a
recognizer runs. No clock, no I/O: state + caller event -> new state + decisions (``Speak``, ``Ask``,
``Transfer``, ``EndCall``), carried out by the one ``DecisionInterpreter``.

Outcomes: ``confirmed`` (1 or a yes), else ``answered_no_confirm`` (silence after the menu and one retry, a
hang-up, a transfer to an operator). Every key pressed is kept, in order (the report's ``dtmf``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.text import words
from callbot.prompts import PromptSet
from callbot.types import Ask, CallerEvent, ContactStatus, Decision, DtmfInput, EndCall, FinalTranscript, Hangup
from callbot.types import NoInput, RecordedAnswer, Speak, Transfer, TransferResult

MENU_RETRIES = 1  # the menu is said again once after silence or an unclear answer, then the call ends
MAX_PLAYS = 3  # the message is played at most this often (2 afterwards only says the menu again)
MENU_TIMEOUT_S = 6.0

Reply = Literal["confirm", "repeat", "operator"]
KEYS: dict[str, Reply] = {"1": "confirm", "2": "repeat", "*": "repeat", "0": "operator"}  # as the menu says


@dataclass(frozen=True, slots=True)
class Message:
    """What a campaign says: a text (synthesized once per voice, through the prompt cache) or a recording."""

    text: str
    recording: str | None = None
    locale: str = "vi"  # the message's language (the menu is in the contact's)


@dataclass(frozen=True, slots=True)
class NotifyContext:
    prompts: PromptSet  # the contact's locale
    lexicon: Lexicon
    message: Message
    name: str | None = None  # the contact's name, greeted before the message


@dataclass(frozen=True, slots=True)
class NotifyState:
    phase: Literal["listening", "transferring", "ended"] = "listening"
    plays: int = 0
    retries: int = 0
    digits: str = ""
    confirmed: bool = False

    @property
    def outcome(self) -> ContactStatus:
        return ContactStatus.confirmed if self.confirmed else ContactStatus.answered_no_confirm


Step = tuple[NotifyState, list[Decision]]


def start(state: NotifyState, ctx: NotifyContext) -> Step:
    hello = [Speak(ctx.prompts.text("campaign_hello", name=ctx.name), "campaign_hello", barge_in=False)] if ctx.name else []
    state, said = _play(state, ctx)
    return state, hello + said


def step(state: NotifyState, event: CallerEvent, ctx: NotifyContext) -> Step:
    if state.phase == "ended":
        return state, []
    if isinstance(event, Hangup):
        return replace(state, phase="ended"), [EndCall("hangup")]
    if isinstance(event, TransferResult):
        if state.phase != "transferring":
            return state, []
        if event.ok:
            return replace(state, phase="ended"), [EndCall("transferred")]
        return replace(state, phase="ended"), [_say(ctx, "campaign_no_operator"), EndCall("no operator free")]
    if state.phase != "listening":
        return state, []
    if isinstance(event, DtmfInput):
        state = replace(state, digits=state.digits + event.digits)
        reply: Reply | None = KEYS.get(event.digits[-1:])
    elif isinstance(event, FinalTranscript):
        reply = spoken_reply(event.text, ctx.lexicon)
    elif isinstance(event, (NoInput, RecordedAnswer)):
        reply = None  # silence, or speech no recognizer could read
    else:
        return state, []
    if reply == "confirm":
        return replace(state, confirmed=True, phase="ended"), [_say(ctx, "campaign_thanks"), EndCall("confirmed")]
    if reply == "repeat":
        if state.plays >= MAX_PLAYS:
            return _menu(state, ctx, "campaign_menu")
        return _play(state, ctx)
    if reply == "operator":
        return replace(state, phase="transferring"), [_say(ctx, "transfer_operator"), Transfer("operator")]
    if state.retries >= MENU_RETRIES:
        return replace(state, phase="ended"), [_say(ctx, "campaign_goodbye"), EndCall("no confirmation")]
    return _menu(replace(state, retries=state.retries + 1), ctx, "campaign_menu_retry")


def spoken_reply(text: str, lexicon: Lexicon) -> Reply | None:
    """What a spoken answer to the menu means: a person wanted first, then "again", then "heard it"; a "no"
    (which may contain a yes word: "không đúng") is no confirmation."""
    tokens = words(text)
    if not tokens:
        return None
    if lexicon.operator.contains(tokens):
        return "operator"
    if lexicon.repeat.contains(tokens):
        return "repeat"
    if lexicon.deny.contains(tokens):
        return None
    if lexicon.heard.contains(tokens) or lexicon.affirm.contains(tokens):
        return "confirm"
    return None


def menu_phrases(lexicon: Lexicon) -> tuple[str, ...]:
    """The menu's grammar for a recognizer: yes/heard, again, a person (and no, so a "no" is not forced)."""
    return (lexicon.affirm.phrases + lexicon.heard.phrases + lexicon.repeat.phrases + lexicon.operator.phrases
            + lexicon.deny.phrases)


def _say(ctx: NotifyContext, key: str) -> Speak:
    return Speak(ctx.prompts.text(key), key, barge_in=False)


def _play(state: NotifyState, ctx: NotifyContext) -> Step:
    message = ctx.message
    said = Speak(message.text, None, barge_in=False, cached=message.recording is None, recording=message.recording,
                 locale=message.locale)
    state, menu = _menu(replace(state, plays=state.plays + 1), ctx, "campaign_menu")
    return state, [said, *menu]


def _menu(state: NotifyState, ctx: NotifyContext, key: str) -> Step:
    # No barge-in by speech: a callee's "alô?" must not cut the message. A key cuts it (the session does that).
    ask = Ask(ctx.prompts.text(key), "menu", key=key, phrases=menu_phrases(ctx.lexicon),
              no_input_timeout_s=MENU_TIMEOUT_S, barge_in=False, dtmf_digits=1)
    return state, [ask]


class NotificationDialogue:
    """One campaign call's dialogue (the interpreter's ``Dialogue``): holds the state between events."""

    def __init__(self, ctx: NotifyContext) -> None:
        self.ctx = ctx
        self.state = NotifyState()

    def start(self) -> list[Decision]:
        self.state, decisions = start(self.state, self.ctx)
        return decisions

    def handle(self, event: CallerEvent) -> list[Decision]:
        self.state, decisions = step(self.state, event, self.ctx)
        return decisions

    @property
    def ended(self) -> bool:
        return self.state.phase == "ended"

"""``Conversation``: one call's dialogue, holding the state between caller events.

Used by the SIP call session, ``callbot eval`` and ``callbot chat``; the decisions it returns are carried
out by whoever drives it (see the filing and escalation protocol in ``callbot.dialogue.policy``).
"""

from __future__ import annotations

from callbot.config import Settings
from callbot.dialogue import policy
from callbot.dialogue.resources import DialogueResources
from callbot.dialogue.state import DialogueState
from callbot.types import Ask, CallerEvent, Decision, TicketDraft


class Conversation:
    def __init__(
        self,
        settings: Settings,
        locale: str | None = None,
        call_id: str = "call",
        caller_id: str | None = None,
        resources: DialogueResources | None = None,
    ) -> None:
        self.locale = locale or settings.locale
        # Pass a shared DialogueResources in a server: building one loads prompts and the units again.
        self._resources = resources or DialogueResources(settings)
        self._ctx = self._resources.context(self.locale, settings)
        self._state = DialogueState(call_id=call_id, locale=self.locale, caller_id=caller_id)
        self._started = False

    def start(self) -> list[Decision]:
        """The greeting and the first question."""
        if self._started:
            raise RuntimeError("conversation already started")
        self._started = True
        self._state, decisions = policy.start(self._state, self._ctx)
        return decisions

    def handle(self, event: CallerEvent) -> list[Decision]:
        if not self._started:
            raise RuntimeError("call start() before handle()")
        self._state, decisions = policy.step(self._state, event, self._ctx)
        return decisions

    @property
    def state(self) -> DialogueState:
        return self._state

    @property
    def ended(self) -> bool:
        return self._state.ended

    @property
    def draft(self) -> TicketDraft:
        """What has been captured so far (outcome partial until the dialogue decides otherwise)."""
        return self._state.draft()

    @property
    def last_ask(self) -> Ask | None:
        return self._state.last_prompt

    @property
    def ticket_number(self) -> str | None:
        return self._state.ticket_number

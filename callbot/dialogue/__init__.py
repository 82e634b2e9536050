"""The slot-filling dialogue (name -> address -> need -> read-back) and its Vietnamese/English understanding."""

from callbot.dialogue.conversation import Conversation
from callbot.dialogue.resources import DialogueResources, UnknownProvince
from callbot.dialogue.state import DialogueState

__all__ = ["Conversation", "DialogueResources", "DialogueState", "UnknownProvince"]

"""The chat's conversations as the browser keeps them: a session's turns, and the list of past
conversations stored in the page's localStorage (through `gr.BrowserState`).

What the browser sends back is untrusted: `Library.parse` keeps what is well-formed (and at most
the newest conversations and turns) and drops the rest, so a stale or edited store never breaks
the page. A stored citation is shown like any other: its source must be a file of seeds/
(`Engine.source_text`) and a quote that no longer matches its offsets is flagged as changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from qa.types import Answer

__all__ = ["Conversation", "Library", "Turn"]

KEEP_CONVERSATIONS = 20  # the newest ones; older ones drop out of the list
KEEP_TURNS = 50  # per conversation
_TITLE = 70  # characters of the first question shown in the list


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer | None = None  # None: the question failed with `error`
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "error": self.error,
                "answer": self.answer.to_dict() if self.answer is not None else None}

    @classmethod
    def parse(cls, data: Any) -> Turn | None:
        """A turn from stored JSON, or None when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("question"), str):
            return None
        raw, error = data.get("answer"), data.get("error", "")
        try:
            answer = Answer.from_dict(raw) if isinstance(raw, dict) else None
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if answer is None and not (isinstance(error, str) and error):
            return None
        return cls(data["question"], answer, error if isinstance(error, str) else "")


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]

    @property
    def title(self) -> str:
        first = " ".join(self.turns[0].question.split()) if self.turns else ""
        return first if len(first) <= _TITLE else first[: _TITLE - 1].rstrip() + "…"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "turns": [t.to_dict() for t in self.turns[-KEEP_TURNS:]]}


def new_id() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Library:
    """The stored conversations, newest first, and which one is open."""

    current: str = ""
    conversations: tuple[Conversation, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, data: Any) -> Library:
        if not isinstance(data, dict):
            return cls()
        found = []
        items = data.get("conversations")
        for item in items[:KEEP_CONVERSATIONS] if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            stored = item.get("turns")
            stored = stored[-KEEP_TURNS:] if isinstance(stored, list) else []
            turns = [t for t in map(Turn.parse, stored) if t is not None]
            if turns:
                found.append(Conversation(item["id"][:32], tuple(turns)))
        current = data.get("current")
        return cls(current if isinstance(current, str) else "", tuple(found))

    def to_dict(self) -> dict[str, Any]:
        return {"current": self.current,
                "conversations": [c.to_dict() for c in self.conversations[:KEEP_CONVERSATIONS]]}

    def get(self, conversation_id: str) -> Conversation | None:
        return next((c for c in self.conversations if c.id == conversation_id), None)

    def save(self, conversation_id: str, turns: list[Turn]) -> Library:
        """This conversation with these turns, moved to the top of the list and made current."""
        others = tuple(c for c in self.conversations if c.id != conversation_id)
        if not turns:
            return replace(self, current=conversation_id, conversations=others)
        mine = Conversation(conversation_id, tuple(turns))
        return Library(conversation_id, ((mine, *others))[:KEEP_CONVERSATIONS])

    def forget(self, conversation_id: str) -> Library:
        return Library("", tuple(c for c in self.conversations if c.id != conversation_id))

    def choices(self) -> list[tuple[str, str]]:
        """(title, id) for a dropdown of past conversations."""
        return [(c.title, c.id) for c in self.conversations]

"""Text normalisation shared by the question reader (`qa.offline.questions`) and the name table
(`qa.offline.aliases`), which depend on it and not on each other's internals."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lowercase, accents removed (Erdoğan ~ Erdogan)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

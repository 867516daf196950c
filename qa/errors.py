"""The one exception tree of `qa`. Every message is meant for the person using `qa`: one line that
says what went wrong and what to do. The CLI and the chat print `str(error)`, never a traceback.

    QAError
    ├── ConfigError       a setting or an installed piece is wrong (bad QA_* value, missing package)
    ├── QuestionError     the question itself is unusable (empty, too long)
    ├── SourceError       seeds/ is empty or missing, or a source file cannot be used
    │   └── NoDocumentsError  nothing is indexed yet (the chat says how to add documents)
    ├── IndexError_       index/ is unreadable, foreign, or from an older version
    ├── StoreError        the Chroma server is down or answers wrongly
    ├── ModelError        the language-model endpoint is down, slow, refuses, or answers garbage
    └── JudgeError        the reader model is missing, corrupt, or cannot run (answers fall back to
                          QA_JUDGE=off with a notice)
"""

from __future__ import annotations


class QAError(Exception):
    """Base of every error `qa` raises on purpose. `str(e)` is a one-line message for the user."""


class ConfigError(QAError):
    """A setting is invalid or a required component is not installed."""


class QuestionError(QAError):
    """The question cannot be answered as asked (empty, whitespace only, too long)."""


class SourceError(QAError):
    """The sources cannot be read: `seeds/` missing or empty, or a file that cannot be used."""


class NoDocumentsError(SourceError):
    """No document is indexed: seeds/ is empty (or holds nothing `qa` can read)."""


class IndexError_(QAError):  # noqa: N801 - trailing underscore: do not shadow the builtin
    """The index under `index/` is corrupt, foreign, or was built by an incompatible version."""


class StoreError(QAError):
    """The vector store (embedded Chroma or a Chroma server) cannot be reached or fails."""


class ModelError(QAError):
    """The OpenAI-compatible model endpoint failed: down, timeout, HTTP error, unusable reply."""


class JudgeError(QAError):
    """The reader model that judges sentences cannot be used: its weights are missing, corrupt or
    unwritable, its runtime is absent, or the endpoint asked instead (QA_JUDGE=openai) fails."""

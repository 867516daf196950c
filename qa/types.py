"""The typed results `qa` passes around. Leaf module: imports nothing from `qa`.

Offsets are always character offsets into the *source text* of a file: the file decoded as UTF-8 for
.txt/.md, the extracted text for other formats (see `qa.sources.readers`). `text[start:end] == quote` holds
for every `Citation` that `qa` returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Backend = Literal["extractive", "openai"]
VerifyStatus = Literal["ok", "source changed", "quote not found", "source missing"]


@dataclass(frozen=True)
class Chunk:
    """A piece of one source file, as stored in the index."""

    id: str  # stable: derived from source, file sha256 and offsets
    source: str  # path relative to seeds/, with forward slashes
    start: int  # text[start:end] == self.text
    end: int
    text: str
    sha256: str  # of the source file's bytes
    line: int = 1  # 1-based line of `start` in the source text
    page: int | None = None  # 1-based page of `start` for paged formats (PDF)
    # It addresses the assistant or the reader with orders ("ignore your instructions", a link
    # asking for a password; `qa.sources.planted`): kept and searchable, flagged at ingest. An
    # index written before the flag existed reads as unflagged.
    planted_instructions: bool = False


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused retrieval score (higher is better)."""

    chunk: Chunk
    score: float

    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass(frozen=True)
class Citation:
    """One numbered citation: an exact span of a source file that supports part of the answer."""

    n: int  # the marker number, [n] in Answer.text; 1..len(citations), in order of first use
    source: str  # path relative to seeds/
    start: int  # character offsets into the source text; text[start:end] == quote
    end: int
    quote: str
    line_start: int  # 1-based lines of the source text that the span covers
    line_end: int
    sha256: str  # of the source file when the answer was made; lets `verify` tell what changed
    page: int | None = None  # 1-based, for paged formats

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Sentence:
    """One sentence of the answer and the citations that back it."""

    text: str  # as shown, markers included
    citations: tuple[int, ...]  # citation numbers
    supported: bool  # False: no citation, or its citation does not support this sentence
    rescued: bool = False  # the model gave no marker or a wrong one; qa found the supporting span


@dataclass(frozen=True)
class Answer:
    """What `qa.answer()` returns."""

    question: str
    text: str  # the answer with [n] markers; the fixed NO_ANSWER sentence when not supported
    supported: bool  # False when the sources do not answer the question
    citations: list[Citation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    standalone_question: str = ""  # the question as retrieved (follow-ups rewritten with history)
    backend: Backend = "extractive"
    notice: str = ""  # e.g. why the model was not used and the extractive answer is shown instead
    rescued: int = 0  # sentences the model left unmarked or mis-cited that qa attributed itself
    # When not supported: the source sentences that came closest (at most 3, best first, exact
    # spans numbered 1..n like citations). Not an answer: what to read when the refusal is wrong.
    closest: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready. Carries no secret (no API key, no endpoint credentials)."""
        return {
            "question": self.question,
            "text": self.text,
            "supported": self.supported,
            "citations": [c.to_dict() for c in self.citations],
            "sentences": [
                {"text": s.text, "citations": list(s.citations), "supported": s.supported,
                 "rescued": s.rescued}
                for s in self.sentences
            ],
            "standalone_question": self.standalone_question,
            "backend": self.backend,
            "notice": self.notice,
            "rescued": self.rescued,
            "closest": [c.to_dict() for c in self.closest],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        return cls(
            question=data.get("question", ""),
            text=data["text"],
            supported=bool(data["supported"]),
            citations=[Citation.from_dict(c) for c in data.get("citations", [])],
            sentences=[
                Sentence(s["text"], tuple(s["citations"]), bool(s["supported"]),
                         bool(s.get("rescued", False)))
                for s in data.get("sentences", [])
            ],
            standalone_question=data.get("standalone_question", ""),
            backend=data.get("backend", "extractive"),
            notice=data.get("notice", ""),
            rescued=int(data.get("rescued", 0)),
            closest=[Citation.from_dict(c) for c in data.get("closest", [])],
        )


@dataclass(frozen=True)
class CitationCheck:
    """The result of re-checking one citation against the current source files."""

    n: int
    source: str
    status: VerifyStatus
    detail: str = ""  # for "source changed": where the quote is now


@dataclass(frozen=True)
class IndexReport:
    """What one indexing run did."""

    files_seen: int = 0
    files_indexed: int = 0  # new or changed files (re-chunked and embedded)
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0  # unreadable, empty or unsupported files (each has a warning)
    chunks_embedded: int = 0
    chunks_total: int = 0
    warnings: tuple[str, ...] = ()
    chunks_resumed: int = 0  # found already stored by a run that was killed: not embedded again
    sentences_embedded: int = 0  # sentence texts embedded for the answerer (qa.store.sentences)
    words_embedded: int = 0  # ... and words of those sentences new to the index
    files_upgraded: int = 0  # files indexed before sentence vectors were kept, given theirs now


@dataclass(frozen=True)
class IndexProgress:
    """Where an indexing run is; sent after every stored batch and every committed file."""

    files_done: int  # files committed (or skipped) by this run
    files_total: int  # new or changed files this run has to index
    chunks_done: int  # chunks stored (or found stored) by this run
    bytes_done: int  # of the files to index, read and stored so far (estimated within a file)
    bytes_total: int
    seconds: float  # since the run started
    file: str = ""  # the file being indexed, or just committed
    committed: bool = False  # `file` has just been committed, with `file_chunks` chunks
    file_chunks: int = 0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks_done / self.seconds if self.seconds > 0 else 0.0

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_done / self.bytes_total) if self.bytes_total else 1.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the rate so far (by bytes); None before there is a rate."""
        if self.bytes_done <= 0 or self.seconds <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) * self.seconds / self.bytes_done)


NO_ANSWER = "The sources do not answer this question."


def no_answer(question: str, standalone_question: str, backend: Backend = "extractive",
              notice: str = "") -> Answer:
    """The fixed result for a question the sources do not answer (`supported=False`)."""
    return Answer(question=question, text=NO_ANSWER, supported=False,
                  standalone_question=standalone_question, backend=backend, notice=notice)

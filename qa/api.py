"""The one place that chains index -> retrieve -> answer -> cite. `answer()` is the public entry.

    from qa import answer
    a = answer("Where did Putin propose holding the talks?")
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.cite import citation_for, with_marker
from qa.cite import verify as verify_citations
from qa.config import MAX_QUESTION_CHARS, Settings
from qa.errors import (
    JudgeError,
    QAError,
    QuestionError,
    SourceError,
)
from qa.model.generate import ModelAnswerer
from qa.offline.answer_model import AnswerModel
from qa.offline.extractive import (
    Lexicon,
    Pick,
    SentenceVectors,
    analyse,
    closest,
    decide,
    span_key,
    without_repeats,
)
from qa.offline.features import Candidate, question_terms, question_texts
from qa.offline.judge import Judge, judge_from_settings
from qa.offline.language import english_only_notice, foreign_language
from qa.offline.questions import Question, read_question
from qa.offline.quoted import Quoted, SpanKey
from qa.offline.resolve import named_subject, without_connective
from qa.sources.ingest import require_folder
from qa.sources.readers import read_source
from qa.sources.walk import inside
from qa.store.chroma import Store
from qa.store.embed import Embedder, Encoded
from qa.store.retrieve import Bm25Index, Retriever
from qa.types import (
    Answer,
    Citation,
    CitationCheck,
    IndexProgress,
    IndexReport,
    Passage,
    Sentence,
    no_answer,
)
from qa.updates import IndexKeeper, progress_words

# A follow-up does not repeat a sentence that one of the last GIVEN_TURNS answers of the
# conversation gave (see `Engine._given`).
GIVEN_TURNS = 5


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    chunks: int
    sha256: str


class Engine:
    """Holds what answering needs between questions: settings, model, index, caches.

    Thread-safe: the chat serves many users from one Engine.
    """

    def __init__(self, settings: Settings, store: Store, embedder: Embedder,
                 answer_model: AnswerModel | None = None, judge: Judge | None = None,
                 notes: list[str] | None = None) -> None:
        """`judge`: the reader model; by default the one QA_JUDGE names, loaded on the first
        question that needs it (a failure to load it is told in that answer's notice).
        `notes`: said once, in the next `refresh()` report."""
        self.settings = settings
        self.embedder = embedder
        self.answer_model = answer_model or AnswerModel.load()
        self._index = IndexKeeper(settings, store, embedder, notes)
        self._lexicon: tuple[Bm25Index, Lexicon] | None = None
        self._quoted = Quoted()  # what each extractive answer quoted (see `_given`)
        self._judge_lock = threading.Lock()  # loading the reader model, once
        self._judge = judge
        self._judge_tried = judge is not None or settings.judge == "off"
        self._judge_notice = ""
        self._asking = 0  # questions being answered now (see `busy`)
        self._asking_lock = threading.Lock()
        # QA_BACKEND=openai: a model writes the answer (checked by qa.model.cite); on any model
        # failure the extractive answer is given instead, with a notice that says why.
        self._model = None if settings.backend != "openai" else ModelAnswerer(
            settings, retrieve=lambda q: self.retrieve(q)[0], fallback=self._answer_extractive,
            reader=self.reader)

    @classmethod
    def from_settings(cls, settings: Settings | None = None,
                      answer_model: AnswerModel | None = None, *, rebuild: bool = False
                      ) -> Engine:
        """`rebuild`: start from an empty index without opening the old one, which may be corrupt
        (it is moved aside; the next `refresh()` report says where)."""
        settings = settings or Settings.from_env()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if not settings.chroma_url:
            require_folder(settings.seeds_dir)  # before index/ is created beside a wrong folder
        note = ""
        if rebuild:
            store, note = Store.rebuild(settings.index_dir, settings.chroma_url)
        else:
            store = Store.open(settings.index_dir, settings.chroma_url)
        return cls(settings, store, Embedder(), answer_model, notes=[note] if note else [])

    # --- the index (kept by IndexKeeper: qa.updates) ------------------------------------------
    @property
    def store(self) -> Store:
        return self._index.store

    @property
    def retriever(self) -> Retriever:
        return self._index.retriever

    @property
    def vectors(self) -> SentenceVectors:
        return self._index.vectors

    @vectors.setter
    def vectors(self, vectors: SentenceVectors) -> None:  # benchmarks swap the cache
        self._index.vectors = vectors

    def refresh(self, rebuild: bool = False,
                on_progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
        """Brings the index up to date with seeds/ (incremental; `rebuild` starts from empty).
        `on_progress` is told after every stored batch and every committed file."""
        return self._index.refresh(rebuild, on_progress)

    def ensure_index(self) -> IndexReport | None:
        """Updates the index if seeds/ changed since the last look (a cheap stat check first).
        After `update_in_background`, the update runs in a thread of its own and this waits for
        it only that long; answers given meanwhile say so (`Answer.notice`)."""
        return self._index.ensure()

    def update_in_background(self, wait_seconds: float) -> None:
        """From now on, index updates run off the request path: a question that finds seeds/
        changed starts the update in a thread and waits at most `wait_seconds` for it, then is
        answered from the files indexed so far (the chat, so that a big upload stops no one)."""
        self._index.update_in_background(wait_seconds)

    def start_update(self, seen: tuple | None = None, again: bool = False) -> threading.Thread:
        """Starts bringing the index up to date in a background thread, or returns the one that
        is already doing it (see `IndexKeeper.start_update`). Progress: `indexing()`."""
        return self._index.start_update(seen, again)

    def indexing(self) -> IndexProgress | None:
        """The running update's progress, or None when the index is not being updated."""
        return self._index.indexing()

    def last_update(self) -> IndexReport | QAError | None:
        """What the last background update did, or the error that stopped it."""
        return self._index.last_update()

    def documents(self) -> list[DocumentInfo]:
        return sorted((DocumentInfo(r.source, r.chunks, r.sha256)
                       for r in self.store.files().values()), key=lambda d: d.source)

    def source_text(self, source: str) -> str:
        """The text that citation offsets of `source` point into."""
        path = inside(self.settings.seeds_dir, source)
        if path is None:
            raise SourceError(f"{source} is not a file in {self.settings.seeds_dir}")
        return read_source(path, source).text

    def verify(self, answer: Answer) -> list[CitationCheck]:
        return verify_citations(answer, self.settings.seeds_dir)

    # --- answering -----------------------------------------------------------------------------
    def retrieve(self, question: str, history: Sequence[str] = (),
                 sources: Sequence[str] | None = None) -> tuple[list[Passage], Query]:
        """`sources`: only passages of these files (names as `documents()` lists them)."""
        passages, query, _ = self._retrieve(question, history, self.scope(sources))
        return passages, query

    def _retrieve(self, question: str, history: Sequence[str],
                  scope: frozenset[str] | None = None) -> tuple[list[Passage], Query, Lexicon]:
        """The passages, the query and the lexicon of one index version: the store is asked for
        its version once per question (a Chroma read, ~2 ms), not once per use. `scope`: the
        files searched (a filter inside the retriever), None for all."""
        bm25 = self.retriever.bm25()
        lexicon = self._lexicon_of(bm25)
        query = self._query(read_question(question, history), lexicon)
        passages = self.retriever.retrieve(query.texts, query.vectors, bm25=bm25, sources=scope)
        return passages, query, lexicon

    def scope(self, sources: Sequence[str] | None) -> frozenset[str] | None:
        """The indexed files a question covers: None (all) when `sources` is None or empty, else
        exactly those files. A name that is not indexed is a SourceError that lists what is; a
        path to a file in seeds/ (`seeds/a.txt`, absolute) counts as its name there."""
        if sources is None:
            return None
        if isinstance(sources, (str, bytes)) or not all(isinstance(x, str) for x in sources):
            raise QuestionError("sources must be a list of file names (strings) as the "
                                "Documents tab lists them")
        if not sources:
            return None
        indexed = {d.source for d in self.documents()}
        scope = set()
        for name in sources:
            source = name if name in indexed else self._as_source(name)
            if source not in indexed:
                listed = ", ".join(sorted(indexed)) or "nothing yet"
                raise SourceError(f"{name!r} is not an indexed document; indexed: {listed}")
            scope.add(source)
        return frozenset(scope)

    def _as_source(self, name: str) -> str:
        """`seeds/a.txt` or `/abs/seeds/a.txt` -> `a.txt` (the name the index uses); else `name`."""
        root = Path(self.settings.seeds_dir).resolve()
        for path in (Path(name), Path.cwd() / name):
            try:
                return path.resolve().relative_to(root).as_posix()
            except (ValueError, OSError):
                continue
        return name

    def answer(self, question: str, history: Sequence[str] | None = None,
               sources: Sequence[str] | None = None) -> Answer:
        """`sources`: the files the question covers (names as `documents()` lists them; default
        all). Only their passages are retrieved."""
        with self._answering():
            question, history = _check_question(question), _check_history(history)
            self.ensure_index()
            scope = self.scope(sources)
            if self._model is not None:
                result = self._model_for(scope).answer(question, history)
                return self._updating_notice(
                    _language_notice(self._with_closest(result, history, scope)))
            return self._updating_notice(
                _language_notice(self._answer_extractive(question, history, scope)))

    def busy(self) -> bool:
        """Whether a question is being answered now. Background work that asks questions too
        (the chat's suggested questions) waits for this to pass, so people's questions go first:
        with the reader model, both need the one model."""
        return self._asking > 0

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        with self._asking_lock:
            self._asking += 1
        try:
            yield
        finally:
            with self._asking_lock:
                self._asking -= 1

    def _updating_notice(self, answer: Answer) -> Answer:
        """An answer given while the index is being updated says so."""
        progress = self._index.indexing()
        if progress is None:
            return answer
        note = (f"the index is being updated ({progress_words(progress)}): this answer comes "
                "from the documents indexed so far")
        return dataclasses.replace(answer, notice="; ".join(n for n in (answer.notice, note) if n))

    def _with_closest(self, result: Answer, history: list[str],
                      scope: frozenset[str] | None) -> Answer:
        """A model's refusal with the sentences the offline answerer finds nearest (its own
        answer's, if it has one: the model's refusal may be the wrong one), like its refusals."""
        if result.supported or result.closest:
            return result
        try:
            nearest = self._answer_extractive(result.question, history, scope)
        except QAError:
            return result
        return dataclasses.replace(
            result, closest=(nearest.citations if nearest.supported else nearest.closest)[:3])

    def _model_for(self, scope: frozenset[str] | None) -> ModelAnswerer:
        """The model answerer, retrieving from `scope` only (the same model and connection)."""
        assert self._model is not None
        if scope is None:
            return self._model
        return ModelAnswerer(
            self.settings, model=self._model.model,
            retrieve=lambda q: self._retrieve(q, (), scope)[0],
            fallback=lambda q, h: self._answer_extractive(q, h, scope), reader=self.reader)

    def _answer_extractive(self, question: str, history: list[str],
                           scope: frozenset[str] | None = None) -> Answer:
        passages, query, lexicon = self._retrieve(question, history, scope)
        analysis = analyse(query.question, passages, query.asked, query.vectors[0],
                           query.context_vector, self.vectors, lexicon)
        try:
            chosen = decide(analysis, self.answer_model, self.judge())
            notice = self._judge_notice
        except JudgeError as exc:  # the reader failed mid-question: answer without it, say so
            chosen = decide(analysis, self.answer_model)
            notice = f"{exc}; answered without the reader model"
        if history and len(chosen.sentences) > 1:
            chosen = without_repeats(chosen, self._given(history, scope))
        result = answer_from_pick(question, query.standalone, chosen)
        self._quoted.put(lexicon, (question, tuple(history), scope),
                         frozenset(span_key(c.source, c.start, c.end) for c in result.citations))
        if not result.supported:  # what came nearest, for the user to judge the refusal
            result = dataclasses.replace(result, closest=[
                citation_for(n, c.chunk, c.span.start, c.span.end)
                for n, c in enumerate(closest(analysis, self.answer_model), start=1)])
        if notice:
            result = dataclasses.replace(
                result, notice="; ".join(n for n in (result.notice, notice) if n))
        return result

    def _given(self, history: Sequence[str], scope: frozenset[str] | None) -> frozenset[SpanKey]:
        """The spans that the answers to the last GIVEN_TURNS questions of `history` quoted, each
        answered as it was asked (with the questions before it). Kept from when they were asked
        on this engine (the chat); worked out again otherwise (`qa ask --history`)."""
        given: set[SpanKey] = set()
        for i in range(max(0, len(history) - GIVEN_TURNS), len(history)):
            key = (history[i], tuple(history[:i]), scope)
            spans = self._quoted.get(self.lexicon(), key)
            if spans is None:
                try:
                    self._answer_extractive(history[i], list(history[:i]), scope)
                except QAError:  # that question fails now: it gave nothing to repeat
                    continue
                spans = self._quoted.get(self.lexicon(), key) or frozenset()
            given |= spans
        return frozenset(given)

    def judge(self) -> Judge | None:
        """The reader model for the extractive answerer: `reader()`, if the answer model was
        fitted with one."""
        if self.answer_model.judge is None:  # never fitted with a reader: nothing to ask it
            return None
        return self.reader()

    def reader(self) -> Judge | None:
        """The reader model (QA_JUDGE), loaded once; None when off or when it cannot be had (then
        `_judge_notice` says why, and extractive answers carry it). Model answers use it to check
        their citations."""
        if not self._judge_tried:
            with self._judge_lock:  # not the index lock: an update may hold that for minutes
                if not self._judge_tried:
                    try:
                        self._judge = judge_from_settings(self.settings)
                    except JudgeError as exc:
                        self._judge_notice = f"{exc}; answered without the reader model"
                    self._judge_tried = True
        return self._judge

    def answer_stream(self, question: str, history: Sequence[str] | None = None,
                      sources: Sequence[str] | None = None) -> Iterator[str | Answer]:
        """Yields pieces of the answer text as they are ready, then the final Answer."""
        if self._model is not None:  # the model's text as it writes it, then the checked Answer
            with self._answering():
                question, history = _check_question(question), _check_history(history)
                self.ensure_index()
                scope = self.scope(sources)
                for item in self._model_for(scope).answer_stream(question, history):
                    if isinstance(item, Answer):
                        item = self._updating_notice(
                            _language_notice(self._with_closest(item, history, scope)))
                    yield item
            return
        result = self.answer(question, history, sources)
        # The extractive answer is ready at once; it is still sent a sentence at a time so that
        # every caller consumes one protocol: text deltas that add up to `text`, then the Answer.
        pieces = [s.text for s in result.sentences] or [result.text]
        for i, piece in enumerate(pieces):
            yield piece if i == 0 else " " + piece
        yield result

    def _query(self, q: Question, lexicon: Lexicon) -> Query:
        """Embeds the question (and, in a follow-up, the question with the one before it) for
        retrieval; the extractive answerer's question-side texts ride along in the same model
        call, and the question with follow-up pronouns resolved keeps its token states."""
        question, history, asked = q.text, q.history, q.asked
        standalone = f"{history[-1]} {question}" if history else question
        mine = list(dict.fromkeys([asked, question, standalone]))
        extra = (question_texts(question_terms(asked, history, lexicon), history)
                 if self._model is None else [])
        extra = [t for t in dict.fromkeys(extra) if t not in mine]
        extra = [t for t in extra if t not in set(self.vectors.cached(extra))]
        encoded = self.embedder.encode(mine + extra)
        self.vectors.put(mine + extra, np.stack([e.vector for e in encoded]))
        vec = {t: e for t, e in zip(mine, encoded, strict=False)}
        if not history:
            return Query(q, question, (question,), (vec[question].vector,), None, vec[asked])
        ctx = vec[standalone].vector
        return Query(q, standalone, (question, standalone), (vec[question].vector, ctx), ctx,
                     vec[asked])

    def lexicon(self) -> Lexicon:
        """The lexicon of the chunks the BM25 index was built from: it follows that cache (which
        already checks the index version) instead of asking the store a second time."""
        return self._lexicon_of(self.retriever.bm25())

    def _lexicon_of(self, bm25: Bm25Index) -> Lexicon:
        cached = self._lexicon
        if cached is None or cached[0] is not bm25:
            cached = (bm25, Lexicon(bm25.chunks))
            self._lexicon = cached
        return cached[1]


@dataclass(frozen=True)
class Query:
    question: Question  # the question as the offline answerer reads it
    standalone: str  # what is retrieved
    texts: tuple[str, ...]  # for BM25
    vectors: tuple  # for vector search; [0] is the question itself
    context_vector: object  # question + history, or None
    asked: Encoded  # the question, follow-up pronouns resolved, with its token states


def answer_from_pick(question: str, standalone: str, chosen: Pick) -> Answer:
    if not chosen.supported:
        return no_answer(question, standalone, notice=chosen.why)
    citations: list[Citation] = []
    sentences: list[Sentence] = []
    before = None  # the sentence shown before, as a Candidate
    for n, cand in enumerate(chosen.sentences, start=1):
        citations.append(citation_for(n, cand.chunk, cand.span.start, cand.span.end))
        shown = _readable(cand, before, first=n == 1)  # the quote stays cand.span, exactly
        sentences.append(Sentence(with_marker(shown, [n]), (n,), True))
        before = cand
    return Answer(question=question, text=" ".join(s.text for s in sentences), supported=True,
                  citations=citations, sentences=sentences, standalone_question=standalone)


def _readable(cand: Candidate, before: Candidate | None, first: bool) -> str:
    """A quoted sentence as the answer shows it: a pronoun subject named in brackets when the
    sentence that names it is not shown just before ("[Zelenskyy] insisted ..."), and the first
    sentence without an opening connective that tied it to the source sentence before it."""
    shown = cand.text
    named_just_before = (before is not None and cand.named_in is not None
                         and (before.chunk.source, before.span) == (cand.named_in.chunk.source,
                                                                    cand.named_in.span))
    if not named_just_before:
        shown = named_subject(shown, cand.previous,
                              cand.chunk.text[: cand.span.start - cand.chunk.start])
    return without_connective(shown) if first else shown


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty: type a question about your documents")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is "
                            f"{MAX_QUESTION_CHARS:,}: ask something shorter")
    return question


def _check_history(history: Sequence[str] | None) -> list[str]:
    """The earlier questions, oldest first: a list of strings (a string alone is one mistake away
    from being read as a list of characters)."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
        raise QuestionError("history must be a list of earlier questions (strings), oldest first")
    if not all(isinstance(h, str) for h in history):
        raise QuestionError("history must be a list of earlier questions (strings), oldest "
                            "first: it holds something else")
    return [h for h in history if h.strip()]


def _language_notice(answer: Answer) -> Answer:
    """A refusal of a question in another language says that qa reads English."""
    if answer.supported:
        return answer
    language = foreign_language(answer.question)
    if language is None:
        return answer
    return dataclasses.replace(answer, notice=english_only_notice(language))


# --- module-level conveniences: one shared Engine per settings ----------------------------------
_engines: dict[Settings, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or Settings.from_env()
    with _engines_lock:
        if settings not in _engines:
            _engines[settings] = Engine.from_settings(settings)
        return _engines[settings]


def answer(question: str, history: Sequence[str] | None = None, *,
           sources: Sequence[str] | None = None, settings: Settings | None = None,
           engine: Engine | None = None) -> Answer:
    """Answers `question` from the documents in seeds/, with citations; see `Answer`.
    `sources`: the files it covers (names relative to seeds/; default all)."""
    return (engine or get_engine(settings)).answer(question, history, sources)


def answer_stream(question: str, history: Sequence[str] | None = None, *,
                  sources: Sequence[str] | None = None, settings: Settings | None = None,
                  engine: Engine | None = None) -> Iterator[str | Answer]:
    return (engine or get_engine(settings)).answer_stream(question, history, sources)


def verify(answer: Answer, *, settings: Settings | None = None) -> list[CitationCheck]:
    """Re-checks every citation of `answer` against the current source files."""
    settings = settings or Settings.from_env()
    return verify_citations(answer, settings.seeds_dir)

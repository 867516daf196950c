"""Question sets with what the offline answerer makes of each case, for the fitting scripts.

A set is a `qa eval` .jsonl file. It asks about `seeds/` unless a document of the same name lies
beside it: `eval/other/b1a1.jsonl` asks about `eval/other/b1a1.txt` alone (the sets written over
other documents, to fit and check what must carry over to any document, not just the seed article).
Each document gets its own index in a scratch folder; the embedding model is loaded once.
"""

from __future__ import annotations

import pickle
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from library import build_library  # noqa: E402

from qa.api import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import Case as EvalCase  # noqa: E402
from qa.evaluate import holds, load_cases  # noqa: E402
from qa.offline.answer_model import CASE_FEATURES, AnswerModel  # noqa: E402
from qa.offline.extractive import Analysis, analyse  # noqa: E402
from qa.offline.features import FEATURES  # noqa: E402
from qa.store.chroma import Store  # noqa: E402
from qa.store.embed import Embedder  # noqa: E402


@dataclass(frozen=True)
class Case:
    source: str  # the .jsonl it came from
    case: EvalCase
    analysis: Analysis
    right: np.ndarray  # per candidate: holds every answer group


def placeholder_model() -> AnswerModel:
    """Any weights: collecting cases asks the answerer for its features, not for answers."""
    n = len(CASE_FEATURES)
    return AnswerModel(np.zeros(len(FEATURES)), np.zeros(n + 1), np.zeros(n), np.ones(n), 0.0, 0.3)


def corpus_of(path: Path) -> Path | None:
    """The one document a set asks about, or None for seeds/."""
    doc = path.with_suffix(".txt")
    return doc if doc.exists() else None


class Engines:
    """One Engine per corpus (seeds/, or one document), sharing the embedding model; or, with
    `library`, one Engine over that folder for every set (each set's document among all others)."""

    def __init__(self, scratch: Path, model: AnswerModel, library: Path | None = None) -> None:
        self._scratch = scratch
        self._model = model
        self._embedder = Embedder()
        self._engines: dict[Path | None, Engine] = {}
        self._library = library

    def for_set(self, path: Path) -> Engine:
        if self._library is not None:
            return self._engine(None, self._library)
        doc = corpus_of(path)
        return self._engine(doc, None)

    def _engine(self, doc: Path | None, seeds_dir: Path | None) -> Engine:
        if doc not in self._engines:
            settings = Settings.from_env()
            if seeds_dir is not None:
                settings = settings.with_(seeds_dir=seeds_dir)
            name = "seeds" if doc is None else doc.stem
            settings = settings.with_(index_dir=self._scratch / name / "index")
            if doc is not None:
                seeds = self._scratch / name / "seeds"
                seeds.mkdir(parents=True, exist_ok=True)
                shutil.copy(doc, seeds / doc.name)
                settings = settings.with_(seeds_dir=seeds)
            engine = Engine(settings, Store.open(settings.index_dir, settings.chroma_url),
                            self._embedder, self._model)
            engine.refresh()
            self._engines[doc] = engine
        return self._engines[doc]


def make_engines(scratch: Path, model: AnswerModel, library: bool) -> Engines:
    """Engines in `scratch`: with `library`, every set asked in one library of all documents
    (bench/library.py, copied into scratch/library), as the benchmarks ask."""
    folder = None
    if library:
        folder = scratch / "library"
        build_library(folder)
    return Engines(scratch, model, folder)


def collect(engines: Engines, paths: list[Path]) -> list[Case]:
    """Every case of `paths` as the answerer sees it."""
    out = []
    for path in paths:
        engine = engines.for_set(path)
        for case in load_cases(path):
            q, history = case.turns[-1], case.turns[:-1]
            passages, query = engine.retrieve(q, history)
            a = analyse(query.question, passages, query.asked, query.vectors[0],
                        query.context_vector, engine.vectors, engine.lexicon())
            right = np.array([case.answerable and holds(c.text, case.answers)
                              for c in a.candidates], dtype=bool)
            out.append(Case(str(path), case, a, right))
    return out


def library_cases(sets: list[Path], scratch: Path, cache: Path | None = None) -> list[Case]:
    """Every case of `sets` asked in the library of all documents (index in `scratch`). With
    `cache`: read from that pickle if it exists, else collected and written there, as
    (set paths, cases): the file `training/cross_encoder.py` reads (`read_cache`)."""
    if cache is not None and cache.exists():
        return read_cache(cache)[1]
    cases = collect(make_engines(scratch, placeholder_model(), True), sets)
    if cache is not None:
        cache.write_bytes(pickle.dumps(([str(p) for p in sets], cases)))
    return cases


def read_cache(cache: Path) -> tuple[list[str], list[Case]]:
    """The (set paths, cases) that `library_cases` pickled."""
    return pickle.loads(cache.read_bytes())


def kind(c: Case) -> str:
    """What a case asks about, by its set's folder: `other` (news articles), `genres`, `genres2`
    (documents of other genres), or `seed` (the seed article)."""
    folder = Path(c.source).parent.name
    return folder if folder in ("other", "genres", "genres2") else "seed"

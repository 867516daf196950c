"""What a change to the ranker's inputs would gain, cross-validated on the fitting sets in the library.

    python training/ranker_variants.py $SETS --work /tmp/fitwork --cache /tmp/cases.pkl \
        --cross-scores /tmp/oof.npz          # from training/cross_encoder.py --cv 4

Each variant changes the cases the answerer sees (extra feature columns, another reading of a
line), then `calibrate.cross_validate` refits the ranker and abstainer on 3 of 4 groups of sets
and measures on the fourth, as `training/calibrate.py --library --cv --folds 4` does for the
shipped features. Variants:
- `cross`: the cross-encoder's out-of-fold score (training/cross_encoder.py), raw and as the gap
  to the question's best;
- `context`: the sentence read under its document's title and section heading (the title line
  and the nearest heading above it): the cosine of the question and "title / heading: sentence",
  the share of the question's words in both, and the share found only in the context;
- `context+cross`: both;
- `data-lines`: table rows, "Key: value" lines and list items are not headings (the shipped
  reading calls every line that does not end like a sentence a heading: "Rent:  £1,185 per
  calendar month" is one);
- `key-lines`: for a "Key: value" line, the share of the key's words the question uses;
- `missing-in-documents`: a question name counts as missing only if the documents of the
  retrieved passages never use it (shipped: the retrieved passages);
- `--alone`: how often the cross-encoder alone puts a right sentence first, beside the shipped
  ranker (which was fitted on some of these cases);
- `--losses`: where the answerable questions are lost with the shipped features (no right
  sentence in the shortlist, not ranked first, overruled by a check, refused), per kind;
- `--gbdt`: besides, how often a gradient-boosted ranker over the same columns (and `cross`,
  `context`) puts a right sentence first, against the linear ranker, per kind of document.
A fitting-set diagnostic: never run it on sealed sets.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate import RANK_L2, cross_validate, fit_ranker  # noqa: E402
from casesets import Case, kind, library_cases  # noqa: E402

from qa.offline.features import FEATURES, Candidate, content_words  # noqa: E402
from qa.offline.questions import missing_names  # noqa: E402
from qa.sources.spans import Span, is_heading  # noqa: E402

DATA_LINE = re.compile(r"\||\S {2,}\S|\t|^\s*(?:[-*•]|\d+[.)])\s|^[^:\n]{1,40}:\s*\S")
KEY = re.compile(r"^\s*(?:[-*•]\s*)?([^:\n|]{2,40}?):\s*\S")
HEADING_CHARS = 120  # a longer line is no title


def with_columns(cases: list[Case], columns: list[list[np.ndarray]]) -> list[Case]:
    """`cases` with per-candidate columns appended to each feature matrix."""
    out = []
    for c, cols in zip(cases, columns, strict=True):
        m = c.analysis.matrix
        m = (np.hstack([m, np.stack(cols, 1)]) if len(m)
             else np.zeros((0, m.shape[1] + len(cols))))
        out.append(replace(c, analysis=replace(c.analysis, matrix=m)))
    return out


def cross(cases: list[Case], scores: np.lib.npyio.NpzFile) -> list[Case]:
    cols = []
    for i in range(len(cases)):
        s = scores[f"arr_{i}"]
        cols.append([s, s - (s.max() if len(s) else 0.0)])
    return with_columns(cases, cols)


class Documents:
    """The library's documents, and where their headings are (read once per document)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._texts: dict[str, str] = {}
        self._headings: dict[str, tuple[str, list[tuple[int, str]]]] = {}

    def text(self, name: str) -> str:
        if name not in self._texts:
            self._texts[name] = (self._folder / name).read_text(encoding="utf-8")
        return self._texts[name]

    def context(self, source: str, start: int, sentence: str) -> str:
        """The document's title line and the nearest heading above `start`, if they are not in
        the sentence itself."""
        title, headings = self._headings_of(source)
        section = ""
        for at, line in headings:
            if at >= start:
                break
            section = line
        parts = [p for p in (title, section) if p and p not in sentence]
        return " / ".join(dict.fromkeys(parts))

    def read_under(self, c: Candidate) -> str:
        """The candidate's resolved sentence under its context: "title / heading: sentence"."""
        around = self.context(c.chunk.source, c.span.start, c.text)
        return f"{around}: {c.resolved}" if around else c.resolved

    def _headings_of(self, source: str) -> tuple[str, list[tuple[int, str]]]:
        """(the title line or "", the heading lines after it with their offsets)."""
        if source not in self._headings:
            text = self.text(source)
            lines, at = [], 0
            for line in text.split("\n"):
                lines.append((at, line))
                at += len(line) + 1

            def heading(where: int, line: str) -> bool:
                stripped = line.strip()
                return (bool(stripped) and len(stripped) < HEADING_CHARS
                        and is_heading(text, Span(where, where + len(line.rstrip()))))

            first = next(((a, line) for a, line in lines if line.strip()), (0, ""))
            title = first[1].strip() if heading(*first) else ""
            self._headings[source] = (title, [(a, line.strip()) for a, line in lines
                                              if a > first[0] and heading(a, line)])
        return self._headings[source]


def context(cases: list[Case], docs: Documents) -> list[Case]:
    from qa.config import Settings
    from qa.store.embed import Embedder
    from qa.store.onnx_embed import OnnxEmbedder

    embedder = Embedder()
    try:
        bulk = OnnxEmbedder.load(Settings.from_env().model_dir, embedder)
    except Exception:  # noqa: BLE001 - any failure: the slower NumPy embedder does the same
        bulk = embedder
    vectors = bulk.embed([docs.read_under(x) for c in cases for x in c.analysis.candidates])
    questions = embedder.embed([c.analysis.question.asked for c in cases])
    cols, at = [], 0
    for i, c in enumerate(cases):
        n = len(c.analysis.candidates)
        sim = vectors[at:at + n] @ questions[i]
        at += n
        asked = set(content_words(c.analysis.question.asked))
        both, only = [], []
        for x in c.analysis.candidates:
            ctx = docs.context(x.chunk.source, x.span.start, x.text)
            said, around = set(content_words(x.resolved)), set(content_words(ctx))
            both.append(len(asked & (said | around)) / max(len(asked), 1))
            only.append(len((asked & around) - said) / max(len(asked), 1))
        cols.append([sim, np.array(both), np.array(only)])
    return with_columns(cases, cols)


def data_lines(cases: list[Case]) -> list[Case]:
    h, asked = FEATURES.index("heading"), FEATURES.index("heading_asked")
    out = []
    for c in cases:
        cands = tuple(replace(x, heading=x.heading and not DATA_LINE.search(x.text))
                      for x in c.analysis.candidates)
        m = c.analysis.matrix.copy()
        if len(m):
            m[:, h] = [float(x.heading) for x in cands]
            m[:, asked] = m[:, h] * c.analysis.question.asks_heading
        out.append(replace(c, analysis=replace(c.analysis, candidates=cands, matrix=m)))
    return out


def key_lines(cases: list[Case]) -> list[Case]:
    import Stemmer

    stem = Stemmer.Stemmer("english").stemWord
    cols = []
    for c in cases:
        asked = {stem(w) for w in content_words(c.analysis.question.asked)}
        col = []
        for x in c.analysis.candidates:
            m = KEY.match(x.text)
            key = {stem(w) for w in content_words(m.group(1))} if m else set()
            col.append(len(key & asked) / len(key) if key else 0.0)
        cols.append([np.array(col)])
    return with_columns(cases, cols)


class _Text:  # what missing_names reads of a passage
    def __init__(self, text: str) -> None:
        self.text = text


def missing_in_documents(cases: list[Case], docs: Documents) -> list[Case]:
    out = []
    for c in cases:
        names = sorted({x.chunk.source for x in c.analysis.candidates})
        missing = (missing_names(c.analysis.question.text, [_Text(docs.text(n)) for n in names])
                   if c.analysis.missing else ())
        out.append(replace(c, analysis=replace(c.analysis, missing=missing)))
    return out


def _kind(c: Case) -> str:
    """`casesets.kind`, with both genre folders as one."""
    k = kind(c)
    return "genres" if k.startswith("genres") else k


def cross_alone(cases: list[Case], scores: np.lib.npyio.NpzFile, sets: list[Path],
                folds: int) -> None:
    """How often the cross-encoder's own first choice is right, beside the shipped ranker's and
    beside the linear ranker refitted on the same folds as the cross-encoder (shipped features)."""
    from qa.offline.answer_model import AnswerModel

    shipped = AnswerModel.load()
    tally: dict[str, list[int]] = {k: [0, 0, 0, 0] for k in ("seed", "other", "genres")}
    for fold in range(folds):
        held = {str(p) for p in sets[fold::folds]}
        scored = [i for i, c in enumerate(cases)
                  if c.source in held and c.right.any() and len(scores[f"arr_{i}"])]
        if not scored:  # a fold cross_encoder.py --only-fold left out
            continue
        linear = fit_ranker([c for c in cases if c.source not in held], RANK_L2)
        for i in scored:
            c = cases[i]
            t = tally[_kind(c)]
            t[0] += 1
            t[1] += bool(c.right[np.argmax(scores[f"arr_{i}"])])
            t[2] += bool(c.right[np.argmax(shipped.rank(c.analysis.matrix)[0])])
            t[3] += bool(c.right[np.argmax(c.analysis.matrix @ linear)])
    for k, (n, alone, ranker, refit) in tally.items():
        if n:
            print(f"cross alone {k}, {n} answerable cases with a right candidate: a right "
                  f"sentence first: cross-encoder {alone / n:.1%}, shipped ranker {ranker / n:.1%}"
                  f", ranker refitted on the same folds {refit / n:.1%}")


def gbdt_ranking(cases: list[Case], sets: list[Path], folds: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    def rows(c: Case) -> np.ndarray:
        x = c.analysis.matrix
        return np.hstack([x, x - x.max(0, keepdims=True)]) if len(x) else x

    tally: dict[str, list[int]] = {k: [0, 0, 0] for k in ("seed", "other", "genres")}
    for fold in range(folds):
        held = {str(p) for p in sets[fold::folds]}
        train = [c for c in cases if c.source not in held and len(c.analysis.candidates)]
        linear = fit_ranker(train, RANK_L2)
        model = HistGradientBoostingClassifier(
            max_iter=300, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0,
            random_state=0).fit(np.vstack([rows(c) for c in train]),
                                np.concatenate([c.right for c in train]))
        for c in cases:
            if c.source in held and c.right.any():
                t = tally[_kind(c)]
                t[0] += 1
                t[1] += bool(c.right[np.argmax(c.analysis.matrix @ linear)])
                t[2] += bool(c.right[np.argmax(model.predict_proba(rows(c))[:, 1])])
    for k, (n, lin, boosted) in tally.items():
        if n:
            print(f"gbdt {k}, {n} answerable cases with a right candidate: a right sentence "
                  f"first: linear {lin / n:.1%}, gradient-boosted {boosted / n:.1%}")


def losses(cases: list[Case], sets: list[Path], folds: int) -> None:
    """Where the answerable questions are lost, per kind of document, out of fold."""
    from collections import Counter

    from calibrate import fit

    from qa.evaluate import holds
    from qa.offline.extractive import answer_sentences, choose

    tally: dict[str, Counter[str]] = {k: Counter() for k in ("seed", "other", "genres")}
    for fold in range(folds):
        held = {str(p) for p in sets[fold::folds]}
        model = fit([c for c in cases if c.source not in held])
        for c in cases:
            if c.source not in held or not c.case.answerable:
                continue
            t = tally[_kind(c)]
            t["cases"] += 1
            if not c.right.any():
                t["no right sentence in the shortlist"] += 1
                continue
            choice = choose(c.analysis, model)
            answered = not choice.reasons and choice.confidence >= 0
            text = " ".join(s.text for s in answer_sentences(c.analysis, choice))
            if answered and holds(text, c.case.answers):
                t["answered right"] += 1
            elif not c.right[choice.rows[0]]:
                t["a right one, not ranked first"] += 1
            elif choice.reasons:
                t["ranked first, overruled by a check"] += 1
            else:
                t["ranked first, refused by the abstainer"] += 1
    for k, t in tally.items():
        n = t.pop("cases", 0)
        if n:
            print(f"losses {k}, {n} answerable cases: " + ", ".join(
                f"{what} {v / n:.1%}" for what, v in sorted(t.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, default=None, help="keep the library's index here")
    ap.add_argument("--cache", type=Path, default=None,
                    help="the collected cases, pickled (made if missing; cross_encoder.py reads it)")
    ap.add_argument("--cross-scores", type=Path, default=None,
                    help="out-of-fold scores from training/cross_encoder.py --cv 4")
    ap.add_argument("--variants", nargs="*", default=None)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--gbdt", action="store_true")
    ap.add_argument("--alone", action="store_true",
                    help="with --cross-scores: the cross-encoder's own first choice, how often right")
    ap.add_argument("--losses", action="store_true",
                    help="where the answerable questions are lost, shipped features")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = args.work or Path(tmp)
        cases = library_cases(args.sets, scratch, args.cache)
        docs = Documents(scratch / "library")
        contextual = functools.cache(lambda: context(cases, docs))  # ~3 min: once a run
        variants: dict[str, Callable[[], list[Case]]] = {
            "shipped": lambda: cases,
            "data-lines": lambda: data_lines(cases),
            "key-lines": lambda: key_lines(cases),
            "missing-in-documents": lambda: missing_in_documents(cases, docs),
            "context": contextual,
        }
        if args.cross_scores:
            scores = np.load(args.cross_scores)
            variants["cross"] = lambda: cross(cases, scores)
            variants["context+cross"] = lambda: cross(contextual(), scores)
        for name in list(variants) if args.variants is None else args.variants:
            print(f"== {name}", flush=True)
            cross_validate(variants[name](), args.sets, args.folds)
        if args.alone and args.cross_scores:
            cross_alone(cases, np.load(args.cross_scores), args.sets, args.folds)
        if args.losses:
            losses(cases, args.sets, args.folds)
        if args.gbdt:
            extended = contextual()
            if args.cross_scores:
                extended = cross(extended, np.load(args.cross_scores))
            gbdt_ranking(extended, args.sets, args.folds)


if __name__ == "__main__":
    main()

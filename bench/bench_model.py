"""Issue 15 figures: the model path (QA_BACKEND=openai) with a real local model, beside the
offline answerer on the same questions.

A llama.cpp server (`qa.model.llama_server`, xllamacpp) is started on 127.0.0.1 with the reader
model's GGUF (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, checked by `qa.offline.weights.model_file`), and
the Engine asks it over HTTP like any OpenAI-compatible endpoint, streaming. `eval/heldout.jsonl`
is asked over the seed article alone, the eval/other sets in the 31-document library (the seed
article, eval/other, eval/sealed_docs; bench/library.py). Per set and backend:

- answers / abstention: as `qa eval` scores them (qa.evaluate);
- unsupported shown as supported: a supported sentence in the answer to an unanswerable
  question, or a supported sentence whose cited quotes lack one of its names or numbers;
- rescued: sentences the model left unmarked or mis-cited that the cite step attributed;
- fallbacks: answers where the model failed and the extractive answer was shown instead;
- latency of `answer_stream`: time to the first piece of text and to the checked Answer.

`--judge` (QA_JUDGE; default auto, as shipped): with the reader model installed, the offline
answerer reads with it and the model path checks each cited span with it (`qa.model.cite`).

    .venv/bin/python bench/bench_model.py --limit 20          # both backends, the default sets
    .venv/bin/python bench/bench_model.py --backend openai --limit 20 \
        --answer-prompt prompts/variants/long.md          # another answer prompt

Not for the sealed sets (unseen_i, unseen_j, eval/sealed_genres): they are kept for another
measurement and refused here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.api import Engine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import EvalReport, load_cases, run  # noqa: E402
from qa.model.llama_server import LlamaServer  # noqa: E402
from qa.model.support import lowercase_words, read_claim, verdict  # noqa: E402
from qa.offline.weights import QWEN_1_5B, model_file  # noqa: E402
from qa.store.chroma import Store  # noqa: E402
from qa.store.embed import Embedder  # noqa: E402
from qa.types import Answer  # noqa: E402

from library import SEED_AND_OTHERS, build_library  # noqa: E402  (bench/library.py)

SEED_SET = ROOT / "eval" / "heldout.jsonl"
LIBRARY_SETS = [ROOT / "eval" / "other" / f"{name}.jsonl" for name in ("b1a1", "b3a3")]
SEALED = {"unseen_i", "unseen_j"}


@dataclass
class Timings:
    first: list[float] = field(default_factory=list)  # seconds to the first piece of text
    total: list[float] = field(default_factory=list)  # seconds to the checked Answer


@dataclass(frozen=True)
class SetResult:
    name: str
    backend: str
    report: EvalReport
    timings: Timings


def spread(cases: list, limit: int) -> list:  # type: ignore[type-arg]
    """`limit` cases spread evenly over the set (the sets list answerable cases first, so the
    first N would have no unanswerable ones); all of them when limit is 0 or larger."""
    if not limit or limit >= len(cases):
        return cases
    return [cases[i * len(cases) // limit] for i in range(limit)]


def timed_answers(engine: Engine, timings: Timings):  # type: ignore[no-untyped-def]
    """answer_fn for qa.evaluate.run: consumes the stream, records when text came and ended."""

    def answer(question: str, history: list[str]) -> Answer:
        started = time.perf_counter()
        first = None
        final = None
        for item in engine.answer_stream(question, history):
            if isinstance(item, Answer):
                final = item
            elif first is None and item.strip():
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        timings.total.append(total)
        timings.first.append(total if first is None else first)
        print(f"  {len(timings.total)}: {total:.1f} s", file=sys.stderr, flush=True)
        assert final is not None
        return final

    return answer


def unsupported_shown(report: EvalReport) -> tuple[int, int]:
    """(supported sentences in answers to unanswerable questions, supported sentences whose
    quotes lack one of their names or numbers)."""
    on_unanswerable = lacking = 0
    for r in report.results:
        a = r.answer
        if a is None or not a.supported:
            continue
        for s in a.sentences:
            if not s.supported:
                continue
            if not r.case.answerable:
                on_unanswerable += 1
            quotes = " ".join(a.citations[n - 1].quote for n in s.citations)
            claim = read_claim(re.sub(r"\s*\[\d+\]", "", s.text),
                               a.standalone_question or a.question, lowercase_words(quotes))
            lacking += not verdict(claim, quotes).complete
    return on_unanswerable, lacking


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    value = statistics.median(ordered) if q == 0.5 else ordered[int(q * (len(ordered) - 1))]
    return f"{value:.1f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def row(name: str, backend: str, report: EvalReport, timings: Timings) -> str:
    s = report.summary()
    abstention = f"{report.abstention_accuracy:.0%}" if s["unanswerable"] else "-"
    unans, lacking = unsupported_shown(report)
    rescued = sum(r.answer.rescued for r in report.results if r.answer)
    fallbacks = sum(1 for r in report.results
                    if r.answer and backend == "openai" and r.answer.backend != "openai")
    return (f"| {name} | {backend} | {s['cases']} ({s['answerable']}/{s['unanswerable']}) | "
            f"{report.answer_accuracy:.0%} | {report.answerable_refused:.0%} | "
            f"{abstention} | {unans} / {lacking} | {rescued} | {fallbacks} | "
            f"{report.exact_quote_share:.0%} | {_ms(timings.first, 0.5)} / "
            f"{_ms(timings.first, 0.95)} | {_ms(timings.total, 0.5)} / "
            f"{_ms(timings.total, 0.95)} |")


HEADER = ("| set | backend | cases (answerable/not) | answers | answerable refused | abstention "
          "| unsupported shown as supported (unanswerable / lacking names) | rescued | fallbacks "
          "| exact quotes | first text median / p95 | total median / p95 |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed-sets", nargs="*", type=Path, default=[SEED_SET],
                    help="sets asked over the seed article alone")
    ap.add_argument("--library-sets", nargs="*", type=Path, default=LIBRARY_SETS,
                    help="sets asked in the 31-document library")
    ap.add_argument("--limit", type=int, default=0,
                    help="N cases of each set, spread evenly over it (0: all)")
    ap.add_argument("--backend", choices=["openai", "extractive", "both"], default="both")
    ap.add_argument("--model", type=Path, default=None,
                    help="a .gguf file (default: the reader model, Qwen2.5-Coder-1.5B, checked)")
    ap.add_argument("--answer-prompt", type=Path, default=None,
                    help="another answer prompt to measure instead of prompts/answer.md "
                         "(e.g. prompts/variants/long.md)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--judge", choices=["auto", "local", "off"], default="auto",
                    help="the reader model (QA_JUDGE): it reads for the offline answerer and "
                         "checks the model's citations; auto (as shipped) uses it if installed")
    ap.add_argument("--unanswerable", action="store_true",
                    help="only the unanswerable cases of each set (the bar: none gets a "
                         "supported sentence)")
    ap.add_argument("--details", type=Path, default=None,
                    help="write every case's answer here, one JSON line each")
    args = ap.parse_args()
    for path in [*args.seed_sets, *args.library_sets]:
        if path.stem in SEALED or "sealed_genres" in path.parts:
            ap.error(f"{path} is sealed for another measurement")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    backends = ["extractive", "openai"] if args.backend == "both" else [args.backend]
    embedder = Embedder()
    results: list[SetResult] = []
    server = None
    model_name = ""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            if "openai" in backends:
                path = args.model or model_file(QWEN_1_5B, Settings.from_env().model_dir)
                started = time.perf_counter()
                server = LlamaServer.start(path, threads=args.threads)
                model_name = path.stem
                print(f"llama.cpp serving {path.name} at {server.base_url} "
                      f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
            prompts = ROOT / "prompts"
            if args.answer_prompt:  # prompts/ with answer.md replaced
                prompts = Path(scratch) / "prompts"
                shutil.copytree(ROOT / "prompts", prompts)
                shutil.copy(args.answer_prompt, prompts / "answer.md")
            seed = Path(scratch) / "seed"
            build_library(seed, (ROOT / "seeds",))
            library = Path(scratch) / "library"
            docs = build_library(library, SEED_AND_OTHERS)
            print(f"library: {docs} documents", file=sys.stderr)
            groups = [(seed, args.seed_sets), (library, args.library_sets)]
            for backend in backends:
                for folder, sets in groups:
                    if not sets:
                        continue
                    settings = Settings.from_env().with_(
                        seeds_dir=folder, index_dir=folder.with_name(folder.name + "-index"),
                        backend=backend, judge=args.judge, prompts_dir=prompts, timeout=600.0,
                        base_url=server.base_url if server else "", model=model_name or "none",
                        api_key="")
                    engine = Engine(settings, Store.open(settings.index_dir, ""), embedder)
                    engine.refresh()
                    engine.answer("What is this about?")  # warm: index loaded, model paged in
                    for set_path in sets:
                        cases = load_cases(set_path)
                        if args.unanswerable:
                            cases = [c for c in cases if not c.answerable]
                        cases = spread(cases, args.limit)
                        timings = Timings()
                        report = run(cases, timed_answers(engine, timings), engine.source_text)
                        results.append(SetResult(set_path.stem, backend, report, timings))
                        if args.details:
                            with args.details.open("a", encoding="utf-8") as out:
                                for r in report.results:
                                    out.write(json.dumps({
                                        "set": set_path.stem, "backend": backend, "id": r.case.id,
                                        "turns": r.case.turns, "answerable": r.case.answerable,
                                        "correct": r.correct, "error": r.error,
                                        "answer": r.answer.to_dict() if r.answer else None}) + "\n")
                        print(row(set_path.stem, backend, report, timings), file=sys.stderr)
        finally:
            if server is not None:
                server.close()
    print(HEADER)
    for r in results:
        print(row(r.name, r.backend, r.report, r.timings))
    for backend in backends:
        mine = [r for r in results if r.backend == backend]
        joined = EvalReport([x for r in mine for x in r.report.results])
        both = Timings([t for r in mine for t in r.timings.first],
                       [t for r in mine for t in r.timings.total])
        print(row("all", backend, joined, both))


if __name__ == "__main__":
    main()

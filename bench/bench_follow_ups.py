"""Issue 17 figures: what leaving repeats out of follow-up answers does on the multi-turn cases of
the question sets over the seed article, and how many answers name a pronoun subject.

    .venv/bin/python bench/bench_follow_ups.py        # prints a Markdown table for BENCHMARKS.md

Each multi-turn case is answered on one engine (QA_JUDGE=off, a temp copy of seeds/ and a fresh
index) twice: with `without_repeats` switched off (as before) and as `qa` answers it now. A
citation "repeats" when an earlier answer of the same conversation (its earlier turns, answered
the same way) quoted that sentence too.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qa.api as api  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import Case, holds, load_cases  # noqa: E402
from qa.offline.quoted import Quoted  # noqa: E402
from qa.types import Answer  # noqa: E402

SETS = sorted((ROOT / "eval").glob("*.jsonl"))  # the sets over the seed article
NAMED = re.compile(r"\[[^\]\d][^\]]*\]")  # "[Zelenskyy]", not a marker "[1]"


def spans(a: Answer) -> set[tuple[str, int, int]]:
    return {(c.source, c.start, c.end) for c in a.citations}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cases: list[Case] = [c for s in SETS for c in load_cases(s) if len(c.turns) > 1]
    rule = api.without_repeats
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "seeds", Path(tmp) / "seeds")
        settings = Settings.from_env({"QA_SEEDS_DIR": str(Path(tmp) / "seeds"),
                                      "QA_INDEX_DIR": str(Path(tmp) / "index"),
                                      "QA_JUDGE": "off", "QA_BACKEND": "extractive"})
        engine = api.Engine.from_settings(settings)
        engine.refresh()
        for name, fn in (("before: repeats kept", lambda pick, given: pick), ("now", rule)):
            api.without_repeats = fn
            engine._quoted = Quoted()  # noqa: SLF001 - nothing remembered from the other run
            right = cited = repeated = mixed = named = 0
            for c in cases:
                earlier = [engine.answer(q, c.turns[:i]) for i, q in enumerate(c.turns[:-1])]
                a = engine.answer(c.turns[-1], c.turns[:-1])
                right += (a.supported and holds(a.text, c.answers)) if c.answerable \
                    else not a.supported
                cited += len(a.citations)
                again = spans(a) & set().union(*map(spans, earlier[-api.GIVEN_TURNS:]))
                repeated += len(again)
                mixed += bool(again) and again != spans(a)
                named += bool(NAMED.search(a.text))
            rows.append(f"| {name} | {right} of {len(cases)} | {cited} | {repeated} | {mixed} | "
                        f"{named} |")
        api.without_repeats = rule
    print(f"{len(cases)} multi-turn cases in {len(SETS)} sets over the seed article\n")
    print("| follow-up answers | correct | citations | citations repeating an earlier answer's "
          "| answers with a repeat beside a new sentence | answers naming a pronoun subject |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

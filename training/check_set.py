"""Checks question sets written for fitting or measuring: one line per case, in `qa eval`'s
format, over the document beside the set (`x.jsonl` asks about `x.txt`).

    python training/check_set.py eval/genres2/*.jsonl

A case is refused when its evidence is not verbatim in the document, when an answer group has no
alternative inside the evidence, when an unanswerable case carries answers, or when ids repeat.
Prints one line per problem and exits 1 if there is any; this is what a set writer runs before
handing a set over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.evaluate import holds  # noqa: E402  (what makes an answer right, as `qa eval` counts it)


def problems(path: Path) -> list[str]:
    doc = path.with_suffix(".txt")
    if not doc.exists():
        return [f"{path}: no document {doc.name} beside it"]
    text = doc.read_text(encoding="utf-8")
    found: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path}:{n}"
        if not line.strip():
            found.append(f"{where}: empty line")
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as e:
            found.append(f"{where}: not JSON ({e})")
            continue
        cid = case.get("id")
        if not isinstance(cid, str) or cid in seen:
            found.append(f"{where}: missing or repeated id {cid!r}")
        seen.add(str(cid))
        turns, answers, evidence = case.get("turns"), case.get("answers"), case.get("evidence")
        if not (isinstance(turns, list) and turns and all(isinstance(t, str) and t.strip()
                                                          for t in turns)):
            found.append(f"{where}: turns must be a non-empty list of questions")
        if not isinstance(case.get("answerable"), bool):
            found.append(f"{where}: answerable must be true or false")
            continue
        if not case["answerable"]:
            if answers or evidence:
                found.append(f"{where}: an unanswerable case has no answers and no evidence")
            continue
        if not (isinstance(evidence, list) and evidence):
            found.append(f"{where}: an answerable case needs evidence")
            continue
        for e in evidence:
            if e not in text:
                found.append(f"{where}: evidence not verbatim in {doc.name}: {e!r}")
        if not (isinstance(answers, list) and answers):
            found.append(f"{where}: an answerable case needs answer groups")
            continue
        joined = "\n".join(evidence)
        for group in answers:
            if not (isinstance(group, list) and group and all(isinstance(a, str) for a in group)):
                found.append(f"{where}: each answer group is a non-empty list of strings")
            elif not holds(joined, [group]):
                found.append(f"{where}: no alternative of {group!r} occurs in the evidence")
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[0])
        return 2
    found = [p for arg in argv for p in problems(Path(arg))]
    for p in found:
        print(p)
    print(f"{len(argv)} set(s), {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

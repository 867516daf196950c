"""The `qa` command. Errors become one line on stderr and a non-zero exit; never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from qa.errors import QAError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="warning: %(message)s")
    try:
        return int(args.run(args) or 0)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Cited answers over the documents in seeds/.")
    sub = p.add_subparsers(dest="command", required=True)

    ix = sub.add_parser("index", help="build or update the index of seeds/")
    ix.add_argument("--rebuild", action="store_true", help="start from an empty index")
    ix.set_defaults(run=_index)

    ask = sub.add_parser("ask", help="answer a question, with citations")
    ask.add_argument("question")
    ask.add_argument("--history", action="append", default=[], metavar="EARLIER_QUESTION",
                     help="an earlier question of the conversation (repeat, oldest first)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(run=_ask)

    ver = sub.add_parser("verify", help="check a saved `qa ask --json` answer against the sources")
    ver.add_argument("file", type=Path)
    ver.set_defaults(run=_verify)

    ev = sub.add_parser("eval", help="score answers on a JSONL question set")
    ev.add_argument("file", type=Path)
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument("--details", action="store_true", help="list every case that failed")
    ev.set_defaults(run=_eval)
    return p


def _engine():  # type: ignore[no-untyped-def]
    from qa.api import Engine

    return Engine.from_settings()


def _print_warnings(warnings: tuple[str, ...] | list[str]) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def _index(args: argparse.Namespace) -> int:
    engine = _engine()
    report = engine.refresh(rebuild=args.rebuild)
    _print_warnings(report.warnings)
    print(f"indexed {report.files_indexed} file(s), {report.files_unchanged} unchanged, "
          f"{report.files_removed} removed, {report.files_skipped} skipped; "
          f"{report.chunks_embedded} chunk(s) embedded, {report.chunks_total} in the index")
    return 0


def _ask(args: argparse.Namespace) -> int:
    engine = _engine()
    answer = engine.answer(args.question, args.history)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    print(answer.text)
    for c in answer.citations:
        where = f"line {c.line_start}" if c.line_start == c.line_end else \
            f"lines {c.line_start}-{c.line_end}"
        if c.page:
            where = f"page {c.page}, {where}"
        print(f"\n[{c.n}] {c.source}, {where} (chars {c.start}-{c.end})\n    \"{c.quote}\"")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from qa.config import Settings
    from qa.cite import verify
    from qa.errors import SourceError
    from qa.types import Answer

    try:
        answer = Answer.from_dict(json.loads(args.file.read_text(encoding="utf-8")))
    except OSError as exc:
        raise SourceError(f"{args.file}: cannot be read ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"{args.file}: not an answer saved by `qa ask --json` ({exc})") from None
    checks = verify(answer, Settings.from_env().seeds_dir)
    for c in checks:
        print(f"[{c.n}] {c.source}: {c.status}" + (f" ({c.detail})" if c.detail else ""))
    bad = [c for c in checks if c.status != "ok"]
    print(f"{len(checks) - len(bad)} of {len(checks)} citation(s) match the sources")
    return 1 if bad else 0


def _eval(args: argparse.Namespace) -> int:
    from qa.evaluate import load_cases, run

    cases = load_cases(args.file)
    engine = _engine()
    report = run(cases, engine.answer, engine.source_text)
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>22}: {value}")
    if args.details:
        for r in report.results:
            if not (r.correct and (r.cited_evidence or not r.case.answerable)):
                text = r.error or (r.answer.text if r.answer else "")
                print(f"- {r.case.id} {r.case.turns[-1]!r}: {text[:160]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The `qa` command. Errors become one line on stderr and a non-zero exit; never a traceback."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from qa.app.progress import ProgressDisplay, one_line
from qa.errors import ConfigError, QAError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _log_to_stderr()
    try:
        _say_project_folder()
        return int(args.run(args) or 0)
    except QAError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# What qa's modules log that the command line must show, and not otherwise report: the one-time
# export of the embedding model (a ~10 s pause before the first progress line of a big index)
# and falling back to torch when it cannot be made. (The indexer's own warnings come back in its
# report and are printed from there.)
_TOLD = ("qa.store.onnx_embed", "qa.store.bulk")


class _Lines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        kind = "note" if record.levelno < logging.WARNING else "warning"
        return f"{kind}: {one_line(record.getMessage())}"


def _log_to_stderr() -> None:
    """Errors of any library; notes and warnings of `_TOLD`; one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lines())
    logging.basicConfig(level=logging.ERROR, handlers=[handler])
    for name in _TOLD:
        logging.getLogger(name).setLevel(logging.INFO)


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
    ask.add_argument("--source", action="append", default=[], metavar="FILE",
                     help="answer from this document only (a file in seeds/; repeat for "
                          "several; default: all)")
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

    ch = sub.add_parser("chat", help="open the web chat on http://127.0.0.1:7860")
    ch.add_argument("--host", help="address to listen on (default: QA_HOST, else 127.0.0.1)")
    ch.add_argument("--port", type=int, help="port to listen on (default: QA_PORT, else 7860)")
    ch.set_defaults(run=_chat)
    return p


def _say_project_folder() -> None:
    """Says which folder's seeds/ and index/ are used when it is not the current folder."""
    from qa.config import Settings

    settings = Settings.from_env()
    project = settings.project_dir
    if project is not None and project != Path.cwd().absolute():
        print(f"note: using {one_line(str(settings.seeds_dir))} and "
              f"{one_line(str(settings.index_dir))} (the current folder has no seeds/)",
              file=sys.stderr)


def citation_line(c) -> str:  # type: ignore[no-untyped-def]
    """`[n] file, line(s) (chars a-b)`: one line, whatever the file is called."""
    where = f"line {c.line_start}" if c.line_start == c.line_end else \
        f"lines {c.line_start}-{c.line_end}"
    if c.page:
        where = f"page {c.page}, {where}"
    return f"[{c.n}] {one_line(c.source)}, {where} (chars {c.start}-{c.end})"


def _engine(rebuild: bool = False):  # type: ignore[no-untyped-def]
    from qa.api import Engine

    return Engine.from_settings(rebuild=rebuild)


def _print_warnings(warnings: tuple[str, ...] | list[str]) -> None:
    for w in warnings:
        print(f"warning: {one_line(w)}", file=sys.stderr)


def _index(args: argparse.Namespace) -> int:
    engine = _engine(rebuild=args.rebuild)  # a corrupt index is moved aside before any read
    progress = ProgressDisplay(sys.stderr)  # a bar on a terminal, plain lines otherwise
    try:
        report = engine.refresh(on_progress=progress)
    finally:
        progress.close()
    _print_warnings(report.warnings)
    resumed = (f" ({report.chunks_resumed} found stored by an interrupted run)"
               if report.chunks_resumed else "")
    print(f"indexed {report.files_indexed} file(s), {report.files_unchanged} unchanged, "
          f"{report.files_removed} removed, {report.files_skipped} skipped; "
          f"{report.chunks_embedded} chunk(s) embedded{resumed}, {report.chunks_total} in the index")
    if report.files_upgraded:  # an index from before sentence vectors were kept
        print(f"sentence vectors stored for {report.files_upgraded} file(s) indexed by an older "
              "qa (answers come faster now)")
    return 0


def _ask(args: argparse.Namespace) -> int:
    engine = _engine()
    answer = engine.answer(args.question, args.history, args.source or None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if answer.notice:
        notice = one_line(answer.notice)  # it may name a file, and a file name may hold a newline
        print(notice if notice.startswith("warning:") else f"note: {notice}", file=sys.stderr)
    print(answer.text)
    for c in answer.citations:
        print(f"\n{citation_line(c)}\n    \"{c.quote}\"")
    if answer.closest:
        print("\nNot an answer; the closest passages found:")
        for c in answer.closest:
            print(f"\n{citation_line(c)}\n    \"{c.quote}\"")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from qa.cite import verify
    from qa.config import Settings
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
        print(f"[{c.n}] {one_line(c.source)}: {c.status}" + (f" ({c.detail})" if c.detail else ""))
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


# --- chat ----------------------------------------------------------------------------------------
def _chat(args: argparse.Namespace) -> int:
    """Builds or updates the index, then serves the chat until Ctrl+C."""
    from qa.config import Settings

    settings = Settings.from_env()
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    auth = chat_auth(settings.auth)
    warning = bind_warning(host, auth is not None)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    from qa.api import Engine
    from qa.app.ui import build_app  # imports gradio, with its analytics off

    engine = Engine.from_settings(settings)
    progress = ProgressDisplay(sys.stderr)
    try:
        report = engine.refresh(on_progress=progress)
    finally:
        progress.close()
    _print_warnings(report.warnings)
    # from now on, updates (an upload, a file changed in seeds/) run off the request path: a
    # question waits for one at most UPDATE_WAIT seconds, then is answered from what is indexed
    engine.update_in_background(UPDATE_WAIT)
    print(f"index: {report.files_seen} file(s), {report.chunks_total} chunk(s) from "
          f"{settings.seeds_dir} ({report.files_indexed} new or changed)")
    app = build_app(engine=engine)
    try:
        _, url, _ = app.queue().launch(
            server_name=host, server_port=port, auth=auth,
            max_file_size=int(settings.max_upload_mb * 1024 * 1024),
            prevent_thread_lock=True, quiet=True, ssr_mode=False, mcp_server=False, pwa=False,
            enable_monitoring=False, share=False, show_error=False,
            footer_links=["settings"],  # no "Use via API" or "Built with Gradio" for a reader
        )
    except OSError:
        raise ConfigError(f"cannot listen on {host}:{port}: the port is in use or not allowed; "
                          f"pass another --port or set QA_PORT") from None
    print(f"qa chat is running at {url}  (Ctrl+C to stop)", flush=True)
    app.block_thread()
    return 0


UPDATE_WAIT = 2.0  # seconds a chat question waits for an index update before it is answered


def chat_auth(value: str) -> tuple[str, str] | None:
    """QA_AUTH=user:password -> ("user", "password"); empty -> no login."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise ConfigError("QA_AUTH must look like user:password (both parts non-empty)")
    return user, password


def bind_warning(host: str, has_auth: bool) -> str:
    """A warning when the chat listens beyond this machine without a login, else ""."""
    import ipaddress

    if has_auth or host in ("localhost", ""):
        return ""
    try:
        local = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        local = False  # a host name: it may resolve to anything
    if local:
        return ""
    return (f"the chat listens on {host} without a login: anyone who can reach this machine can "
            f"read your documents; set QA_AUTH=user:password or use --host 127.0.0.1")


if __name__ == "__main__":
    sys.exit(main())

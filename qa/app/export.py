"""Copy and Export of one answer: plain text for the clipboard, Markdown for a file. Pure
functions of the `Answer` (the page's script only moves these texts)."""

from __future__ import annotations

import re

from qa.types import Answer, Citation

__all__ = ["CLOSEST_LABEL", "answer_markdown", "answer_plain_text", "export_name", "where"]

# Over the sentences a refusal shows: what came nearest, never to be read as the answer.
CLOSEST_LABEL = "Not an answer — the closest passages found"


def where(c: Citation) -> str:
    """Lines (and page) of a citation as the page shows them: `lines 3–4 · page 2`."""
    if c.line_start == c.line_end:
        lines = f"line {c.line_start}"
    else:
        lines = f"lines {c.line_start}–{c.line_end}"
    return f"{lines} · page {c.page}" if c.page else lines


def _where_plain(c: Citation) -> str:
    return where(c).replace("–", "-").replace(" · ", ", ")


def answer_plain_text(answer: Answer) -> str:
    """What Copy puts on the clipboard: the answer with its [n] markers, then its sources."""
    lines = [answer.text]
    if answer.notice:
        lines += ["", answer.notice]
    for title, quoted in _quoted(answer):
        lines += ["", f"{title}:"]
        lines += [f'[{c.n}] {c.source}, {_where_plain(c)}: "{c.quote}"' for c in quoted]
    return "\n".join(lines)


def _quoted(answer: Answer) -> list[tuple[str, list[Citation]]]:
    """The passages an answer's texts list, under their title: its sources, or, for a refusal,
    the closest passages, labelled as not an answer."""
    if answer.citations:
        return [("Sources", answer.citations)]
    if not answer.supported and answer.closest:
        return [(CLOSEST_LABEL, answer.closest)]
    return []


def answer_markdown(answer: Answer) -> str:
    """What Export downloads: the question, the answer, and each quote with file, line and page."""
    out = [f"# {_md_line(answer.question) or 'Question'}", "", answer.text, ""]
    if answer.notice:
        out += [f"*{_md_line(answer.notice)}*", ""]
    if not answer.supported:
        out += ["*Not in the sources.*", ""]
    for title, quoted in _quoted(answer):
        out += [f"## {title}", ""]
        for c in quoted:
            out.append(f"[{c.n}] `{c.source}`, {_where_plain(c)} (characters {c.start}-{c.end}):")
            out.append("")
            out += [f"> {line}" if line else ">" for line in c.quote.split("\n")]
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _md_line(text: str) -> str:
    return " ".join(text.split())


def export_name(question: str) -> str:
    """A file name for an exported answer from the question's first words:
    `qa-where-did-putin.md`."""
    words = re.findall(r"[A-Za-z0-9]+", question.lower())[:6]
    return "qa-" + ("-".join(words) or "answer") + ".md"

"""What the chat shows, as escaped HTML: answers with their citation links, the sources panel
(one card per quoted paragraph, the quote marked inside it), errors and notices. Pure functions of
a session's turns; `qa.app.ui` wires them to Gradio.

Every piece of source or answer text goes through `html.escape`, so a document that contains
`<script>` shows as text.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

from qa.app.conversations import Turn
from qa.app.export import CLOSEST_LABEL, answer_markdown, answer_plain_text, export_name, where
from qa.errors import NoDocumentsError, QAError
from qa.types import Answer, Citation

__all__ = ["assistant_message", "esc", "in_plain_words", "paragraph_around", "render_answer",
           "render_closest", "render_error", "render_messages", "render_sources",
           "render_streaming", "user_message"]

log = logging.getLogger(__name__)

_PARAGRAPH_LIMIT = 1200  # characters of context shown around a quote at most
_WRAPPED_LINE = 120  # lines longer than this are whole paragraphs, not hard-wrapped pieces of one


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _marker(turn: int, n: int) -> str:
    """A citation link; the page's script shows a preview of its quote on hover or focus (no
    `title`: the browser's own tooltip would cover that preview)."""
    return (f'<a class="qa-cite" href="#qa-src-{turn}-{n}" data-turn="{turn}" data-n="{n}" '
            f'aria-label="source {n}">[{n}]</a>')


_MARKERS_THEN_STOP = re.compile(r" ?((?:\[\d+\])+)([.!?,;:]+)")


def _linked(text: str, turn: int, numbers: set[int]) -> str:
    """Escaped text with each known `[n]` turned into a citation link. Shown after the sentence's
    full stop, as in print ("in Istanbul.[1]"): a marker pill before it leaves the stop
    detached ("Istanbul [1] ."). Copy and Export keep the answer's own text."""
    def after_stop(m: re.Match[str]) -> str:
        known = all(int(n) in numbers for n in re.findall(r"\d+", m.group(1)))
        return m.group(2) + m.group(1) if known else m.group(0)

    text = _MARKERS_THEN_STOP.sub(after_stop, text)
    out, pos = [], 0
    for m in re.finditer(r"\[(\d+)\]", text):
        n = int(m.group(1))
        if n in numbers:
            out += [esc(text[pos:m.start()]), _marker(turn, n)]
            pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def render_answer(answer: Answer, turn: int) -> str:
    """The chat bubble of one answer. Sentences without support are marked; unsupported answers
    get their own look."""
    notice = _notice(answer.notice)
    if not answer.supported:  # the notice says why, e.g. the model was down
        return (f'<div class="qa-answer qa-unsupported" data-turn="{turn}">'
                f'<span class="qa-badge">Not in the sources</span> {esc(answer.text)}'
                f'{_notice(_as_sentence(answer.notice))}{render_closest(answer, turn)}'
                f'{_actions(answer)}</div>')
    numbers = {c.n for c in answer.citations}
    body, pos = [], 0
    for sentence in answer.sentences:
        at = answer.text.find(sentence.text, pos)
        if sentence.supported or at < 0 or not sentence.text:
            continue
        body.append(_linked(answer.text[pos:at], turn, numbers))
        body.append(f'<span class="qa-weak" title="No cited passage supports this sentence">'
                    f'{_linked(sentence.text, turn, numbers)}</span>')
        pos = at + len(sentence.text)
    body.append(_linked(answer.text[pos:], turn, numbers))
    return (f'<div class="qa-answer" data-turn="{turn}">{"".join(body)}{notice}'
            f'{_actions(answer)}</div>')


def _actions(answer: Answer) -> str:
    """Copy and Export under an answer; the texts travel with the buttons (see chat.js)."""
    return (f'<div class="qa-actions" data-copy="{esc(answer_plain_text(answer))}" '
            f'data-markdown="{esc(answer_markdown(answer))}" '
            f'data-filename="{esc(export_name(answer.question))}">'
            '<button type="button" class="qa-copy">Copy</button>'
            '<button type="button" class="qa-export">Export</button></div>')


def _notice(text: str) -> str:
    """The line under an answer; a warning (a source's planted instruction repeated) stands out."""
    if not text:
        return ""
    if text.startswith("warning:"):
        return f'<div class="qa-notice qa-warning" role="alert">⚠ {esc(text)}</div>'
    return f'<div class="qa-notice">{esc(text)}</div>'


def in_plain_words(error: QAError) -> str:
    """An error's one line for the page: the engine's own, except where it speaks of folders that
    only the person running the server sees."""
    if isinstance(error, NoDocumentsError):
        return ("no documents in the library yet: add some in the Documents tab, or drop files "
                "on the chat")
    return str(error)


def render_error(message: str) -> str:
    return f'<div class="qa-error">⚠ {esc(message)}</div>'


def render_streaming(text: str) -> str:
    return f'<div class="qa-answer qa-streaming">{esc(text)}<span class="qa-caret">▍</span></div>'


_CLOSEST_LABEL = f"{CLOSEST_LABEL}:"


def render_closest(answer: Answer, turn: int) -> str:
    """Under a refusal: the sentences that came closest, each a link to its card (its place in
    the source), labelled so that nobody takes them for the answer."""
    if answer.supported or not answer.closest:
        return ""
    items = "".join(
        f'<li>{_near_marker(turn, c.n)} <q class="qa-closest-quote">{esc(c.quote)}</q> '
        f'<span class="qa-closest-where">{esc(c.source.rsplit("/", 1)[-1])}, {esc(where(c))}'
        f'</span></li>' for c in answer.closest)
    return (f'<div class="qa-closest" role="group" aria-label="Closest passages, not an answer">'
            f'<p class="qa-closest-title">{_CLOSEST_LABEL}</p><ol>{items}</ol></div>')


def _near_marker(turn: int, n: int) -> str:
    """A link to card `n` like a citation marker (the page's script opens it the same way),
    marked `qa-near` and looking different: what it points at is not an answer."""
    return _marker(turn, n).replace('class="qa-cite"', 'class="qa-cite qa-near"').replace(
        f'title="Show source {n}"', f'title="Show passage {n} (not an answer)"')


def _as_sentence(text: str) -> str:
    """"the sources never mention Macron" -> "The sources never mention Macron." (a warning or
    an empty notice as it is)."""
    if not text or text.startswith("warning:"):
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def paragraph_around(
    text: str, start: int, end: int, limit: int = _PARAGRAPH_LIMIT
) -> tuple[int, int]:
    """Offsets of the paragraph of `text` that holds text[start:end], clipped at whitespace to about
    `limit` characters around the span. A paragraph is the block between blank lines, unless that
    block has long lines (one paragraph per line, as in many text exports): then the line(s)."""
    a = text.rfind("\n\n", 0, start)
    a = 0 if a < 0 else a + 2
    b = text.find("\n\n", end)
    b = len(text) if b < 0 else b
    lines = text[a:b].split("\n")
    if b - a > limit or (len(lines) > 1 and max(map(len, lines)) > _WRAPPED_LINE):
        a = text.rfind("\n", 0, start) + 1
        b = text.find("\n", end)
        b = len(text) if b < 0 else b
    half = limit // 2
    if start - a > half:
        cut = text.find(" ", start - half, start)
        a = cut + 1 if cut >= 0 else start - half
    if b - end > half:
        cut = text.rfind(" ", end, end + half)
        b = cut if cut >= 0 else end + half
    return a, b


def _header(numbers: list[int], source: str, place: str) -> str:
    name = source.rsplit("/", 1)[-1]
    nums = "".join(f'<span class="qa-num">{n}</span>' for n in numbers)
    return (f'<header>{nums}<span class="qa-file" title="{esc(source)}">{esc(name)}</span>'
            f'<span class="qa-where">{place}</span></header>')


def _card_open(turn: int, numbers: list[int]) -> str:
    ns = " ".join(map(str, numbers))
    return f'<article class="qa-card" id="qa-src-{turn}-{numbers[0]}" data-n="{ns}">'


@dataclass
class _Group:
    """Citations whose quotes lie in one paragraph of one source: one card."""

    source: str
    start: int  # the paragraph shown
    end: int
    citations: list[Citation]


def _groups(citations: list[Citation], text: str) -> list[_Group]:
    groups: list[_Group] = []
    for c in citations:
        a, b = paragraph_around(text, c.start, c.end)
        for g in groups:
            if g.source == c.source and a < g.end and g.start < b:  # the same paragraph
                g.start, g.end = min(g.start, a), max(g.end, b)
                g.citations.append(c)
                break
        else:
            groups.append(_Group(c.source, a, b, [c]))
    return groups


def _marked(text: str, group: _Group, turn: int) -> str:
    """The group's paragraph, escaped, each quoted span in a <mark> that names its citation(s);
    overlapping quotes are cut at every boundary so each piece names all that cover it."""
    cuts = sorted({group.start, group.end, *(x for c in group.citations for x in (c.start, c.end))})
    out, anchored = [], {group.citations[0].n}
    for a, b in pairwise(cuts):
        piece = esc(text[a:b])
        ns = [c.n for c in group.citations if c.start <= a and b <= c.end]
        if not ns:
            out.append(piece)
            continue
        first = [n for n in ns if n not in anchored][:1]  # an element holds one id
        ids = "".join(f' id="qa-src-{turn}-{n}"' for n in first)
        anchored.update(first)
        out.append(f'<mark class="qa-quote" data-n="{" ".join(map(str, ns))}"{ids}>{piece}</mark>')
    before = "…" if group.start > 0 and text[group.start - 1] != "\n" else ""
    after = "…" if group.end < len(text) and text[group.end] != "\n" else ""
    return before + "".join(out) + after


def _group_where(g: _Group) -> str:
    first = min(c.line_start for c in g.citations)
    last = max(c.line_end for c in g.citations)
    pages = sorted({c.page for c in g.citations if c.page})
    return where(replace(g.citations[0], line_start=first, line_end=last,
                          page=pages[0] if pages else None))


def _cards(citations: list[Citation], turn: int, source_text: Callable[[str], str]) -> str:
    """One card per paragraph quoted: citations of one paragraph share a card, each quote
    highlighted; a citation whose source is gone or changed gets a card of its own."""
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    for source in dict.fromkeys(c.source for c in citations):
        try:
            texts[source] = source_text(source)
        except (QAError, OSError) as e:
            log.warning("source %s unavailable: %s", source, e)
            problems[source] = "this document is no longer in the library" if isinstance(
                e, QAError) else "this document cannot be read just now"
    by_source: dict[str, list[Citation]] = {}
    cards: dict[int, str] = {}  # by the first number of the card
    for c in citations:
        if c.source in texts and texts[c.source][c.start:c.end] == c.quote:
            by_source.setdefault(c.source, []).append(c)
            continue
        problem = problems.get(c.source, "the source has changed since this answer")
        cards[c.n] = (f"{_card_open(turn, [c.n])}{_header([c.n], c.source, where(c))}"
                      f'<div class="qa-card-note">{esc(problem)}</div>'
                      f'<p class="qa-passage"><mark class="qa-quote" data-n="{c.n}">'
                      f"{esc(c.quote)}</mark></p></article>")
    for source, cs in by_source.items():
        for g in _groups(cs, texts[source]):
            numbers = [c.n for c in g.citations]
            cards[numbers[0]] = (
                f"{_card_open(turn, numbers)}{_header(numbers, source, _group_where(g))}"
                f'<p class="qa-passage">{_marked(texts[source], g, turn)}</p></article>')
    return "".join(cards[n] for n in sorted(cards))


_SOURCES_TITLE = '<div class="qa-sources-title">Sources</div>'


def render_sources(turns: list[Turn], source_text: Callable[[str], str]) -> str:
    """The sources panel: a section per answered turn; the last one shows, the script of the page
    shows another when one of its markers is clicked."""
    answered = [(i, t.question, t.answer) for i, t in enumerate(turns) if t.answer is not None]
    if not answered:
        return (f'<div class="qa-sources">{_SOURCES_TITLE}<p class="qa-empty">Ask a question: '
                "the passages that support the answer appear here, the quoted words highlighted."
                "</p></div>")
    sections = []
    for i, question, answer in answered:
        if answer.citations:
            cards = _cards(answer.citations, i, source_text)
        elif answer.closest:  # numbered like citations, so [n] under the refusal opens card n
            cards = (f'<p class="qa-closest-title">{_CLOSEST_LABEL}</p>'
                     + _cards(answer.closest, i, source_text))
        else:
            cards = '<p class="qa-empty">No passage of the sources answers this question.</p>'
        hidden = "" if i == answered[-1][0] else " hidden"
        sections.append(
            f'<section class="qa-turn" data-turn="{i}"{hidden}>'
            f'<p class="qa-for">for “{esc(question)}”</p>{cards}</section>'
        )
    # It scrolls: focusable, so that a keyboard can scroll it too (axe:
    # scrollable-region-focusable).
    return (f'<div class="qa-sources" tabindex="0" role="region" aria-label="Sources">'
            f'{_SOURCES_TITLE}{"".join(sections)}</div>')


def render_messages(turns: list[Turn]) -> list[dict[str, str]]:
    """The chatbot value (Gradio messages format) for the turns of a session."""
    messages = []
    for i, t in enumerate(turns):
        body = render_answer(t.answer, i) if t.answer is not None else render_error(t.error)
        messages += [user_message(t.question), assistant_message(body)]
    return messages


def user_message(question: str) -> dict[str, str]:
    return {"role": "user", "content": f'<div class="qa-question">{esc(question)}</div>'}


def assistant_message(body: str) -> dict[str, str]:
    return {"role": "assistant", "content": body}

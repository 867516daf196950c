"""The chat's client-side pieces that are pure functions: cards that merge the quotes of one
paragraph, the Copy and Export texts of an answer, and the conversations the browser keeps."""

from __future__ import annotations

import re

from qa.app.conversations import KEEP_CONVERSATIONS, KEEP_TURNS, Library, Turn
from qa.app.export import answer_markdown, answer_plain_text, export_name
from qa.app.render import render_answer, render_sources
from qa.types import Answer, Citation, Sentence

TEXT = ("Title line\n\nPutin proposed talks in Istanbul. He invited officials to resume on "
        "Thursday. Erdogan would help.\n\nA second <paragraph> & more.\n")


def cite(quote: str, n: int, page: int | None = None) -> Citation:
    start = TEXT.index(quote)
    line = TEXT.count("\n", 0, start) + 1
    return Citation(n=n, source="news/today.txt", start=start, end=start + len(quote), quote=quote,
                    line_start=line, line_end=line, sha256="0" * 64, page=page)


def marks(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<mark class="qa-quote" data-n="([^"]+)"[^>]*>([^<]*)</mark>', html)


def test_quotes_of_one_paragraph_share_one_card_each_highlighted() -> None:
    cs = [cite("Putin proposed talks in Istanbul.", 1),
          cite("He invited officials to resume on Thursday.", 2),
          cite("A second <paragraph> & more.", 3)]
    html = render_sources([Turn("q", Answer("q", "a [1] b [2] c [3].", True, cs))],
                          lambda source: TEXT)
    cards = re.findall(r'<article class="qa-card" id="([^"]+)" data-n="([^"]+)"', html)
    assert cards == [("qa-src-0-1", "1 2"), ("qa-src-0-3", "3")]
    assert marks(html) == [("1", "Putin proposed talks in Istanbul."),
                           ("2", "He invited officials to resume on Thursday."),
                           ("3", "A second &lt;paragraph&gt; &amp; more.")]
    assert 'id="qa-src-0-2"' in html  # a link to [2] lands on its quote inside the shared card
    assert html.count('<span class="qa-num">') == 3 and html.count("Erdogan would help.") == 1


def test_overlapping_quotes_are_cut_so_each_piece_names_its_citations() -> None:
    cs = [cite("Putin proposed talks in Istanbul. He invited", 1),
          cite("Istanbul. He invited officials", 2)]
    html = render_sources([Turn("q", Answer("q", "a [1] b [2].", True, cs))], lambda s: TEXT)
    assert marks(html) == [("1", "Putin proposed talks in "), ("1 2", "Istanbul. He invited"),
                           ("2", " officials")]
    assert html.count("<article") == 1


def test_a_changed_source_keeps_one_card_per_citation() -> None:
    cs = [cite("Putin proposed talks in Istanbul.", 1),
          cite("He invited officials to resume on Thursday.", 2)]
    html = render_sources([Turn("q", Answer("q", "a [1] b [2].", True, cs))],
                          lambda s: TEXT.replace("Putin", "Mr Putin"))
    assert html.count("<article") == 2 and html.count("the source has changed") == 2


def test_markers_carry_no_browser_tooltip() -> None:
    c = cite("Putin proposed talks in Istanbul.", 1)
    html = render_answer(Answer("Where?", "Talks in Istanbul [1].", True, [c],
                                [Sentence("Talks in Istanbul [1].", (1,), True)]), turn=0)
    marker = re.search(r"<a class=\"qa-cite\"[^>]*>", html)
    assert marker and "title=" not in marker.group(0) and 'aria-label="source 1"' in marker.group(0)


def test_markers_show_after_the_full_stop_and_copy_keeps_the_text() -> None:
    c = cite("Putin proposed talks in Istanbul.", 1)
    a = Answer("Where?", "Talks in Istanbul [1]. Unknown [7].", True, [c],
               [Sentence("Talks in Istanbul [1].", (1,), True)])
    html = render_answer(a, turn=0)
    assert 'Talks in Istanbul.<a class="qa-cite"' in html and ">[1]</a> Unknown [7]." in html
    assert 'data-copy="Talks in Istanbul [1]. Unknown [7].' in html


def test_copy_is_the_answer_with_markers_and_its_sources() -> None:
    cs = [cite("Putin proposed talks in Istanbul.", 1, page=4)]
    a = Answer("Where?", "Putin proposed talks in Istanbul [1].", True, cs)
    assert answer_plain_text(a) == (
        "Putin proposed talks in Istanbul [1].\n\nSources:\n"
        '[1] news/today.txt, line 3, page 4: "Putin proposed talks in Istanbul."')


def test_export_is_markdown_with_question_answer_and_each_quote_located() -> None:
    cs = [cite("Putin proposed talks in Istanbul.", 1),
          cite("A second <paragraph> & more.", 2, page=2)]
    a = Answer("Where were the  talks?", "In Istanbul [1]. Also [2].", True, cs)
    md = answer_markdown(a)
    assert md.startswith("# Where were the talks?\n\nIn Istanbul [1]. Also [2].\n\n## Sources\n")
    assert ("[1] `news/today.txt`, line 3 (characters 12-45):\n\n"
            "> Putin proposed talks in Istanbul.\n") in md
    assert "[2] `news/today.txt`, line 5, page 2" in md and "> A second <paragraph> & more." in md
    for c in cs:  # each quote is the exact text at its offsets
        assert TEXT[c.start:c.end] == c.quote and f"> {c.quote}" in md
    refused = answer_markdown(Answer("Capital of Australia?", "The sources do not answer this "
                                     "question.", False, notice="the sources never mention it"))
    assert "*Not in the sources.*" in refused and "*the sources never mention it*" in refused
    assert "## " not in refused  # no passage came near: no empty section
    assert export_name("Where did Putin propose holding the talks?") == \
        "qa-where-did-putin-propose-holding-the.md"
    assert export_name("¿?") == "qa-answer.md"


def test_a_refusals_copy_and_export_list_the_closest_passages_as_not_an_answer() -> None:
    near = [cite("Putin proposed talks in Istanbul.", 1),
            cite("He invited officials to resume on Thursday.", 2, page=3)]
    a = Answer("Capital of Australia?", "The sources do not answer this question.", False,
               notice="the sources never mention Australia", closest=near)
    md = answer_markdown(a)
    assert md.index("*Not in the sources.*") < md.index(
        "## Not an answer — the closest passages found\n")
    assert "## Sources" not in md
    assert ("[1] `news/today.txt`, line 3 (characters 12-45):\n\n"
            "> Putin proposed talks in Istanbul.\n") in md
    assert "[2] `news/today.txt`, line 3, page 3 (characters 46-89):" in md
    for c in near:
        assert TEXT[c.start:c.end] == c.quote and f"> {c.quote}" in md
    copied = answer_plain_text(a)
    assert copied == (
        "The sources do not answer this question.\n\nthe sources never mention Australia\n\n"
        "Not an answer — the closest passages found:\n"
        '[1] news/today.txt, line 3: "Putin proposed talks in Istanbul."\n'
        '[2] news/today.txt, line 3, page 3: "He invited officials to resume on Thursday."')


def test_the_answer_bubble_has_copy_and_export_with_escaped_texts() -> None:
    a = Answer("<b>q</b>", "Text <i>x</i> [1].", True,
               [cite("Putin proposed talks in Istanbul.", 1)],
               [Sentence("Text <i>x</i> [1].", (1,), True)])
    html = render_answer(a, turn=2)
    assert '<button type="button" class="qa-copy">Copy</button>' in html
    assert '<button type="button" class="qa-export">Export</button>' in html
    assert "<i>" not in html and "<b>" not in html
    assert 'data-markdown="# &lt;b&gt;q&lt;/b&gt;' in html


def test_conversations_round_trip_and_junk_is_dropped() -> None:
    a = Answer("Where?", "Istanbul [1].", True, [cite("Putin proposed talks in Istanbul.", 1)],
               [Sentence("Istanbul [1].", (1,), True)])
    turns = [Turn("Where?", a), Turn("Broken?", error="the index is missing")]
    lib = Library().save("c1", turns).save("c2", [Turn("Other?", a)])
    assert [c.id for c in lib.conversations] == ["c2", "c1"] and lib.current == "c2"
    back = Library.parse(lib.to_dict())
    assert back == lib and back.get("c1") is not None
    assert back.get("c1").turns[0].answer == a  # type: ignore[union-attr]
    assert back.choices() == [("Other?", "c2"), ("Where?", "c1")]
    assert back.save("c1", list(back.get("c1").turns)).current == "c1"  # type: ignore[union-attr]
    assert back.forget("c2").choices() == [("Where?", "c1")]

    junk = {"current": 7, "conversations": [
        "text", {"id": "x"}, {"id": "y", "turns": [{"question": 1}, {"question": "q",
                                                    "answer": {"text": "no supported key"}}]},
        {"id": "z", "turns": [{"question": "kept", "answer": a.to_dict()}, None]}]}
    parsed = Library.parse(junk)
    assert parsed.current == "" and [c.id for c in parsed.conversations] == ["z"]
    assert Library.parse("not a dict") == Library() and Library.parse(None) == Library()


def test_only_the_newest_conversations_are_kept() -> None:
    lib = Library()
    for i in range(KEEP_CONVERSATIONS + 5):
        lib = lib.save(f"c{i}", [Turn(f"q{i}", error="x")])
    kept = Library.parse(lib.to_dict()).conversations
    assert len(kept) == KEEP_CONVERSATIONS and kept[0].id == f"c{KEEP_CONVERSATIONS + 4}"
    flooded = {"conversations": [{"id": "big", "turns": [{"question": f"q{i}", "error": "x"}
                                                         for i in range(KEEP_TURNS * 3)]}] * 500}
    parsed = Library.parse(flooded)  # an edited store is cut down, not rendered whole
    assert len(parsed.conversations) == KEEP_CONVERSATIONS
    assert [t.question for t in parsed.conversations[0].turns][-1] == f"q{KEEP_TURNS * 3 - 1}"
    assert len(parsed.conversations[0].turns) == KEEP_TURNS


def test_a_named_pronoun_renders_as_text_and_the_quote_stays_highlighted(engine) -> None:  # type: ignore[no-untyped-def]
    # Issue 17: "[Zelenskyy] insisted ..." is the editor's insertion in the answer only.
    a = engine.answer("What did Zelenskyy insist must precede any negotiations?")
    assert a.text.startswith("[Zelenskyy] insisted")
    html = render_answer(a, turn=0)
    links = re.findall(r'<a class="qa-cite"[^>]*>\[(\d+)\]</a>', html)
    assert links == [str(c.n) for c in a.citations]  # [Zelenskyy] is no marker
    assert '<div class="qa-answer" data-turn="0">[Zelenskyy] insisted' in html
    sources = render_sources([Turn(a.question, a)], engine.source_text)
    c = a.citations[0]
    assert c.quote.startswith("However, he insisted")
    assert "".join(q for n, q in marks(sources) if str(c.n) in n.split()) == c.quote
    md = answer_markdown(a)
    assert f"\n{a.text}\n" in md and f"> {c.quote}\n" in md

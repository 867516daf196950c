"""The offline answerer's parts: pronoun resolution, question kinds, the checks no answer may fail,
the question's token states, the answer model file, and the fitting script end to end."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.errors import ConfigError
from qa.offline.aliases import mentioned
from qa.offline.answer_model import MODEL_FILE, AnswerModel
from qa.offline.extractive import Analysis, Choice, Pick, answer_sentences, without_repeats
from qa.offline.features import FEATURES, candidates
from qa.offline.questions import (
    actor_agreement,
    answer_type,
    asks_for_names,
    content_asked,
    has_type,
    missing_names,
    new_names,
    read_question,
    resolve_question,
    says_what_it_is,
)
from qa.offline.resolve import (
    named_subject,
    resolve,
    resolve_from,
    short_name,
    subject,
    without_connective,
)
from qa.types import Chunk, Passage

REPO = Path(__file__).resolve().parent.parent
ARTICLE = (REPO / "seeds" / "000_7383d27b375f9d56.txt").read_text(encoding="utf-8")


# --- who "he" is ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("sentence", "want"), [
    ("Russian President Vladimir Putin has proposed talks.", "Russian President Vladimir Putin"),
    ("However, Zelenskyy insisted on a ceasefire.", "Zelenskyy"),
    ("In a message on X, Zelenskyy emphasized that Ukraine is ready.", "Zelenskyy"),
    ("Meanwhile, European leaders had demanded a ceasefire.", "European leaders"),
    ("The Kremlin sees this as an opportunity.", "Kremlin"),
    ("He blamed Kyiv.", ""),
])
def test_subject_is_the_opening_name(sentence: str, want: str) -> None:
    assert subject(sentence) == want


def test_opening_pronoun_takes_the_latest_named_subject() -> None:
    before = ["Ukrainian President Volodymyr Zelenskyy welcomed the talks."]
    assert resolve("However, he insisted on a ceasefire.", before) == (
        "However, Ukrainian President Volodymyr Zelenskyy insisted on a ceasefire.")
    assert resolve("His response was clear.", before).startswith(
        "Ukrainian President Volodymyr Zelenskyy’s response")
    # "While X ..., he ...": "he" is the subject of the clause, not of the sentence before.
    assert resolve("While Putin now advocates talks, he reiterated demands.", before) == (
        "While Putin now advocates talks, Putin reiterated demands.")
    assert resolve("Talks may follow.", before) == "Talks may follow."


def test_resolution_says_which_sentence_named_the_person() -> None:
    before = ["Putin also revisited a 2022 draft deal.", "The deal collapsed."]
    assert resolve_from("He blamed Kyiv.", before) == ("Putin blamed Kyiv.", 0)
    assert resolve_from("While Putin advocates talks, he reiterated demands.", before)[1] is None
    assert resolve_from("Talks may follow.", before) == ("Talks may follow.", None)


def test_follow_up_pronoun_is_the_previous_questions_actor() -> None:
    assert resolve_question("What condition did he set?", ["How did Zelenskyy react?"]) == (
        "What condition did Zelenskyy set?")
    # "they" is usually the talks, not a person: left alone.
    assert resolve_question("When could they start?", ["What did Putin propose?"]) == (
        "When could they start?")
    assert resolve_question("What did he say?", []) == "What did he say?"


# --- what kind of thing is asked for -------------------------------------------------------------
@pytest.mark.parametrize(("question", "kind"), [
    ("When could the talks resume?", "time"),
    ("At what time was the statement broadcast?", "clock"),
    ("In what time frame?", "time"),
    ("In what year did the war begin?", "year"),
    ("What calendar date (day and month) are the talks set for?", "date"),
    ("What is the exact date of the proposed talks?", "date"),
    ("How long was the ceasefire?", "duration"),
    ("How many regions must Ukraine leave?", "number"),
    ("Where did Zelenskyy post his message?", "place"),
    ("Which city will host the talks?", "place_name"),
    ("Who praised the development?", "person"),
    ("Why did the attacks matter?", "reason"),
    ("What does Russia demand when it comes to NATO?", None),
])
def test_answer_type(question: str, kind: str | None) -> None:
    assert answer_type(question) == kind


def test_a_kind_only_counts_when_the_question_does_not_already_say_it() -> None:
    assert has_type("talks as early as Thursday", "time", True, "When could talks resume?")
    assert not has_type("talks as early as Thursday", "time", True, "What time on Thursday?")
    assert not has_type("to be held in Istanbul.", "place", True, "Which venue in Istanbul?")
    assert has_type("at the lock of Iron Gate", "place", True, "Where are vessels checked?")
    assert has_type("a 30-day ceasefire", "duration", True, "How long was the ceasefire?")
    assert not has_type("four contested regions", "duration", True, "How long will talks last?")
    assert not has_type("a 2022 draft deal", "number", True, "How many members?")  # a year
    assert not has_type("talks as early as Thursday", "clock", True, "At what time?")
    assert has_type("at 9 p.m. on Thursday", "clock", True, "At what time?")
    blamed = "He blamed Kyiv for ending those negotiations."  # the question's words, no reason
    assert not has_type(blamed, "reason", False, "Why did Kyiv end the negotiations?")
    assert has_type("drone strikes, raising questions about Moscow’s commitment", "reason", False,
                    "Why did the strikes matter?")
    assert has_type("hundreds of thousands of lives", "number", True, "How many lives?")


@pytest.mark.parametrize(("question", "asks"), [
    ("Which European leaders demanded the ceasefire?", True),
    ("Who were the international mediators Putin thanked?", True),
    ("Name the Turkish president.", True),
    ("Which of Russia's demands concerns territory?", False),
    ("The drone strikes raised questions about what, exactly?", False),
    ("Which military alliance does Russia oppose?", False),
    ("Which long-standing demands did Putin repeat?", False),  # described, not named
    ("Which weapons did Ukraine use?", False),
    ("Which countries would guarantee Ukraine's security?", True),
])
def test_name_requests(question: str, asks: bool) -> None:
    assert asks_for_names(question) is asks


def test_new_names_skip_what_the_question_names_even_as_an_acronym() -> None:
    sentence = "Russian officials do not oppose Ukraine’s desire to join the European Union."
    assert new_names(sentence, "Which Russian officials accept Ukraine joining the EU?") == []
    assert new_names(sentence, "What do officials say?") == ["European Union"]


def test_missing_names_forgive_demonyms_not_other_countries() -> None:
    passages = [Passage(Chunk("c", "a.txt", 0, len(ARTICLE), ARTICLE, "h"), 1.0)]
    assert missing_names("What role does Turkey play? And Russia's?", passages) == ()
    assert missing_names("What did China and Macron say?", passages) == ("China", "Macron")


def test_a_thing_named_last_is_not_said_what_it_is() -> None:
    causes = "Putin said the discussions should focus on the root causes of the war."
    assert content_asked("What are the root causes of the war?") == "the root causes of the war"
    assert not says_what_it_is(causes, "the root causes of the war")
    draught = "The commission set the maximum barge draught at 2.5 metres for the autumn."
    assert says_what_it_is(draught, "the maximum barge draught for the autumn")
    assert says_what_it_is("A 2022 draft deal proposed neutrality.", "the 2022 draft deal")


def test_a_country_is_named_by_its_people_capital_or_seat_of_power() -> None:
    passages = [Passage(Chunk("c", "a.txt", 0, len(ARTICLE), ARTICLE, "h"), 1.0)]
    # ARTICLE says "Former U.S. President Donald Trump" and "Ukrainian President", never these:
    assert missing_names("What does Washington want? What did the American say?", passages) == ()
    assert missing_names("Did Kyiv agree?", passages) == ()
    assert missing_names("What does Beijing want?", passages) == ("Beijing",)
    assert mentioned("American", "the US wants trade") and not mentioned("American", "let us")


def test_speaker_agreement() -> None:
    erdogan = "Putin added that he would speak with Turkish President Recep Tayyip Erdoğan."
    assert actor_agreement("Erdoğan", erdogan) == -1  # spoken to, not speaking
    assert actor_agreement("Putin", erdogan) == 1
    dismissed = "European leaders demanded a ceasefire, which Putin dismissed as ultimatums."
    assert actor_agreement("Putin", dismissed) == 0  # acts in a clause: not a mismatch
    assert actor_agreement("", dismissed) == 0


# --- the question's token states ------------------------------------------------------------------
def test_encode_matches_embed_and_leaves_words_out(embedder) -> None:  # type: ignore[no-untyped-def]
    q = "Who will lead Putin's delegation in Istanbul?"
    [enc] = embedder.encode([q])
    assert float(enc.vector @ embedder.embed([q])[0]) == pytest.approx(1.0, abs=1e-5)
    assert "delegation" in enc.words and "istanbul" in enc.words
    without = enc.without("delegation")
    assert abs(float(np.linalg.norm(without)) - 1.0) < 1e-5
    assert float(without @ enc.vector) < 0.9999
    assert np.array_equal(enc.without("zanzibar"), enc.vector)


# --- the answer model file ------------------------------------------------------------------------
def test_model_file_round_trips(tmp_path: Path) -> None:
    model = AnswerModel.load()
    path = tmp_path / "m.json"
    model.save(path)
    again = AnswerModel.load(path)
    assert np.allclose(again.rank_weights, model.rank_weights, atol=1e-6)
    assert again.threshold == pytest.approx(model.threshold, abs=1e-6)
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert raw["trained_on"] and all(not name.startswith("unseen") for name in raw["trained_on"])


def test_model_file_for_other_features_is_a_clear_error(tmp_path: Path) -> None:
    raw = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    raw["features"] = raw["features"][:-1]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match="calibrate.py --write"):
        AnswerModel.load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        AnswerModel.load(tmp_path / "missing.json")


def test_an_answer_does_not_open_on_a_dangling_connective() -> None:
    assert without_connective("However, he insisted on a ceasefire.") == (
        "He insisted on a ceasefire.")
    assert without_connective("Meanwhile, European leaders demanded a truce.") == (
        "European leaders demanded a truce.")
    assert without_connective("Later, he spoke.") == "Later, he spoke."  # time is meaning
    assert without_connective("However you look at it.") == "However you look at it."


# --- end to end over the seed article -------------------------------------------------------------
def test_the_answer_drops_the_connective_and_the_quote_keeps_it(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.answer("What did Zelenskyy insist must precede any negotiations?")
    assert a.supported and a.citations[0].quote.startswith("However, ")  # the article's sentence
    first = a.sentences[0].text
    assert first == "[Zelenskyy] insisted that any negotiations must be preceded by a full, " \
        "reliable ceasefire [1]."  # no "However,", and "he" named (issue 17)
    assert ARTICLE[a.citations[0].start:a.citations[0].end] == a.citations[0].quote
    assert a.citations[0].quote.startswith("However, he insisted")  # the quote stays exact


# --- a pronoun subject named, as an editor would (issue 17) ------------------------------------
def article_sentence(opening: str) -> tuple[str, list[str], str]:
    """A sentence of the seed article, the sentences before it (as the answerer reads them) and
    the article up to it."""
    from qa.sources.spans import is_heading, sentence_spans

    before: list[str] = []
    for s in sentence_spans(ARTICLE):
        text = ARTICLE[s.start:s.end]
        if text.startswith(opening):
            return text, before[-3:], ARTICLE[:s.start]
        if not is_heading(ARTICLE, s):
            before.append(text)
    raise AssertionError(f"no sentence opens with {opening!r}")


@pytest.mark.parametrize(("opening", "shown"), [
    ("However, he insisted", "However, [Zelenskyy] insisted that any negotiations"),
    ("In a televised statement, he invited", "In a televised statement, [Putin] invited"),
    ("His response underlined", "[Zelenskyy’s] response underlined"),
    ("He expressed his commitment", "[Trump] expressed his commitment"),
    ("However, he accused Ukraine", "However, [Putin] accused Ukraine"),
    ("He blamed Kyiv", "[Putin] blamed Kyiv"),
])
def test_a_pronoun_subject_is_named_in_brackets(opening: str, shown: str) -> None:
    sentence, before, context = article_sentence(opening)
    named = named_subject(sentence, before, context)
    assert named.startswith(shown), named
    # Only the pronoun changed: the rest of the sentence is the source's, character for character.
    assert re.sub(r"\[[^\]]+\]", "X", named, count=1) == re.sub(
        r"\b(?:he|his|He|His)\b", "X", sentence, count=1)


def test_a_pronoun_named_in_its_own_clause_is_left_alone() -> None:
    sentence, before, context = article_sentence("While Putin now advocates")
    assert named_subject(sentence, before, context) == sentence  # "While Putin ..., he ..."


@pytest.mark.parametrize(("before", "sentence"), [
    # Two people: "he" could be either.
    (["Putin added that he would speak with Turkish President Recep Tayyip Erdoğan."],
     "He said the talks were welcome."),
    # A person introduced earlier by title and named again by surname is a second person too.
    (["Former U.S. President Donald Trump praised the plan.",
      "Zelenskyy thanked Trump for it."], "He called it fair."),
    # A group is no "he", a person no "they".
    (["Meanwhile, European leaders demanded a ceasefire."], "He refused."),
    (["Putin noted that Russia had offered ceasefires."], "They were broken."),
    # Two groups: "they" could be either.
    (["European leaders met Russian officials in Geneva."], "They agreed on nothing."),
    # Nobody named before.
    (["The talks were delayed."], "He blamed the weather."),
])
def test_a_pronoun_is_not_named_when_the_antecedent_is_unclear(before: list[str],
                                                               sentence: str) -> None:
    assert named_subject(sentence, before, " ".join(before)) == sentence


def test_they_is_named_when_one_group_is_meant() -> None:
    assert named_subject("They threatened new sanctions.",
                         ["Meanwhile, European leaders demanded a ceasefire."]) == (
        "[European leaders] threatened new sanctions.")


def test_short_names() -> None:
    assert short_name("Ukrainian President Volodymyr Zelenskyy") == "Zelenskyy"
    assert short_name("Former U.S. President Donald Trump") == "Trump"
    assert short_name("Turkish President Recep Tayyip Erdoğan") == "Erdoğan"
    assert short_name("European leaders") == "European leaders"
    assert short_name("Kremlin") == "Kremlin"


def test_the_answer_names_he_only_when_the_naming_sentence_is_not_shown(engine) -> None:  # type: ignore[no-untyped-def]
    # "He blamed Kyiv" right after the sentence that names Putin reads as it is...
    a = engine.answer("Who thanked the international mediators?")
    assert [s.text.split()[0] for s in a.sentences] == ["Putin", "He"], a.text
    # ...alone, it names him; its citation still quotes "He blamed Kyiv ..." exactly.
    b = engine.answer("What did Zelenskyy insist must precede any negotiations?")
    assert b.text.startswith("[Zelenskyy] insisted")
    assert all(ARTICLE[c.start:c.end] == c.quote for c in a.citations + b.citations)


@pytest.mark.parametrize(("question", "why"), [
    ("What did Erdoğan say in reply?", "the sources do not say what Erdoğan said"),
    ("Which European leaders demanded the 30-day ceasefire?", "name no one"),
    ("In what year did the war between Russia and Ukraine begin?", "give no year"),
    ("What did Emmanuel Macron propose?", "the sources never mention Emmanuel Macron"),
    ("What does Putin consider the root causes of the war to be?",
     "mention the root causes of the war but do not say what they are"),
])
def test_checks_abstain_and_say_why(engine, question: str,  # type: ignore[no-untyped-def]
                                    why: str) -> None:
    a = engine.answer(question)
    assert not a.supported and not a.citations, a.text
    assert why in a.notice
    assert a.to_dict()["notice"] == a.notice


def test_a_plain_abstention_has_no_notice(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.answer("How do I bake sourdough bread?")  # off topic: the model is not confident
    assert not a.supported and a.notice == ""


def test_where_answers_with_the_place(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.answer("Where would the peace talks be held?")
    assert a.supported and "Istanbul" in a.text
    assert all(ARTICLE[c.start:c.end] == c.quote for c in a.citations)


def test_a_runner_up_of_the_asked_kind_steps_in(engine) -> None:  # type: ignore[no-untyped-def]
    # "His response underlined ..." shares the most words but gives no place; "on X" does.
    a = engine.answer("Where did Zelenskyy post his response?")
    assert a.supported and "on X" in a.text, a.text


def test_follow_up_pronoun_reaches_the_right_sentence(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.answer("What condition did he set?",
                      history=["How did Zelenskyy react to the proposal?"])
    assert a.supported and "ceasefire" in a.text
    assert "Urge Action" not in a.text  # a heading joins only when headings are asked about


def test_who_is_answered_with_the_sentence_that_names_him(engine) -> None:  # type: ignore[no-untyped-def]
    # "He blamed Kyiv ... and thanked international mediators ..." does not say who "he" is; the
    # sentence before it ("Putin also revisited ...") does, and is quoted with it.
    a = engine.answer("Who thanked the international mediators?")
    assert a.supported and "Putin" in a.text and len(a.citations) == 2, a.text
    assert all(ARTICLE[c.start:c.end] == c.quote for c in a.citations)


@pytest.mark.parametrize(("question", "quoted"), [
    ("Who blamed Kyiv?", ["Putin also revisited a 2022 draft deal.", "He blamed Kyiv."]),
    ("Whom did Putin blame?", ["He blamed Kyiv."]),  # the question names him already
    ("What did he do about Kyiv?", ["He blamed Kyiv."]),  # not a "who" question
])
def test_the_sentence_naming_he_joins_only_who_questions(question: str,
                                                         quoted: list[str]) -> None:
    text = "Putin also revisited a 2022 draft deal. He blamed Kyiv."
    chunk = Chunk(id="c", source="a.txt", start=0, end=len(text), text=text, sha256="")
    first, second = candidates([Passage(chunk, 1.0)])
    assert second.named_in == first
    analysis = Analysis(read_question(question), (first, second), np.zeros((2, len(FEATURES))),
                        (), unknown_share=0.0)
    chosen = answer_sentences(analysis, Choice(rows=(1,), confidence=1.0, reasons=()))
    assert [c.text for c in chosen] == quoted


def test_a_question_about_the_headline_quotes_it(engine) -> None:  # type: ignore[no-untyped-def]
    a = engine.answer("According to the headline, who is urging action?")
    assert a.supported and "While Trump and Europe Urge Action" in a.text


@pytest.mark.slow
def test_calibration_fits_a_model_that_separates_its_cases(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "training"))
    import calibrate
    import casesets

    # Two sets over the seed article and one over another document, answered over it alone.
    other = REPO / "eval" / "other" / "b1a1.jsonl"
    sets = [REPO / "eval" / f"{name}.jsonl" for name in ("dev", "heldout")] + [other]
    cases = casesets.collect(casesets.Engines(tmp_path / "work", casesets.placeholder_model()),
                             sets)
    sources: dict[str, set[str]] = {}
    for c in cases:
        sources.setdefault(c.source, set()).update(x.chunk.source for x in c.analysis.candidates)
    seeds = {p.name for p in (REPO / "seeds").iterdir()}
    assert sources[str(sets[0])] | sources[str(sets[1])] == seeds
    assert sources[str(other)] == {"b1a1.txt"}
    model = calibrate.fit(cases)
    answers, abstention = calibrate.measure(model, cases)
    assert answers > 0.7 and abstention > 0.7, (answers, abstention)
    model.save(tmp_path / "m.json")
    assert AnswerModel.load(tmp_path / "m.json").second_ratio == calibrate.SECOND_RATIO


def test_eval_report_tells_refused_from_wrong_answers(engine) -> None:  # type: ignore[no-untyped-def]
    from qa.evaluate import Case, run

    cases = [Case("right", ["Where would the peace talks be held?"], True, [["istanbul"]], []),
             Case("wrong", ["Where would the peace talks be held?"], True, [["ankara"]], []),
             Case("refused", ["How do I bake sourdough bread?"], True, [["flour"]], []),
             Case("trap", ["How do I bake sourdough bread?"], False, [], [])]
    report = run(cases, engine.answer, engine.source_text)
    assert [r.correct for r in report.results] == [True, False, False, True]
    assert report.answer_accuracy == 1 / 3 and report.answerable_refused == 1 / 3
    assert report.summary()["answerable_refused"] == 0.3333


# --- follow-ups do not repeat what an earlier answer gave (issue 17) ---------------------------
def spans(a) -> set[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return {(c.source, c.start, c.end) for c in a.citations}


def test_a_repeat_gives_way_unless_it_is_the_answer() -> None:
    text = "Putin proposed talks in Istanbul. He invited officials on Thursday."
    chunk = Chunk(id="c", source="a.txt", start=0, end=len(text), text=text, sha256="")
    istanbul, thursday = candidates([Passage(chunk, 1.0)])
    key = {c: ("a.txt", c.span.start, c.span.end) for c in (istanbul, thursday)}
    given = {key[istanbul]}
    # "When?": Thursday is the answer; Istanbul, given before, only came along.
    pick = Pick((istanbul, thursday), 1.0, best=thursday, holding=frozenset({key[thursday]}))
    assert without_repeats(pick, given).sentences == (thursday,)
    # The repeat is the answer: chosen first...
    pick = Pick((istanbul, thursday), 1.0, best=istanbul)
    assert without_repeats(pick, given).sentences == (istanbul, thursday)
    # ...or holding what is asked ("Where?": the place) while another sentence came first.
    pick = Pick((istanbul, thursday), 1.0, best=thursday, holding=frozenset({key[istanbul]}))
    assert without_repeats(pick, given).sentences == (istanbul, thursday)
    # Nothing new at all (the same question again): the answer itself, once more, alone.
    pick = Pick((istanbul, thursday), 1.0, best=thursday)
    assert without_repeats(pick, given | {key[thursday]}).sentences == (thursday,)


def test_a_follow_up_answer_does_not_repeat_the_earlier_answer(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.answer("Where did Putin propose holding the talks?")
    assert first.supported and "Istanbul" in first.text
    when = engine.answer("When?", history=[first.question])
    assert when.supported and "Thursday" in when.text, when.text
    assert not spans(first) & spans(when), when.text  # the Istanbul sentence is not said again
    assert all(ARTICLE[c.start:c.end] == c.quote for c in when.citations)


def test_a_follow_up_in_a_new_engine_works_out_the_earlier_answers(  # type: ignore[no-untyped-def]
        settings, embedder) -> None:
    from qa.api import Engine
    from qa.store.chroma import Store

    def fresh() -> Engine:
        return Engine(settings, Store.open(settings.index_dir, settings.chroma_url), embedder)

    history = ["Which Turkish leader would Putin speak with?",
               "Where did Putin propose holding the talks?"]
    asked_here = fresh()  # the chat: every question asked on the same engine
    earlier = [asked_here.answer(q, history[:i]) for i, q in enumerate(history)]
    here = asked_here.answer("When?", history)
    # `qa ask --history` in a new process: nothing remembered, the same answer
    there = fresh().answer("When?", history)
    assert here.to_dict() == there.to_dict()
    assert "Thursday" in here.text and not spans(here) & set().union(*map(spans, earlier))


def test_a_repeat_that_is_the_answer_is_kept(engine) -> None:  # type: ignore[no-untyped-def]
    first = engine.answer("Where did Putin propose holding the talks?")
    again = engine.answer("Where exactly?", history=[first.question])
    assert again.supported and spans(again) == spans(first)

"""Is a question written in another language than English? A cheap check (common function words
and scripts, no model), so that a refusal can say why: the offline answerer and its features read
English only, and a Spanish question over English sources is otherwise just "not in the sources"."""

from __future__ import annotations

import re
import unicodedata

# Words that are frequent in questions of each language and rare or absent in English ones.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "English": frozenset(
        "the what which who whom whose where when why how is are was were did does do of to in "
        "and or a an on for with from by about that this these those it he she they".split()),
    "Spanish": frozenset(
        "el la los las un una unos unas de del que qué quién quiénes dónde cuándo cómo cuál "
        "cuáles por qué para con es son fue fueron está están y o en se su sus al lo hay "
        "propuso dijo según".split()),
    "French": frozenset(
        "le la les un une des du de que qui quoi où quand comment pourquoi quel quelle quels "
        "quelles est sont était ont a et ou en dans pour avec sur au aux ce cette il elle ils "
        "elles qu'est-ce lieu".split()),
    "German": frozenset(
        "der die das den dem des ein eine einen einem einer und oder ist sind war waren wer "
        "was wo wann wie warum welche welcher welches hat haben mit von zu für auf im ist "
        "nicht es sie er wurde wurden".split()),
    "Italian": frozenset(
        "il lo la gli le un una di del della che chi cosa dove quando come perché quale quali "
        "è sono era e o in per con su al nel".split()),
    "Portuguese": frozenset(
        "o a os as um uma de do da dos das que quem onde quando como porque qual quais é são "
        "foi e ou em no na para com por".split()),
}
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_ACCENTED = re.compile(r"[¿¡ñçßäöüàâèéêëîïôûùœ]", re.IGNORECASE)


def foreign_language(question: str) -> str | None:
    """The language `question` seems to be written in when it is not English ("Spanish",
    "another language" for a non-Latin script), else None. Conservative: a short English
    question with a foreign name in it stays English."""
    letters = [c for c in question if c.isalpha()]
    if not letters:
        return None
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    if latin < len(letters) / 2:
        return "another language"
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return None
    scores = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _FUNCTION_WORDS.items()}
    english = scores.pop("English")
    best = max(scores, key=lambda lang: scores[lang])
    hits = scores[best] + (1 if _ACCENTED.search(question) else 0)
    if hits >= 2 and hits > english:
        return best
    return None


def english_only_notice(language: str) -> str:
    return (f"the question seems to be in {language}: qa reads the sources in English and "
            "answers questions asked in English; ask it in English")

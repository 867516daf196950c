"""Names that stand for one another: a country, its people, its capital and seat of power.

A question says "the American president" or "What does Washington want?" where the source says
"U.S. President"; "Kyiv" where it says "Ukraine". Without this table the answerer would report
that "the sources never mention Washington" and miss a name match its features count on. It is
general knowledge about the world, not about any document: the same for every source.
"""

from __future__ import annotations

import re
from functools import cache

from qa.offline.text import fold

# One country (or union) a line: the forms a text may use for it, separated by "|". Lowercase forms
# match any case (after `qa.offline.text.fold`: no accents); a form with capitals matches only as
# written ("US", not "us"). Seats of power count as the country in news writing ("the Kremlin
# said", "Washington wants").
_TABLE = """
united states|u.s.|US|USA|U.S.A.|america|american|americans|washington|white house
united kingdom|u.k.|UK|britain|great britain|british|briton|britons|london|downing street
russia|russian|russians|moscow|kremlin|russian federation
ukraine|ukrainian|ukrainians|kyiv|kiev
china|chinese|beijing|PRC
france|french|paris|elysee
germany|german|germans|berlin
italy|italian|italians|rome
spain|spanish|madrid
poland|polish|pole|poles|warsaw
turkey|turkish|turk|turks|ankara|turkiye
european union|EU|e.u.|brussels|european commission
NATO|north atlantic treaty organization|alliance
united nations|u.n.|UN
japan|japanese|tokyo
india|indian|indians|new delhi|delhi
iran|iranian|iranians|tehran
israel|israeli|israelis|jerusalem
canada|canadian|canadians|ottawa
mexico|mexican|mexicans|mexico city
brazil|brazilian|brazilians|brasilia
north korea|north korean|pyongyang
south korea|south korean|seoul
belarus|belarusian|minsk
hungary|hungarian|budapest
netherlands|dutch|the hague|amsterdam
belgium|belgian|belgians
sweden|swedish|swede|swedes|stockholm
finland|finnish|finn|finns|helsinki
norway|norwegian|oslo
denmark|danish|dane|danes|copenhagen
switzerland|swiss|bern|geneva
austria|austrian|vienna
greece|greek|greeks|athens
egypt|egyptian|egyptians|cairo
saudi arabia|saudi|saudis|riyadh
qatar|qatari|doha
syria|syrian|syrians|damascus
georgia|georgian|tbilisi
moldova|moldovan|chisinau
australia|australian|australians|canberra
"""


@cache
def _groups() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for line in _TABLE.strip().splitlines():
        forms = frozenset(line.split("|"))
        for form in forms:
            out[form.lower()] = forms
    return out


def aliases(name: str) -> frozenset[str]:
    """All forms of the country or union `name` is one form of ("Washington" -> "u.s.", "US",
    "america", ...); empty when the table does not know it."""
    return _groups().get(name.lower(), frozenset())


def mentioned(name: str, text: str) -> bool:
    """Whether `text` (folded or not) mentions what `name` stands for, by any form, as a whole
    word: "American" is mentioned in "Former U.S. President Donald Trump"."""
    folded = fold(text)
    return any(re.search(rf"(?<![\w.]){re.escape(form)}(?!\w)", text if form != form.lower()
                         else folded) for form in aliases(name))

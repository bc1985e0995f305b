"""Attributes read from the product's own title and description, mapped onto the vocabulary.

Offline, pixels give a colour but not a material, style or category; the shop's own words
usually do ("bamboo", "woven", "striped", "linen"). Each canonical tag's name and synonyms
of the category, material, style, pattern and season facets are looked for as whole words,
singular or plural, the longest phrase first ("coffee mug" before "coffee"). A denied phrase
("no leather", "not made of leather", "leather-free") does not count.

How a value was found sets its confidence, so staff can read it back:

| found                      | confidence | so the tag is      |
|----------------------------|-----------:|--------------------|
| in the title, by name      | 0.92       | applied (high)     |
| in the title, by synonym   | 0.86       | applied (medium)   |
| in the description, by name| 0.80       | applied (medium)   |
| in the description, synonym| 0.70       | waiting for review |

Found in both title and description: the title's, plus 0.03. One category per product (the
title's head noun; else the description's first); at most two values of each
other facet. Colour is left to the pixels, keywords to vision models.
"""

import re
from dataclasses import dataclass

from tagging.analysis.parsing import TEXT, Finding
from tagging.models import Facet, Tag, TagSynonym
from tagging.vocabulary import normalise, remembered, singular

FACETS = (Facet.CATEGORY, Facet.MATERIAL, Facet.STYLE, Facet.PATTERN, Facet.SEASON)
CONFIDENCE = {
    ("title", "name"): 0.92,
    ("title", "synonym"): 0.86,
    ("description", "name"): 0.80,
    ("description", "synonym"): 0.70,
}
IN_BOTH_BONUS = 0.03
MAX_VALUES_PER_FACET = 2
# Single words of the default vocabulary that mean something else in a shop's prose ("light
# blue", "spot clean", "won't fall apart", "top quality"): found only as part of a longer phrase.
AMBIGUOUS_IN_PROSE: dict[str, frozenset[str]] = {
    Facet.CATEGORY: frozenset({"wear", "top", "light", "lights", "throw", "tech", "dining", "cable", "mouse", "cap"}),
    Facet.MATERIAL: frozenset({"poly", "abs", "cane", "iron", "jean"}),
    Facet.STYLE: frozenset({"clean", "simple", "smart", "street", "sport", "country", "craft", "evening", "relaxed"}),
    Facet.PATTERN: frozenset({"solid", "print", "printed", "logo", "animal", "check", "spot", "dot", "geo", "none"}),
    Facet.SEASON: frozenset({"fall", "any", "all", "none"}),
}
_NEGATIONS = frozenset({"no", "not", "without", "non"})
_FILLERS = frozenset({"made", "of", "any", "real", "genuine", "using", "from", "in", "a", "an", "the"})
_QUALIFIERS = frozenset({"with", "for", "in", "from", "by", "and"})  # the title's head noun comes before these
_WORDS = re.compile(r"[^\s/+]+")


@dataclass(frozen=True)
class _Term:
    facet: str
    tag_name: str
    how: str  # "name" or "synonym"


@dataclass(frozen=True)
class _Match:
    term: _Term
    part: str  # "title" or "description"
    position: int


def text_attributes(*, title: str, description: str) -> list[Finding]:
    """What the title and description say about the product, as findings with TEXT evidence."""
    index = remembered("text attributes: phrase index", _vocabulary_index)
    longest = max((len(key) for key in index), default=0)
    title_words = _words(title)
    qualifier_at = next((at for at, word in enumerate(title_words) if word in _QUALIFIERS), len(title_words))
    matches = [
        *_matches(title_words, index, longest, part="title"),
        *_matches(_words(description), index, longest, part="description"),
    ]
    findings = []
    for facet in FACETS:
        found = [match for match in matches if match.term.facet == facet]
        if facet == Facet.CATEGORY:
            found = _head_category(found, title_qualifier_at=qualifier_at)
        best: dict[str, float] = {}
        for match in found:
            confidence = CONFIDENCE[(match.part, match.term.how)]
            best[match.term.tag_name] = max(best.get(match.term.tag_name, 0.0), confidence)
        for tag_name, confidence in best.items():
            parts = {match.part for match in found if match.term.tag_name == tag_name}
            if len(parts) == 2:
                confidence = round(confidence + IN_BOTH_BONUS, 3)
            best[tag_name] = confidence
        ranked = sorted(best.items(), key=lambda item: -item[1])[:MAX_VALUES_PER_FACET]
        findings.extend(
            Finding(facet=facet, value=tag_name, confidence=confidence, evidence=TEXT)
            for tag_name, confidence in ranked
        )
    return findings


def _head_category(found: list[_Match], *, title_qualifier_at: int) -> list[_Match]:
    """The matches of the one category the product is: the title's last before a qualifier
    such as "with" (its head noun: "coffee mug", "tote bag with laptop sleeve"), else the
    description's first."""
    in_title = [match for match in found if match.part == "title"]
    before_qualifier = [match for match in in_title if match.position < title_qualifier_at]
    if in_title:
        chosen = max(before_qualifier or in_title, key=lambda match: match.position).term.tag_name
    elif found:
        chosen = min(found, key=lambda match: match.position).term.tag_name
    else:
        return []
    return [match for match in found if match.term.tag_name == chosen]


def _words(text: str) -> list[str]:
    return [singular(word) for word in _WORDS.findall(normalise(text or ""))]


def _matches(words: list[str], index: dict[tuple[str, ...], list[_Term]], longest: int, *, part: str):
    """Every facet's vocabulary phrases in ``words``, each facet taking the longest phrase at
    each place: phrases of different facets may overlap ("woven basket" is a category, and
    "woven" a pattern)."""
    for facet in FACETS:
        position = 0
        while position < len(words):
            for length in range(min(longest, len(words) - position), 0, -1):
                key = tuple(words[position : position + length])
                terms = [term for term in index.get(key, ()) if term.facet == facet]
                if terms:
                    if not _negated(words, position, length):
                        yield _Match(term=terms[0], part=part, position=position)
                    position += length
                    break
            else:
                position += 1


def _negated(words: list[str], position: int, length: int) -> bool:
    """Denied: "leather-free", "no leather", "not made of leather" (but not "non-slip rubber")."""
    if words[position + length : position + length + 1] == ["free"]:
        return True
    before = position - 1
    while before >= 0 and words[before] in _FILLERS:
        before -= 1
    return before >= 0 and words[before] in _NEGATIONS


def _vocabulary_index() -> dict[tuple[str, ...], list[_Term]]:
    """{phrase as singular words: the terms it names}, from the canonical vocabulary (kept until
    staff edit it: tagging.vocabulary.remembered)."""
    index: dict[tuple[str, ...], list[_Term]] = {}
    tags = list(Tag.objects.canonical().filter(facet__in=FACETS).values_list("pk", "facet", "name"))
    names = {pk: name for pk, _facet, name in tags}
    synonyms = TagSynonym.objects.filter(facet__in=FACETS, tag__status=Tag.Status.CANONICAL)
    entries = [(pk, facet, name, "name") for pk, facet, name in tags]
    entries += [
        (tag_id, facet, text, "synonym") for tag_id, facet, text in synonyms.values_list("tag_id", "facet", "text")
    ]
    for tag_id, facet, text, how in entries:
        key = tuple(_words(text))
        if not key or (len(key) == 1 and key[0] in AMBIGUOUS_IN_PROSE[facet]):
            continue
        index.setdefault(key, []).append(_Term(facet=facet, tag_name=names[tag_id], how=how))
    # A phrase that is one tag's name and another's synonym (within a facet) names the first.
    for terms in index.values():
        terms.sort(key=lambda term: term.how != "name")
    return index

"""The controlled vocabulary: normalising what analysers say and resolving it to a Tag.

Known values (by name or synonym, after normalisation) resolve to their canonical tag.
Anything else becomes a *proposed* tag that staff accept, merge or ignore: an analyser can
never add to the canonical vocabulary on its own.

What ``resolve`` found is remembered in-process, since the same few hundred values come
back image after image, and so is what is built from the whole vocabulary (``remembered``).
Every save or delete of a Tag or TagSynonym bumps a version kept in Django's cache once its
transaction commits; each process compares it with its own at most every
RECHECK_SECONDS and forgets everything when it changed,
so staff edits reach every worker within that period.
"""

import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from tagging.models import Facet, Tag, TagSynonym

T = TypeVar("T")
# How often a process looks for tag and synonym edits made by staff.
RECHECK_SECONDS = 1.0
_SPACES = re.compile(r"\s+")
_STRIPPED = re.compile(r"[^\w\s&'/+]")
_KEEP_FINAL_S = ("ss", "us", "is", "ous", "ics", "ies")
_ES_ENDINGS = ("sses", "shes", "ches", "xes", "zes")
_NO_SINGULAR = {
    "jeans",
    "shorts",
    "trousers",
    "leggings",
    "pants",
    "glasses",
    "sunglasses",
    "headphones",
    "earphones",
    "scissors",
    "tights",
    "dress",
    "canvas",
    "electronics",
    "cosmetics",
    "linen",
}


def normalise(text: str) -> str:
    """Lower-case, hyphens and underscores as spaces, no stray punctuation, single spaces."""
    text = text.lower().replace("_", " ").replace("-", " ").replace("&", " and ")
    text = _STRIPPED.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def singular(text: str) -> str:
    """The singular of the last word, by the common English rules (enough for catalogue words)."""
    head, _, last = text.rpartition(" ")
    if last in _NO_SINGULAR or len(last) <= 3:
        return text
    if last.endswith("ies"):
        last = last[:-3] + "y"
    elif last.endswith(_ES_ENDINGS):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(_KEEP_FINAL_S):
        last = last[:-1]
    return f"{head} {last}" if head else last


def lookup(*, facet: str, value: str) -> Tag | None:
    """The tag ``value`` means in ``facet`` (canonical or already proposed), or None."""
    text = normalise(value)
    if not text:
        return None
    for candidate in dict.fromkeys((text, singular(text))):
        tag = Tag.objects.filter(facet=facet, slug=slugify(candidate)[:100]).first()
        if tag is not None:
            return tag
        synonym = TagSynonym.objects.select_related("tag").filter(facet=facet, text=candidate).first()
        if synonym is not None:
            return synonym.tag
    return None


def resolve(*, facet: str, value: str, analysis=None) -> Tag | None:
    """The tag for ``value``; unknown values become a proposed tag. None for empty values.

    Categories arrive as "category/subcategory": the most specific known part wins, and an
    unknown subcategory is proposed under its known parent.
    """
    key = (facet, value)
    version, remembered = _memo.get(key)
    if remembered is not None:
        return remembered
    tag = _resolve(facet=facet, value=value, analysis=analysis)
    if tag is not None:
        # Only once committed: a tag proposed inside a transaction that rolls back must not be handed out.
        transaction.on_commit(lambda: _memo.put(key, tag, version=version))
    return tag


def _resolve(*, facet: str, value: str, analysis) -> Tag | None:
    if facet == Facet.CATEGORY and ("/" in value or ">" in value):
        return _resolve_category_path(value, analysis=analysis)
    tag = lookup(facet=facet, value=value)
    if tag is not None:
        return tag
    text = normalise(value)
    if not text:
        return None
    return _proposed(facet=facet, name=singular(text), parent=None, analysis=analysis)


def _resolve_category_path(value: str, *, analysis) -> Tag | None:
    parts = [part for part in re.split(r"[/>]", value) if normalise(part)]
    if not parts:
        return None
    known = [lookup(facet=Facet.CATEGORY, value=part) for part in parts]
    if known[-1] is not None:
        return known[-1]
    parent = next((tag for tag in reversed(known) if tag is not None and tag.status == Tag.Status.CANONICAL), None)
    return _proposed(facet=Facet.CATEGORY, name=singular(normalise(parts[-1])), parent=parent, analysis=analysis)


def _proposed(*, facet: str, name: str, parent: Tag | None, analysis) -> Tag:
    slug = slugify(name)[:100]
    try:
        with transaction.atomic():
            tag, _ = Tag.objects.get_or_create(
                facet=facet,
                slug=slug,
                defaults={
                    "name": name[:100],
                    "status": Tag.Status.PROPOSED,
                    "parent": parent,
                    "proposed_by_analysis": analysis,
                },
            )
    except IntegrityError:  # another worker proposed the same value a moment ago
        tag = Tag.objects.get(facet=facet, slug=slug)
    return tag


def add_synonym(*, tag: Tag, text: str) -> TagSynonym:
    synonym, _ = TagSynonym.objects.get_or_create(facet=tag.facet, text=normalise(text), defaults={"tag": tag})
    return synonym


# --- the in-process memory of resolved values -------------------------------------------------

VERSION_KEY = "tagging:vocabulary-version"


class _Memo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tags: dict[tuple[str, str], Tag] = {}
        self._derived: dict[str, object] = {}
        self._version: object = None
        self._checked_at = 0.0

    def version(self) -> object:
        """The version this process holds, compared with the cache's at most every recheck period."""
        now = time.monotonic()
        if self._version is None or now - self._checked_at >= _recheck_seconds():
            version = cache.get(VERSION_KEY)
            if version is None:
                version = _initial_version()
            with self._lock:
                if version != self._version:
                    self._tags, self._derived, self._version = {}, {}, version
                self._checked_at = now
        return self._version

    def get(self, key: tuple[str, str]) -> tuple[object, Tag | None]:
        """(the version the answer belongs to, the remembered tag or None)."""
        version = self.version()
        return version, self._tags.get(key)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        version = self.version()
        with self._lock:
            if name in self._derived:
                return self._derived[name]
        value = build()
        with self._lock:
            if version == self._version:
                self._derived[name] = value
        return value

    def put(self, key: tuple[str, str], tag: Tag, *, version: object) -> None:
        with self._lock:
            if version == self._version:
                self._tags[key] = tag

    def forget(self) -> None:
        with self._lock:
            self._tags, self._derived, self._version, self._checked_at = {}, {}, None, 0.0


_memo = _Memo()


def remembered(name: str, build: Callable[[], T]) -> T:
    """``build()``, something computed from the whole vocabulary, kept in this process until the
    vocabulary changes (forgotten with the resolved values, within the recheck period)."""
    return _memo.derived(name, build)


def forget() -> None:
    """Drop this process's memory of resolved values (tests call it after a rollback)."""
    _memo.forget()


def vocabulary_changed(**_signal_kwargs) -> None:
    """Connected to Tag and TagSynonym saves and deletes: every process forgets within the recheck period."""
    _memo.forget()
    transaction.on_commit(_bump_version)


def _bump_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, _initial_version() + 1, timeout=None)
    _memo.forget()


def _initial_version() -> int:
    # A clock-based start keeps a cleared cache from reusing a version a process already holds.
    version = int(time.time() * 1000)
    cache.add(VERSION_KEY, version, timeout=None)
    return cache.get(VERSION_KEY) or version


def _recheck_seconds() -> float:
    return RECHECK_SECONDS

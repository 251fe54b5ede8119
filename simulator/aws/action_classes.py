"""Action classes: the catalog's actions grouped by which of a question's action patterns match them.

A free action ranges over the classes of the catalog (a few dozen classes instead of 22,000
actions): the actions every pattern of the question treats alike are one class, with the ARN
formats its actions take and whether any takes ``*``. Actions a policy names that the catalog
lacks get a class of their own (unknown) and are reported. Action names match patterns as AWS
matches them: ``*`` and ``?`` are the only wildcards, and case folds over A-Z only.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from simulator.aws.catalog import Catalog


@dataclass(frozen=True)
class ActionClass:
    """Actions that every pattern of the question treats alike."""

    actions: tuple[str, ...]  # lower-cased catalog keys, or the literal name for an unknown action
    signature: frozenset[int]
    formats: tuple[str, ...]
    any_resource: bool
    unknown: bool = False


def glob(pattern: str) -> re.Pattern[str]:
    """AWS globs: ``*`` and ``?`` are wildcards, every other character (``[`` too) is literal."""
    return _glob_cached(pattern)


def action_matches(pattern: str, action: str) -> bool:
    """``action`` matches the (lower-cased) action ``pattern``, compared as AWS compares them."""
    return glob(pattern).match(ascii_lower(action)) is not None


@lru_cache(maxsize=65536)
def _glob_cached(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern) + r"\Z", re.S
    )


def ascii_lower(text: str) -> str:
    """Action names compare case-insensitively over A-Z only, as AWS does (not Unicode folding)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=256)
def action_classes(catalog: Catalog, patterns: tuple[str, ...], keep_unmatched: bool) -> tuple[ActionClass, ...]:
    """Partition the catalog by which of ``patterns`` (lower-cased globs) match each action.

    ``keep_unmatched`` keeps the class of actions no pattern matches (needed when a NotAction
    can reach them). Literal patterns the catalog lacks become classes of their own (unknown).
    """
    signatures: dict[str, set[int]] = {}
    # "*" matches every action: it splits no class, so it joins every signature at the end.
    universal = frozenset(i for i, p in enumerate(patterns) if p == "*")
    if universal:
        keep_unmatched = True
    for index, pattern in enumerate(patterns):
        if pattern == "*":
            continue
        for action in _pattern_hits(catalog, pattern):
            signatures.setdefault(action, set()).add(index)
    groups: dict[frozenset[int], list[str]] = {}
    for action, hit_by in signatures.items():
        groups.setdefault(frozenset(hit_by) | universal, []).append(action)
    classes = []
    for sig, members in sorted(groups.items(), key=lambda kv: (len(kv[0]), sorted(kv[0]))):
        members.sort()
        infos = [catalog.actions[a] for a in members]
        classes.append(
            ActionClass(
                actions=tuple(members),
                signature=sig,
                formats=tuple(sorted({f for info in infos for f in info.formats})),
                any_resource=any(info.any_resource for info in infos),
            )
        )
    if keep_unmatched:
        rest = _unmatched_class(catalog, frozenset(signatures), universal)
        if rest is not None:
            classes.insert(0, rest)  # its signature is the smallest: first, as sorted above
    literal_unknown = sorted(
        {p for p in patterns if "*" not in p and "?" not in p and p not in catalog.actions and ":" in p}
    )
    for name in literal_unknown:
        literal_sig = frozenset(i for i, p in enumerate(patterns) if glob(p).match(name))
        classes.append(ActionClass(actions=(name,), signature=literal_sig, formats=(), any_resource=True, unknown=True))
    return tuple(classes)


@lru_cache(maxsize=4096)
def _pattern_hits(catalog: Catalog, pattern: str) -> tuple[str, ...]:
    """The catalog actions a (lower-cased) action pattern other than ``*`` matches (kept: the
    questions of a batch name the same patterns in ever new combinations)."""
    service = pattern.split(":", 1)[0]
    wild_service = "*" in service or "?" in service
    candidates: Iterable[str] = catalog.actions if wild_service else catalog.by_service.get(service, ())
    if "*" in pattern or "?" in pattern:
        regex = glob(pattern)
        return tuple(a for a in candidates if regex.match(a))
    return (pattern,) if pattern in catalog.actions else ()


@lru_cache(maxsize=4)
def _catalog_totals(catalog: Catalog) -> tuple[tuple[str, ...], dict[str, int], int]:
    """The catalog's actions sorted, how many actions take each ARN format, and how many take
    ``*``: the class of actions no pattern matches is the catalog less a few, so its formats are
    counted down instead of collected from thousands of actions."""
    counts: dict[str, int] = {}
    for info in catalog.actions.values():
        for f in info.formats:
            counts[f] = counts.get(f, 0) + 1
    return tuple(sorted(catalog.actions)), counts, sum(info.any_resource for info in catalog.actions.values())


def _all_but(ordered: tuple[str, ...], left_out: frozenset[str]) -> tuple[str, ...]:
    """``ordered`` without ``left_out`` (a few of its items), in order: cut into slices at them
    (the catalog holds thousands of actions, a question's patterns match a few hundred)."""
    cuts = sorted(bisect.bisect_left(ordered, a) for a in left_out)
    pieces: list[tuple[str, ...]] = []
    start = 0
    for at in cuts:
        pieces.append(ordered[start:at])
        start = at + 1
    pieces.append(ordered[start:])
    return tuple(itertools.chain.from_iterable(pieces))


def _unmatched_class(catalog: Catalog, matched: frozenset[str], universal: frozenset[int]) -> ActionClass | None:
    """The class of the actions no pattern but ``*`` matches (``matched``: those another does)."""
    ordered, counts, any_count = _catalog_totals(catalog)
    left = dict(counts)
    for action in matched:
        info = catalog.actions[action]
        any_count -= info.any_resource
        for f in info.formats:
            left[f] -= 1
    members = _all_but(ordered, matched)
    if not members:
        return None
    formats = tuple(sorted(f for f, n in left.items() if n > 0))
    return ActionClass(actions=members, signature=universal, formats=formats, any_resource=any_count > 0)

"""Quick, sound tests over resource glob patterns, in Python.

A pattern's fixed beginning and end (:func:`literal_ends`), whether two patterns are shown
disjoint (:func:`disjoint`), whether one is shown to contain another (:func:`contains`, reading
the inner pattern's wildcards as symbols), and a variable-free pattern as a Python regex
(:func:`pattern_python`). A test that answers False means "not shown", never the opposite: the
callers fall back on exact automaton search (:mod:`simulator.aws.globs`) or z3.
"""

from __future__ import annotations

import re
from functools import lru_cache

from simulator.aws.values import (
    AnyChar,
    Lit,
    Pattern,
    Star,
)


@lru_cache(maxsize=65536)
def pattern_python(pattern: Pattern) -> re.Pattern[str]:
    out = []
    for part in pattern:
        if isinstance(part, Lit):
            out.append(re.escape(part.text))
        elif isinstance(part, Star):
            out.append(".*")
        elif isinstance(part, AnyChar):
            out.append(".")
    return re.compile("".join(out) + r"\Z", re.S)


@lru_cache(maxsize=65536)
def literal_ends(pattern: Pattern) -> tuple[str, str]:
    """The literal text before the first wildcard and after the last one."""
    head, tail = "", ""
    for part in pattern:
        if not isinstance(part, Lit):
            break
        head += part.text
    for part in reversed(pattern):
        if not isinstance(part, Lit):
            break
        tail = part.text + tail
    return head, tail


def disjoint(a: Pattern, b: Pattern) -> bool:
    """A quick, sound test that no string matches both globs: their fixed beginnings (or
    ends) disagree. False means "not shown", not "they overlap"."""
    (head_a, tail_a), (head_b, tail_b) = literal_ends(a), literal_ends(b)
    if not (head_a.startswith(head_b) or head_b.startswith(head_a)):
        return True
    return not (tail_a.endswith(tail_b) or tail_b.endswith(tail_a))


_SOME_TEXT, _ONE_CHAR = "\u0000", "\u0001"  # a pattern's ``*`` and ``?`` as symbols (no ARN has them)


@lru_cache(maxsize=65536)
def _containing_regex(pattern: Pattern) -> re.Pattern[str]:
    """``pattern`` as a regex over patterns written symbolically (:func:`_symbolic`): its ``*``
    reads anything, its ``?`` one character or a ``?``, never a ``*``; literals read themselves."""
    out = []
    for part in pattern:
        if isinstance(part, Lit):
            out.append(re.escape(part.text))
        elif isinstance(part, Star):
            out.append(".*")
        elif isinstance(part, AnyChar):
            out.append("[^" + _SOME_TEXT + "]")
        else:
            out.append("(?!)")  # a variable: matches nothing here, so nothing is shown contained
    return re.compile("".join(out) + r"\Z", re.S)


@lru_cache(maxsize=65536)
def _symbolic(pattern: Pattern) -> str | None:
    """``pattern`` with its ``*`` and ``?`` as symbols (None: it has a variable, or a literal
    with one of those symbols)."""
    out = []
    for part in pattern:
        if isinstance(part, Lit):
            if _SOME_TEXT in part.text or _ONE_CHAR in part.text:
                return None
            out.append(part.text)
        elif isinstance(part, Star):
            out.append(_SOME_TEXT)
        elif isinstance(part, AnyChar):
            out.append(_ONE_CHAR)
        else:
            return None
    return "".join(out)


def contains(outer: Pattern, inner: Pattern) -> bool:
    """A sound test that every string ``inner`` matches, ``outer`` matches: ``outer`` matches
    ``inner`` read symbolically — each ``*`` of ``inner`` taken by a ``*`` of ``outer``, each
    ``?`` by a ``?`` or ``*``. (Any string ``inner`` matches then follows the same alignment.)
    False means "not shown"."""
    if outer == inner or outer == (Star(),):
        return True
    symbolic = _symbolic(inner)
    if symbolic is None or any(isinstance(p, Lit) and (_SOME_TEXT in p.text or _ONE_CHAR in p.text) for p in outer):
        return False
    return _containing_regex(outer).match(symbolic) is not None

"""Resource cells: the resource space cut by a question's Resource / NotResource elements.

With a free resource, the main solver chooses a cell (an integer) instead of a string: every
resource in the universe lies in exactly one cell, a non-empty Boolean combination of the units
(elements), each with a sample member. The resource must have an ARN format that an action of
the chosen class accepts (or be ``*`` for actions that take no resource type): the universe is
``*`` and the resources of the formats the question's actions take, or every ARN-shaped string
when an action is not in the catalog. Emptiness is decided by automaton search; a search too
large to finish keeps the cell (UNSURE), so a witness search in it may fail and the answer
becomes unknown, never wrong.

Policy variables: each variable pattern over resource cells is a free "hit" inside its
abstraction (the variable read as ``*``; see :meth:`simulator.aws.question.Question._variable_pattern`):
exact for a variable used once, otherwise compare realizes the values or says unknown.
:func:`cells_apply` says when cells can stand for the resource; otherwise it is one z3 string
matched by regex.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from simulator.aws import globs
from simulator.aws.arn_formats import (
    ARN_SHAPE,
    ARN_TOKENS,
    catalog_meeting,
    first_member,
    format_automaton,
    format_python_regex,
    formats_by_service,
    instantiate,
    pattern_tokens,
)
from simulator.aws.catalog import Catalog
from simulator.aws.resource_patterns import contains, disjoint, literal_ends, pattern_python
from simulator.aws.values import (
    Lit,
    Pattern,
    Star,
    Var,
)
from simulator.aws.z3_session import Z3Session

#: Product states one cell-sampling search may visit before the cell is kept as "may be empty".
SAMPLE_STATES = 500
#: Formats instantiated as cheap guesses for a cell's sample.
MAX_FORMAT_GUESSES = 200
#: The sample of a cell that may be empty: no resource is known to be in it.
UNSURE = "\u0000unsure"


@dataclass(frozen=True)
class Cell:
    """A non-empty set of resources: inside every pattern in ``inside``, outside the others."""

    inside: frozenset[int]
    sample: str


Unit = tuple[Pattern, ...]


class CellsTooCostly(Exception):
    """Cutting the resource space took longer than the question's timeout."""


class ResourceCells:
    """The resource space cut by a question's resource *elements*.

    A unit is one statement's Resource (or NotResource) list, without its variable patterns:
    it holds when any of its patterns does. Every resource in the universe lies in exactly one
    cell — a non-empty Boolean combination of units, with a sample — so the main solver chooses
    a cell (an integer) instead of a string. The universe is ``*`` and the resources of the
    ARN ``formats`` given (the formats the question's actions take), or, when an action is not in
    the catalog (``formats`` None), every ARN-shaped string (:data:`ARN_TOKENS`). Emptiness is
    decided exactly by automaton search (:mod:`globs`); a search too large to finish keeps the
    cell (an over-approximation: a witness search in it may fail and the answer becomes unknown,
    never wrong).
    """

    def __init__(
        self,
        session: Z3Session,
        catalog: Catalog,
        units: Sequence[Unit],
        timeout_ms: int,
        formats: Sequence[str] | None = None,
    ) -> None:
        self.session = session
        self.units = list(units)
        self.catalog = catalog
        self.formats = None if formats is None else tuple(sorted(set(formats)))
        self._format_set = frozenset(self.formats or ())
        self._unit_formats: dict[int, frozenset[str]] = {}
        self._typed: dict[frozenset[int], tuple[str, ...]] = {}
        self.python = [[pattern_python(p) for p in unit] for unit in self.units]
        # Patterns by their fixed beginning: a text can only match a pattern whose beginning is a
        # prefix of it, so "does some outside unit hold this text" looks up the text's prefixes
        # instead of trying every unit (policies with thousands of distinct resources).
        self._by_head: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        self._units_of: dict[Pattern, set[int]] = {}
        for n, unit in enumerate(self.units):
            for pattern, regex in zip(unit, self.python[n], strict=True):
                self._by_head.setdefault(literal_ends(pattern)[0], []).append((n, regex))
                self._units_of.setdefault(pattern, set()).add(n)
        self.timeout_ms = timeout_ms
        self.places = _named_places(self.units)
        self.universe = session.generic_resource(catalog)
        self._regexes: dict[int, Any] = {}
        cells = [Cell(frozenset(), "*")]
        outside: dict[frozenset[int], set[int]] = {frozenset(): set()}
        deadline = time.monotonic() + timeout_ms / 1000
        heads: list[tuple[str, int]] = []  # (fixed beginning, unit) of the units cut so far, sorted
        for index in range(len(self.units)):
            if time.monotonic() > deadline:
                raise CellsTooCostly(f"{len(self.units)} resource elements")
            meeting = self._meeting_units(index, heads)
            split: list[Cell] = []
            for n, cell in enumerate(cells):
                if n % 256 == 0 and time.monotonic() > deadline:
                    raise CellsTooCostly(f"{len(self.units)} resource elements")
                out_set = outside[cell.inside]
                if cell.inside and not cell.inside <= meeting:
                    # the unit is shown disjoint from one the cell is inside: it misses the cell
                    split.append(cell)
                    out_set.add(index)
                    continue
                inside = cell.inside | {index}
                if self.holds(index, cell.sample):
                    split.append(Cell(inside, cell.sample))
                    other = self._sample(cell.inside, out_set | {index})
                    if other is not None:
                        split.append(Cell(cell.inside, other))
                        outside[cell.inside] = out_set | {index}
                    outside[inside] = set(out_set)
                else:
                    split.append(Cell(cell.inside, cell.sample))
                    other = self._sample(inside, out_set)
                    if other is not None:
                        split.append(Cell(inside, other))
                        outside[inside] = set(out_set)
                    out_set.add(index)  # each cell owns its set: updated in place, not copied
            cells = split
            for pattern in self.units[index]:
                bisect.insort(heads, (literal_ends(pattern)[0], index))
        self.cells = cells
        self.outside = {c.inside: frozenset(outside[c.inside]) for c in cells}
        self._members: dict[int, list[int]] | None = None

    def holds(self, unit: int, text: str) -> bool:
        return any(regex.match(text) for regex in self.python[unit])

    def in_cell(self, inside: Iterable[int], outside: Iterable[int], text: str) -> bool:
        if not all(self.holds(i, text) for i in inside):
            return False
        excluded = outside if isinstance(outside, set | frozenset) else set(outside)
        for end in range(len(text) + 1):
            for unit, regex in self._by_head.get(text[:end], ()):
                if unit in excluded and regex.match(text):
                    return False
        return True

    def candidates(self, inside: Iterable[int]) -> list[str]:
        """Cheap guesses for a member: each pattern of each unit with its wildcards filled."""
        out = ["*", "arn:aws:iamdrift:::x"]
        for i in inside:
            for pattern in self.units[i]:
                out.append(_field_fill(pattern))
                for fill in ("", "x", "iamdrift", "iamdrift-x/y", "iamdrift/x"):
                    out.append(
                        "".join(
                            p.text if isinstance(p, Lit) else (fill if isinstance(p, Star) else "x") for p in pattern
                        )
                    )
        return out

    def format_guesses(self, formats: Sequence[str]) -> Iterator[str]:
        """Cheap guesses for a typed member: each format (at most :data:`MAX_FORMAT_GUESSES`)
        with its placeholders filled, also with the accounts and regions the patterns name."""
        for arn_format in formats[:MAX_FORMAT_GUESSES]:
            for fill in ("iamdrift", "x"):
                yield instantiate(arn_format, fill)
            for account, region in self.places:
                yield instantiate(arn_format, "iamdrift", account, region)

    def _sample(self, inside: frozenset[int], outside: set[int]) -> str | None:
        """A member of the cell (within the universe), None when it is empty, or UNSURE."""
        formats = self.typed_formats(inside)

        def fits(text: str) -> bool:
            if not self.in_cell(inside, outside, text) or (text != "*" and any(ch not in arn_chars for ch in text)):
                return False
            if formats is None:
                return text == "*" or ARN_SHAPE.match(text) is not None
            return self.typed(text, by_service)

        # The cheap emptiness proofs first: most cells cut from many distinct resources are empty.
        if self._inside_disjoint(inside) or self._covered(inside, outside) or self._subsumed(inside, outside):
            return None
        by_service = {} if formats is None else formats_by_service(formats)
        arn_chars = self.session.arn_chars
        if formats == ():  # no typed resource meets every inside unit: only ``*`` may be left
            return "*" if fits("*") else None
        guesses: Iterable[str] = self.candidates(sorted(inside))
        if formats is not None:
            guesses = itertools.chain(guesses, self.format_guesses(formats))
        for candidate in guesses:
            if fits(candidate):
                return candidate
        languages = self.languages(inside, outside, None)
        if languages is None:
            return None
        positive, negative = languages
        universe: globs.Union | globs.Automaton = (ARN_TOKENS,) if formats is None else format_automaton(formats)
        found, settled = first_member(
            [universe, *positive], frozenset(arn_chars), fits, negative, limit_states=SAMPLE_STATES
        )
        if found is not None or settled:
            return found
        return UNSURE  # kept: a cell that may be empty (typed_resource settles it if it is chosen)

    def _meeting_units(self, index: int, heads: list[tuple[str, int]]) -> set[int]:
        """The units cut so far that unit ``index`` is not shown disjoint from: found by their
        fixed beginnings (one must begin the other), then checked by their ends."""
        found: set[int] = set()
        for pattern in self.units[index]:
            head = literal_ends(pattern)[0]
            for end in range(len(head) + 1):  # units whose beginning begins this head
                prefix = head[:end]
                at = bisect.bisect_left(heads, (prefix, -1))
                while at < len(heads) and heads[at][0] == prefix:
                    found.add(heads[at][1])
                    at += 1
            at = bisect.bisect_left(heads, (head, -1))  # units whose beginning this head begins
            while at < len(heads) and heads[at][0].startswith(head):
                found.add(heads[at][1])
                at += 1
        return {u for u in found if not self._units_disjoint(u, index)}

    def _units_disjoint(self, a: int, b: int) -> bool:
        """Every pattern of unit ``a`` is shown disjoint from every pattern of unit ``b``."""
        return all(disjoint(p, q) for p in self.units[a] for q in self.units[b])

    def _inside_disjoint(self, inside: frozenset[int]) -> bool:
        """Two inside units are shown disjoint (by their fixed beginnings and ends): the cell is
        empty. Cheap, and it spares the automaton search for most cells of policies with many
        distinct resources."""
        units = sorted(inside)
        return any(self._units_disjoint(a, b) for i, a in enumerate(units) for b in units[i + 1 :])

    def _covered(self, inside: Iterable[int], outside: Iterable[int]) -> bool:
        """Some inside unit's patterns all belong to outside units (or an outside unit is
        ``*``): the cell is empty."""
        excluded = outside if isinstance(outside, set | frozenset) else set(outside)

        def out(pattern: Pattern) -> bool:
            return any(j in excluded for j in self._units_of.get(pattern, ()))

        if out((Star(),)):
            return True
        return any(all(out(p) for p in self.units[i]) for i in inside)

    def _subsumed(self, inside: Iterable[int], outside: Iterable[int]) -> bool:
        """Every pattern of some inside unit is contained in a pattern of an outside unit (see
        :func:`contains`): the cell is empty."""
        others = [q for j in outside for q in self.units[j]]
        if not others:
            return False
        return any(all(any(contains(q, p) for q in others) for p in self.units[i]) for i in inside)

    def typed_formats(self, inside: Iterable[int]) -> tuple[str, ...] | None:
        """The universe's formats that may meet every inside unit, sorted (None: an untyped
        universe)."""
        if self.formats is None:
            return None
        key = frozenset(inside)
        found = self._typed.get(key)
        if found is None:
            meeting = [self._formats_meeting(i) for i in key]
            found = tuple(sorted(frozenset.intersection(*meeting))) if meeting else self.formats
            self._typed[key] = found
        return found

    def covers(self, formats: Iterable[str]) -> bool:
        """Every one of ``formats`` is in the universe (so :meth:`typed_formats` decides, for
        them, what :meth:`may_meet` would, with the service narrowing of :func:`formats_meeting`)."""
        return self.formats is not None and all(f in self._format_set for f in formats)

    def _formats_meeting(self, unit: int) -> frozenset[str]:
        found = self._unit_formats.get(unit)
        if found is None:
            assert self.formats is not None
            # Met among all the catalog's formats once per pattern (kept across questions), then
            # narrowed to this universe's: the same set, without walking thousands per question.
            found = frozenset().union(*(catalog_meeting(self.catalog, p) for p in self.units[unit]))
            found &= self._format_set
            self._unit_formats[unit] = found
        return found

    def typed(self, text: str, formats: Sequence[str] | dict[str, tuple[str, ...]]) -> bool:
        """``text`` is ``*`` or a resource of one of ``formats`` (looked up by its service; pass
        them grouped by service, see :func:`formats_by_service`, when testing many texts)."""
        if text == "*":
            return True
        fields = text.split(":", 3)
        if len(fields) < 4 or fields[0] != "arn" or fields[1] != "aws":
            return False
        by_service = formats if isinstance(formats, dict) else formats_by_service(tuple(formats))
        return any(format_python_regex(f).match(text) for f in by_service.get(fields[2], ()))

    def may_meet(self, pattern: Pattern, inside: Iterable[int]) -> bool:
        """False when ``pattern`` is shown disjoint from some inside unit (every pattern of it)."""
        return all(any(not disjoint(pattern, p) for p in self.units[i]) for i in inside)

    def languages(
        self, inside: Iterable[int], outside: Iterable[int], base: Pattern | None
    ) -> tuple[list[globs.Union], list[globs.Union]] | None:
        """The cell (within ``base`` when given) as automaton languages: one union per inside
        unit (positive) and per outside unit (negative), each without the patterns shown
        disjoint from the rest; None when an inside unit is shown disjoint (the cell is empty)."""
        bases = [] if base is None else [base]
        kept = []
        for i in sorted(inside):
            patterns = [p for p in self.units[i] if not any(disjoint(p, b) for b in bases)]
            if not patterns:
                return None
            kept.append(patterns)

        def may_meet(p: Pattern) -> bool:
            return not any(disjoint(p, b) for b in bases) and all(any(not disjoint(p, q) for q in u) for u in kept)

        positive = [tuple(pattern_tokens(p) for p in patterns) for patterns in kept]
        negative = []
        for j in sorted(outside):
            patterns = [p for p in self.units[j] if may_meet(p)]
            if patterns:
                negative.append(tuple(pattern_tokens(p) for p in patterns))
        return positive, negative

    def members(self, unit: int) -> list[int]:
        """The cells inside ``unit`` (indexed once: every element asks)."""
        if self._members is None:
            self._members = {}
            for n, cell in enumerate(self.cells):
                for u in cell.inside:
                    self._members.setdefault(u, []).append(n)
        return self._members.get(unit, [])

    def cell_regex(self, n: int) -> tuple[list[Any], list[Any]]:
        """Regexes a string must match (and must not) to be a member of cell ``n``."""
        cell = self.cells[n]
        return [self._regex(i) for i in cell.inside], [self._regex(j) for j in self.outside[cell.inside]]

    def _regex(self, unit: int) -> Any:
        """The z3 regex of a unit (built when first asked: only the solver's fallback needs it)."""
        found = self._regexes.get(unit)
        if found is None:
            found = self._regexes[unit] = _union(
                [self.session.pattern_regex(p) for p in self.units[unit]], self.session
            )
        return found


def _field_fill(pattern: Pattern) -> str:
    """The pattern with each wildcard filled by what its ARN field takes: a region in the fourth
    field, a 12-digit account in the fifth, a name elsewhere (a guess that is often typed)."""
    out: list[str] = []
    colons = 0
    for part in pattern:
        if isinstance(part, Lit):
            out.append(part.text)
            colons += part.text.count(":")
        else:
            fill = "us-east-1" if colons == 3 else "111122223333" if colons == 4 else "iamdrift"
            out.append(fill if isinstance(part, Star) else fill[0])
    return "".join(out)


def _named_places(units: Sequence[Unit], limit: int = 4) -> list[tuple[str, str]]:
    """(account, region) pairs for guesses: the accounts and regions resource patterns name in
    their ARN fields (a pattern naming an account only holds resources of that account)."""
    accounts: dict[str, None] = {}
    regions: dict[str, None] = {"us-east-1": None}
    for unit in units:
        for pattern in unit:
            fields = "".join(p.text if isinstance(p, Lit) else "*" for p in pattern).split(":")
            if len(fields) >= 5 and fields[0] == "arn":
                if re.fullmatch(r"[0-9]{12}", fields[4]):
                    accounts[fields[4]] = None
                if re.fullmatch(r"[a-z0-9-]+", fields[3]):
                    regions[fields[3]] = None
    return [(a, r) for a in accounts for r in regions][:limit]


def _union(regexes: list[Any], session: Z3Session) -> Any:
    return regexes[0] if len(regexes) == 1 else z3.Union(*regexes)


class Units:
    """Units in order of first use, each once."""

    def __init__(self) -> None:
        self.units: list[Unit] = []
        self._index: dict[Unit, int] = {}

    def __call__(self, unit: Unit) -> int:
        found = self._index.get(unit)
        if found is None:
            found = self._index[unit] = len(self.units)
            self.units.append(unit)
        return found


def abstract(pattern: Pattern) -> Pattern:
    """The pattern with each variable as ``*``: a superset of what it matches for any value."""
    return tuple(Star() if isinstance(p, Var) else p for p in pattern)


def with_default(pattern: Pattern) -> Pattern | None:
    """The pattern as it reads when its variable's key is absent: the default in its place (None
    when the variable has no default)."""
    out: list[Any] = []
    for part in pattern:
        if isinstance(part, Var):
            if part.default is None:
                return None
            out.append(Lit(part.default))
        else:
            out.append(part)
    return tuple(out)


def cells_apply(patterns: Sequence[Pattern], catalog: Catalog) -> bool:
    """Resource cells can stand for the resource when every resource pattern holds at most one
    variable, of a key whose values are strings. Each variable pattern is then abstracted (see
    :meth:`Question._variable_pattern`): exact for a variable used once, an over-approximation
    otherwise (the witness search realizes the values, or the answer is unknown)."""
    for pattern in patterns:
        variables = [part for part in pattern if isinstance(part, Var)]
        if len(variables) > 1:
            return False
        for part in variables:
            known = catalog.key_type(part.key)
            if known is not None and known.sort != "string":
                return False
    return True

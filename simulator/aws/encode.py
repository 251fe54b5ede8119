"""The z3 encoding of AWS policy statements over a symbolic request.

One :class:`Question` owns one z3 context and every variable of one question; nothing here is
module-level state. The request's parts are concrete or free:

- **action**: concrete, or free over the *classes* of the catalog: actions grouped by which of
  the question's action patterns match them (a few dozen classes instead of 22,000 actions).
  Actions a policy names that the catalog lacks get a class of their own and are reported.
- **resource**: a z3 string, a constant or free; when free it must have an ARN format that an
  action of the chosen class accepts (or be ``*`` for actions that take no resource type).
- **principal**: concrete, or free over representatives: every principal a Principal element
  names, a role in each account named, a role in an account nobody names, a service nobody
  names. Principal matching depends only on those equalities, so the representatives are
  complete.
- **context**: per key, up to N value slots (N = the number of conditions on the key for
  multi-valued keys, 1 otherwise: enough for every ForAnyValue to find its own value), each with
  a string view and a typed view (numeric, date, bool, IP) that is either a valid value or marks
  the text as unparseable. A free key's values take its documented type (catalog), or the type
  its operators imply.

- **policy variables**: a statement holds only where each of its variables resolves (its key has
  one value, or is absent and the variable has a default): AWS makes a statement with an
  unresolvable variable invalid, so it neither allows nor denies, and a NotResource with such a
  variable matches nothing. Free keys may be absent or present (their value count is a variable).
  With a free resource, each variable pattern over resource cells is a free "hit" inside its
  abstraction (exact for a variable used once; otherwise compare realizes the values or says
  unknown).
- **aws:EpochTime** (documented as Date and Numeric) is one integer of seconds that Numeric
  operators read as a number and Date operators as a time.

Every connective goes straight through the C API and each distinct element, action list,
condition and variable guard is encoded once per question, so policies of thousands of
statements encode in seconds.

Constructs z3 cannot decide here make a statement *unsupported* (see semantics.py for how the
bounds treat it): a key used with operators of two typed families while free, a variable inside
an IgnoreCase comparison on a free key.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import z3

from simulator.aws import globs
from simulator.aws.catalog import Catalog, format_regex_parts
from simulator.aws.policy import Condition, PolicyDocument, Statement
from simulator.aws.request import Principal, classify_principal
from simulator.aws.semantics import Algebra, PrincipalMatch
from simulator.aws.values import (
    AnyChar,
    IpValue,
    Lit,
    Pattern,
    Star,
    Var,
    format_date,
    format_ip,
    parse_bool,
    parse_cidr,
    parse_date,
    parse_ip,
    parse_number,
)

TYPED = ("numeric", "date", "bool", "ip")
MAX_SLOTS = 4
#: Formats asked of z3 one by one when looking for a typed resource, before giving up (unsettled).
MAX_FORMAT_CHECKS = 40
UNKNOWN_ACCOUNT = "999999999999"
#: Product states one cell-sampling search may visit before the cell is kept as "may be empty".
SAMPLE_STATES = 500
#: Formats instantiated as cheap guesses for a cell's sample.
MAX_FORMAT_GUESSES = 200
#: The sample of a cell that may be empty: no resource is known to be in it.
UNSURE = "\u0000unsure"


class Unsupported(Exception):
    """A construct this encoding does not decide; the statement becomes unsupported."""


def zstr(text: str, ctx: Any) -> Any:
    """A z3 string constant holding exactly ``text``: z3 reads ``\\u{..}`` escapes in string
    literals, so a backslash is itself written as an escape."""
    return z3.StringVal(text.replace("\\", "\\u{5c}"), ctx)


def string_value(value: Any) -> str:
    """The text of a z3 string constant, character for character (``as_string`` writes characters
    past U+00FF as ``\\u{..}`` escapes, which would name another string)."""
    ctx, ast = value.ctx_ref(), value.as_ast()
    length = z3.z3core.Z3_get_string_length(ctx, ast)
    codes = (ctypes.c_uint * length)()
    z3.z3core.Z3_get_string_contents(ctx, ast, length, codes)
    return "".join(map(chr, codes))


def is_printable(text: str) -> bool:
    """``text`` lies in :attr:`Z3Session.printable` (the characters free context values take)."""
    return all(" " <= ch <= "~" or "\u00a0" <= ch <= "\ud7ff" for ch in text)


def is_path_placeholder(name: str) -> bool:
    """ARN placeholders that hold paths (object keys, IAM names with paths) may contain ``/``."""
    return any(word in name for word in ("Path", "Object", "Key", "Prefix"))


# --- Action classes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionClass:
    """Actions that every pattern of the question treats alike."""

    actions: tuple[str, ...]  # lower-cased catalog keys, or the literal name for an unknown action
    signature: frozenset[int]
    formats: tuple[str, ...]
    any_resource: bool
    unknown: bool = False


def _glob(pattern: str) -> re.Pattern[str]:
    """AWS globs: ``*`` and ``?`` are wildcards, every other character (``[`` too) is literal."""
    return _glob_cached(pattern)


def action_matches(pattern: str, action: str) -> bool:
    """``action`` matches the (lower-cased) action ``pattern``, compared as AWS compares them."""
    return _glob(pattern).match(ascii_lower(action)) is not None


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
        literal_sig = frozenset(i for i, p in enumerate(patterns) if _glob(p).match(name))
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
        regex = _glob(pattern)
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


# --- Context keys -------------------------------------------------------------------------------


@dataclass
class Slot:
    text: Any  # z3 string term
    typed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # family -> (valid, value)


@dataclass
class KeyVar:
    key: str
    free: bool
    sort: str  # the value sort of a free key: string | numeric | date | bool | ip
    count: Any  # z3 Int term (or constant)
    slots: list[Slot]
    multi: bool


@dataclass
class KeyUsage:
    families: set[str] = field(default_factory=set)
    clauses: int = 0
    qualified: bool = False
    in_patterns: bool = False
    in_values: bool = False  # a variable in some condition's values
    ignore_case_vars: bool = False


def key_usage(documents: Sequence[PolicyDocument]) -> dict[str, KeyUsage]:
    usage: dict[str, KeyUsage] = {}

    def note_vars(patterns: Iterable[Pattern], ignore_case: bool = False, value: bool = False) -> None:
        for pattern in patterns:
            for part in pattern:
                if isinstance(part, Var):
                    u = usage.setdefault(part.key, KeyUsage())
                    u.in_patterns = True
                    u.in_values |= value
                    u.ignore_case_vars |= ignore_case

    for doc in documents:
        for s in doc.statements:
            note_vars(s.resources or s.not_resources or ())
            for c in s.conditions:
                u = usage.setdefault(c.key, KeyUsage())
                u.clauses += 1
                u.qualified |= c.qualifier is not None
                if c.family != "null":
                    u.families.add("string" if c.family in ("string", "arn", "binary") else c.family)
                note_vars(c.patterns, ignore_case=c.test == "equals_ignore_case", value=True)
    return usage


def _char_class(characters: str, c: Any) -> Any:
    """A regex of one character from ``characters``, as few ranges as possible (z3 handles
    a union of ranges far better than a union of single characters)."""
    codes = sorted({ord(ch) for ch in characters})
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    parts = [z3.Range(chr(lo), chr(hi), ctx=c) for lo, hi in ranges]
    return parts[0] if len(parts) == 1 else z3.Union(*parts)


# --- The session and the question ----------------------------------------------------------------


class Z3Session:
    """One z3 context and what every question in it can share (regex building blocks, ARN
    format regexes). Questions asked one after another reuse a session: making a context costs
    milliseconds. A session is not shared between threads."""

    def __init__(self) -> None:
        c = self.ctx = z3.Context()
        self.S = z3.StringSort(c)
        self.R = z3.ReSort(self.S)
        self.any_char = z3.AllChar(self.R)
        self.any_string = z3.Star(self.any_char)
        self.non_colon = z3.Intersect(self.any_char, z3.Complement(z3.Re(zstr(":", c))))
        printable = z3.Union(z3.Range(" ", "~", ctx=c), z3.Range("\u00a0", "\ud7ff", ctx=c))
        self.printable = z3.Star(printable)
        self.format_cache: dict[str, Any] = {}
        self.questions = 0
        self._generic: Any = None
        self.arn_chars: set[str] = set()

    def pattern_regex(self, pattern: Pattern) -> Any:
        """The regex of a variable-free glob pattern (``*`` and ``?`` cross every character)."""
        c = self.ctx
        pieces = []
        for part in pattern:
            if isinstance(part, Lit):
                pieces.append(z3.Re(zstr(part.text, c)))
            elif isinstance(part, Star):
                pieces.append(self.any_string)
            elif isinstance(part, AnyChar):
                pieces.append(self.any_char)
            else:
                raise ValueError("pattern with a variable")
        if not pieces:
            return z3.Re(zstr("", c))
        return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)

    def generic_resource(self, catalog: Catalog) -> Any:
        """``*`` or ``arn:aws:SERVICE:REGION:ACCOUNT:rest`` (the first three fields without a
        colon) over characters catalog ARNs use: contains every typed resource (every format has
        that shape), so a proof of none over it is a proof of none over typed resources, and its
        models look like ARNs. The same set as :data:`ARN_TOKENS`."""
        if self._generic is None:
            c = self.ctx
            self.arn_chars = set(catalog.arn_characters)
            chars = _char_class(catalog.arn_characters, c)
            field = z3.Star(_char_class(catalog.arn_characters.replace(":", ""), c))
            colon = z3.Re(zstr(":", c))
            arn = z3.Concat(z3.Re(zstr("arn:aws:", c)), field, colon, field, colon, field, colon, z3.Star(chars))
            self._generic = z3.Union(z3.Re(zstr("*", c)), arn)
        return self._generic


# --- Resource cells ---------------------------------------------------------------------------------


def _pattern_python(pattern: Pattern) -> re.Pattern[str]:
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
def _literal_ends(pattern: Pattern) -> tuple[str, str]:
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


def _disjoint(a: Pattern, b: Pattern) -> bool:
    """A quick, sound test that no string matches both globs: their fixed beginnings (or
    ends) disagree. False means "not shown", not "they overlap"."""
    (head_a, tail_a), (head_b, tail_b) = _literal_ends(a), _literal_ends(b)
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


def _contains(outer: Pattern, inner: Pattern) -> bool:
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


@dataclass(frozen=True)
class Cell:
    """A non-empty set of resources: inside every pattern in ``inside``, outside the others."""

    inside: frozenset[int]
    sample: str


Unit = tuple[Pattern, ...]


class CellsTooCostly(Exception):
    """Cutting the resource space took longer than the question's timeout."""


class DeadlineExceeded(Exception):
    """The question's deadline passed while it was being encoded or searched: its answer is
    unknown (the message says where the time went)."""


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
        self.python = [[_pattern_python(p) for p in unit] for unit in self.units]
        # Patterns by their fixed beginning: a text can only match a pattern whose beginning is a
        # prefix of it, so "does some outside unit hold this text" looks up the text's prefixes
        # instead of trying every unit (policies with thousands of distinct resources).
        self._by_head: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        self._units_of: dict[Pattern, set[int]] = {}
        for n, unit in enumerate(self.units):
            for pattern, regex in zip(unit, self.python[n], strict=True):
                self._by_head.setdefault(_literal_ends(pattern)[0], []).append((n, regex))
                self._units_of.setdefault(pattern, set()).add(n)
        self.timeout_ms = timeout_ms
        self.places = _named_places(self.units)
        self.universe = session.generic_resource(catalog)
        self.regexes = [_union([session.pattern_regex(p) for p in unit], session) for unit in self.units]
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
                bisect.insort(heads, (_literal_ends(pattern)[0], index))
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
                yield _instantiate(arn_format, fill)
            for account, region in self.places:
                yield _instantiate(arn_format, "iamdrift", account, region)

    def _sample(self, inside: frozenset[int], outside: set[int]) -> str | None:
        """A member of the cell (within the universe), None when it is empty, or UNSURE."""
        formats = self.typed_formats(inside)

        def fits(text: str) -> bool:
            if not self.in_cell(inside, outside, text) or (text != "*" and any(ch not in arn_chars for ch in text)):
                return False
            if formats is None:
                return text == "*" or ARN_SHAPE.match(text) is not None
            return self.typed(text, by_service)

        if self._inside_disjoint(inside):
            return None
        by_service = {} if formats is None else _formats_by_service(formats)
        arn_chars = self.session.arn_chars
        guesses: Iterable[str] = self.candidates(sorted(inside))
        if formats is not None:
            guesses = itertools.chain(guesses, self.format_guesses(formats))
        for candidate in guesses:
            if fits(candidate):
                return candidate
        if formats == () or self._covered(inside, outside) or self._subsumed(inside, outside):
            return None
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
            head = _literal_ends(pattern)[0]
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
        return all(_disjoint(p, q) for p in self.units[a] for q in self.units[b])

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
        :func:`_contains`): the cell is empty."""
        others = [q for j in outside for q in self.units[j]]
        if not others:
            return False
        return any(all(any(_contains(q, p) for q in others) for p in self.units[i]) for i in inside)

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
            found = frozenset().union(*(_catalog_meeting(self.catalog, p) for p in self.units[unit]))
            found &= self._format_set
            self._unit_formats[unit] = found
        return found

    def typed(self, text: str, formats: Sequence[str] | dict[str, tuple[str, ...]]) -> bool:
        """``text`` is ``*`` or a resource of one of ``formats`` (looked up by its service; pass
        them grouped by service, see :func:`_formats_by_service`, when testing many texts)."""
        if text == "*":
            return True
        fields = text.split(":", 3)
        if len(fields) < 4 or fields[0] != "arn" or fields[1] != "aws":
            return False
        by_service = formats if isinstance(formats, dict) else _formats_by_service(tuple(formats))
        return any(_format_python_regex(f).match(text) for f in by_service.get(fields[2], ()))

    def may_meet(self, pattern: Pattern, inside: Iterable[int]) -> bool:
        """False when ``pattern`` is shown disjoint from some inside unit (every pattern of it)."""
        return all(any(not _disjoint(pattern, p) for p in self.units[i]) for i in inside)

    def languages(
        self, inside: Iterable[int], outside: Iterable[int], base: Pattern | None
    ) -> tuple[list[globs.Union], list[globs.Union]] | None:
        """The cell (within ``base`` when given) as automaton languages: one union per inside
        unit (positive) and per outside unit (negative), each without the patterns shown
        disjoint from the rest; None when an inside unit is shown disjoint (the cell is empty)."""
        bases = [] if base is None else [base]
        kept = []
        for i in sorted(inside):
            patterns = [p for p in self.units[i] if not any(_disjoint(p, b) for b in bases)]
            if not patterns:
                return None
            kept.append(patterns)

        def may_meet(p: Pattern) -> bool:
            return not any(_disjoint(p, b) for b in bases) and all(any(not _disjoint(p, q) for q in u) for u in kept)

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
        return [self.regexes[i] for i in cell.inside], [self.regexes[j] for j in self.outside[cell.inside]]


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


class _Units:
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


def _abstract(pattern: Pattern) -> Pattern:
    """The pattern with each variable as ``*``: a superset of what it matches for any value."""
    return tuple(Star() if isinstance(p, Var) else p for p in pattern)


def _with_default(pattern: Pattern) -> Pattern | None:
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


def _cells_apply(patterns: Sequence[Pattern], catalog: Catalog) -> bool:
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


# --- The question -------------------------------------------------------------------------------


class Question:
    """Variables and encodings for one question about one request shape."""

    def __init__(
        self,
        catalog: Catalog,
        documents: Sequence[PolicyDocument],
        *,
        action: str | None,
        resource: str | None,
        principal: Principal | None,
        context: dict[str, tuple[str, ...]],
        free_context: bool,
        principal_free: bool = False,
        action_universe: Sequence[str] | None = None,
        timeout_ms: int = 10_000,
        session: Z3Session | None = None,
        deadline: float | None = None,
        resource_cells: bool = True,
    ) -> None:
        """``deadline``: a ``time.monotonic()`` instant no work of this question may pass (the
        resource cells and typed-resource searches stop there; None: each gets ``timeout_ms``).
        ``resource_cells=False``: a free resource is one string matched by regex (callers that
        constrain it themselves, e.g. ``can`` about any resource of one action's types)."""
        self.catalog = catalog
        self.documents = list(documents)
        self.timeout_ms = timeout_ms
        self.deadline = deadline
        self.session = session or Z3Session()
        self.session.questions += 1
        # Variable names are unique per question, so questions sharing a session never collide.
        self.prefix = f"q{self.session.questions}."
        c = self.ctx = self.session.ctx
        self.S = self.session.S
        self.R = self.session.R
        self.TRUE = z3.BoolVal(True, c)
        self.FALSE = z3.BoolVal(False, c)
        self.true, self.false = self.TRUE, self.FALSE  # the Algebra protocol's constants
        self.any_char = self.session.any_char
        self.any_string = self.session.any_string
        self.non_colon = self.session.non_colon
        self.printable = self.session.printable
        self.domain: list[Any] = []
        #: The printable-text constraints of free context values (also in ``domain``): a caller may
        #: leave them out of a check and add them only when a model breaks them (see compare).
        self.text_domain: list[tuple[Any, Any]] = []
        self.unknown_actions: list[str] = []
        self._stmt_cache: dict[tuple[int, int] | tuple[int, int, str], Any] = {}
        self._element_cache: dict[tuple[Pattern, ...], Any] = {}
        self._action_cache: dict[tuple[str, ...], Any] = {}
        self._condition_cache: dict[Condition, Any] = {}
        self._guard_cache: dict[tuple[str, bool], Any] = {}
        self._principal_cache: dict[tuple[int, int], PrincipalMatch[Any]] = {}
        self._format_cache = self.session.format_cache
        # action
        self.action_concrete = ascii_lower(action) if action is not None else None
        self.classes: tuple[ActionClass, ...] = ()
        if action is None:
            patterns = sorted({p for d in documents for s in d.statements for p in s.action_patterns})
            if action_universe is not None:
                patterns = sorted(set(patterns) | {ascii_lower(a) for a in action_universe})
            keep = any(s.not_actions is not None for d in documents for s in d.statements)
            classes = action_classes(catalog, tuple(patterns), keep)
            if action_universe is not None:
                wanted = {ascii_lower(a) for a in action_universe}
                classes = tuple(k for k in classes if wanted & set(k.actions))
                classes = tuple(
                    ActionClass(
                        actions=tuple(a for a in k.actions if a in wanted),
                        signature=k.signature,
                        formats=k.formats,
                        any_resource=k.any_resource,
                        unknown=k.unknown,
                    )
                    for k in classes
                )
            self.classes = classes
            self.pattern_index = {p: i for i, p in enumerate(patterns)}
            self.unknown_actions = [k.actions[0] for k in classes if k.unknown]
            self.action_var = z3.Int(self.prefix + "action_class", c)
            self.domain.append(z3.And(self.action_var >= 0, self.action_var < len(classes), c))
        # resource
        self.cells: ResourceCells | None = None
        self.var_patterns: dict[Pattern, tuple[str, Any]] = {}
        elements = [e for d in documents for s in d.statements for e in (s.resources, s.not_resources) if e is not None]
        unique = list(dict.fromkeys(p for e in elements for p in e))
        if resource is None and resource_cells and _cells_apply(unique, catalog):
            # Units: each element's variable-free patterns together (or each such pattern alone,
            # when there are fewer distinct patterns than distinct elements: cells then grow with
            # the patterns, not with their combinations), each variable pattern alone (abstracted:
            # its variable read as ``*``), and a defaulted variable's pattern as it reads with the
            # default.
            unit_index = _Units()
            self.element_units: dict[tuple[Pattern, ...], tuple[list[int], list[tuple[Pattern, int, int | None]]]] = {}
            plains = {e: tuple(p for p in e if not any(isinstance(x, Var) for x in p)) for e in dict.fromkeys(elements)}
            per_pattern = len({p for plain in plains.values() for p in plain}) < len(set(plains.values()))
            for element, plain in plains.items():
                plain_units = [unit_index((p,)) for p in plain] if per_pattern else [unit_index(plain)] if plain else []
                var_units = []
                for p in element:
                    if p in plain:
                        continue
                    defaulted = _with_default(p)
                    default_unit = unit_index((defaulted,)) if defaulted is not None else None
                    var_units.append((p, unit_index((_abstract(p),)), default_unit))
                self.element_units[element] = (plain_units, var_units)
            try:
                formats = None if any(k.unknown for k in self.classes) else self._class_formats()
                self.cells = ResourceCells(self.session, catalog, unit_index.units, self.remaining_ms(), formats)
            except CellsTooCostly:
                self.cells = None  # the string encoding below decides instead (or times out: unknown)
                self.check_deadline(f"cutting the resource space by {len(unit_index.units)} resource elements")
        if self.cells is not None:
            self.resource_cell = z3.Int(self.prefix + "resource_cell", c)
            self.domain.append(z3.And(self.resource_cell >= 0, self.resource_cell < len(self.cells.cells), c))
            self.resource = z3.String(self.prefix + "resource", c)  # set only when a witness is decoded
        elif resource is None:
            self.resource = z3.String(self.prefix + "resource", c)
            self.domain.append(z3.InRe(self.resource, self.session.generic_resource(catalog)))
        else:
            self.resource = zstr(resource, c)
        self.resource_free = resource is None
        # principal
        self.principal = principal
        self.principal_candidates: list[Principal] = []
        if principal_free:
            self.principal_candidates = principal_representatives(documents)
            self.principal_var = z3.Int(self.prefix + "principal", c)
            self.domain.append(z3.And(self.principal_var >= 0, self.principal_var < len(self.principal_candidates), c))
        # context
        self.usage = key_usage(documents)
        self.keys: dict[str, KeyVar] = {}
        self.free_context = free_context
        self.given_context = context
        self.numeric_scale = self._numeric_scale(documents, context)

    def check_deadline(self, doing: str) -> None:
        """Raise :class:`DeadlineExceeded` once the question's deadline has passed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded(f"the time budget ran out while {doing}")

    def remaining_ms(self) -> int:
        """Milliseconds of the question's budget left (``timeout_ms`` when it has no deadline)."""
        if self.deadline is None:
            return self.timeout_ms
        return max(0, min(self.timeout_ms, int((self.deadline - time.monotonic()) * 1000)))

    # -- z3 helpers --

    def _is(self, term: Any, constant: Any) -> bool:
        """``term`` is the constant (z3 shares equal terms, so one pointer comparison decides)."""
        return term is constant or bool(z3.z3core.Z3_is_eq_ast(self.ctx.ref(), term.as_ast(), constant.as_ast()))

    def or_(self, items: Iterable[Any]) -> Any:
        terms = [t for t in items if not self._is(t, self.FALSE)]
        if any(self._is(t, self.TRUE) for t in terms):
            return self.TRUE
        if not terms:
            return self.FALSE
        return terms[0] if len(terms) == 1 else self._connective(z3.z3core.Z3_mk_or, terms)

    def _connective(self, make: Any, terms: list[Any]) -> Any:
        """``make`` (Z3_mk_and / Z3_mk_or) over boolean ``terms`` of this context, straight through
        the C API: z3.And / z3.Or re-check every argument's sort, which dominates large policies."""
        arguments = (z3.Ast * len(terms))(*(t.as_ast() for t in terms))
        return z3.BoolRef(make(self.ctx.ref(), len(terms), arguments), self.ctx)

    def and_(self, items: Iterable[Any]) -> Any:
        terms = [t for t in items if not self._is(t, self.TRUE)]
        if any(self._is(t, self.FALSE) for t in terms):
            return self.FALSE
        if not terms:
            return self.TRUE
        return terms[0] if len(terms) == 1 else self._connective(z3.z3core.Z3_mk_and, terms)

    def not_(self, item: Any) -> Any:
        if self._is(item, self.TRUE):
            return self.FALSE
        if self._is(item, self.FALSE):
            return self.TRUE
        return z3.Not(item)

    def lit(self, text: str) -> Any:
        return z3.Re(zstr(text, self.ctx))

    # -- action --

    def action_matches(self, patterns: tuple[str, ...]) -> Any:
        cached = self._action_cache.get(patterns)
        if cached is None:
            cached = self._action_cache[patterns] = self._action_matches(patterns)
        return cached

    def _action_matches(self, patterns: tuple[str, ...]) -> Any:
        if self.action_concrete is not None:
            return self.TRUE if any(_glob(p).match(self.action_concrete) for p in patterns) else self.FALSE
        indexes = {self.pattern_index[p] for p in patterns if p in self.pattern_index}
        hits = [i for i, k in enumerate(self.classes) if k.signature & indexes]
        if len(hits) == len(self.classes):
            return self.TRUE
        return self.or_(self.action_var == i for i in hits)

    def resource_shapes(self, index: int, hint: str, term: Any = None) -> list[Any]:
        """Constraints on the resource that together cover every resource the actions of class
        ``index`` accept: first ``*`` (if they take it) or the formats a model's untyped resource
        ``hint`` is near, one each (cheap checks, likely to succeed); last, one union of all the
        other formats (so the list is exhaustive)."""
        k = self.classes[index]
        term = self.resource if term is None else term
        if k.unknown:
            return [self.TRUE]
        star = [term == zstr("*", self.ctx)] if k.any_resource else []
        near = [f for f in k.formats if _loose_format(f).match(hint)]
        far = [f for f in k.formats if f not in set(near)]
        shapes = [z3.InRe(term, self._format_regex(f)) for f in sorted(near, key=len, reverse=True)]
        shapes = star + shapes if hint == "*" else shapes + star
        if far:
            regexes = [self._format_regex(f) for f in far]
            shapes.append(z3.InRe(term, regexes[0] if len(regexes) == 1 else z3.Union(*regexes)))
        return shapes

    def _format_regex(self, arn_format: str) -> Any:
        cached = self._format_cache.get(arn_format)
        if cached is not None:
            return cached
        c = self.ctx
        name_char = z3.Union(
            z3.Range("a", "z", ctx=c),
            z3.Range("A", "Z", ctx=c),
            z3.Range("0", "9", ctx=c),
            z3.Re(zstr("-", c)),
            z3.Re(zstr("_", c)),
            z3.Re(zstr(".", c)),
        )
        path_char = z3.Union(name_char, self.lit("/"))
        parts = []
        for kind, text in format_regex_parts(arn_format):
            if kind == "lit":
                parts.append(self.lit(text))
            elif text == "Partition":
                parts.append(self.lit("aws"))
            elif text == "Account":
                parts.append(z3.Loop(z3.Range("0", "9", ctx=c), 12, 12))
            elif text == "Region":
                parts.append(
                    z3.Plus(z3.Union(z3.Range("a", "z", ctx=c), z3.Range("0", "9", ctx=c), z3.Re(zstr("-", c))))
                )
            else:
                parts.append(z3.Plus(path_char if is_path_placeholder(text) else name_char))
        regex = parts[0] if len(parts) == 1 else z3.Concat(*parts)
        self._format_cache[arn_format] = regex
        return regex

    # -- context keys --

    def key(self, name: str) -> KeyVar:
        if name in self.keys:
            return self.keys[name]
        c = self.ctx
        usage = self.usage.get(name, KeyUsage())
        given = self.given_context.get(name)
        if given is not None or not self.free_context:
            values = given or ()
            slots = [self._concrete_slot(v) for v in values]
            var = KeyVar(name, False, "string", z3.IntVal(len(values), c), slots, len(values) > 1)
        else:
            known = self.catalog.key_type(name)
            typed = sorted(usage.families & set(TYPED))
            sort = (
                known.sort if known else (typed[0] if len(typed) == 1 and "string" not in usage.families else "string")
            )
            multi = (known.multi if known else False) or usage.qualified
            n = min(MAX_SLOTS, max(1, usage.clauses + (1 if usage.in_patterns else 0))) if multi else 1
            count = z3.Int(f"{self.prefix}count[{name}]", c)
            self.domain.append(z3.And(count >= 0, count <= n, c))
            slots = [self._free_slot(name, i, sort, documented=known is not None) for i in range(n)]
            var = KeyVar(name, True, sort, count, slots, multi)
        self.keys[name] = var
        return var

    def _concrete_slot(self, value: str) -> Slot:
        c = self.ctx
        slot = Slot(text=zstr(value, c))
        number = parse_number(value)
        slot.typed["numeric"] = (
            z3.BoolVal(number is not None, c),
            z3.IntVal(int(number * self.numeric_scale) if number is not None else 0, c),
        )
        date = parse_date(value)
        slot.typed["date"] = (z3.BoolVal(date is not None, c), z3.IntVal(date if date is not None else 0, c))
        flag = parse_bool(value)
        slot.typed["bool"] = (z3.BoolVal(flag is not None, c), z3.BoolVal(bool(flag), c))
        ip = parse_ip(value)
        slot.typed["ip"] = (
            z3.BoolVal(ip is not None, c),
            (z3.IntVal(ip.version if ip else 4, c), z3.BitVecVal(ip.value if ip else 0, 128, c)),
        )
        return slot

    def _free_slot(self, key: str, i: int, sort: str, documented: bool) -> Slot:
        """A free value. A key of documented type only ever holds values of that type (AWS
        sets it); an undocumented key may also hold text its operators cannot parse."""
        c = self.ctx
        text = z3.String(f"{self.prefix}ctx[{key}][{i}]", c)
        printable = z3.InRe(text, self.printable)
        self.domain.append(printable)
        self.text_domain.append((text, printable))
        slot = Slot(text=text)
        valid = z3.BoolVal(True, c) if documented else z3.Bool(f"{self.prefix}valid[{key}][{i}]", c)
        if sort == "numeric":
            slot.typed["numeric"] = (valid, z3.Int(f"{self.prefix}num[{key}][{i}]", c))
        elif sort == "date":
            slot.typed["date"] = (valid, z3.Int(f"{self.prefix}date[{key}][{i}]", c))
        elif sort == "epoch":
            # One integer of seconds, read by Numeric operators (scaled) and Date ones (milliseconds).
            seconds = z3.Int(f"{self.prefix}epoch[{key}][{i}]", c)
            slot.typed["numeric"] = (valid, seconds * self.numeric_scale)
            slot.typed["date"] = (valid, seconds * 1000)
            slot.typed["epoch"] = (valid, seconds)
        elif sort == "bool":
            slot.typed["bool"] = (valid, z3.Bool(f"{self.prefix}bool[{key}][{i}]", c))
        elif sort == "ip":
            version = z3.Int(f"{self.prefix}ipv[{key}][{i}]", c)
            bits = z3.BitVec(f"{self.prefix}ip[{key}][{i}]", 128, c)
            self.domain.append(z3.Or(version == 6, z3.And(version == 4, z3.Extract(127, 32, bits) == 0, c), c))
            slot.typed["ip"] = (valid, (version, bits))
        return slot

    def _numeric_scale(self, documents: Sequence[PolicyDocument], context: dict[str, tuple[str, ...]]) -> int:
        decimals = 0
        texts = [
            v
            for d in documents
            for s in d.statements
            for cond in s.conditions
            if cond.family == "numeric"
            for v in cond.values
        ]
        texts += [v for values in context.values() for v in values]
        for text in texts:
            number = parse_number(text)
            if number is not None and "." in text:
                decimals = max(decimals, len(text.strip().split(".", 1)[1]))
        return int(10 ** (decimals + 1))

    # -- patterns with variables --

    def pattern_regex(self, pattern: Pattern, *, arn: bool = False, ignore_case: bool = False) -> Any:
        """The regex of ``pattern``, its variables read as their values. Whether they resolve is
        the statement's validity (:meth:`variable_guard`), not part of the match."""
        pieces = []
        literal_colons = sum(p.text.count(":") for p in pattern if isinstance(p, Lit))
        colons_seen = 0
        for part in pattern:
            if isinstance(part, Lit):
                pieces.append(self._ci_lit(part.text) if ignore_case else self.lit(part.text))
                colons_seen += part.text.count(":")
            elif isinstance(part, Star | AnyChar):
                segment_bound = arn and literal_colons >= 5 and colons_seen < 5
                char = self.non_colon if segment_bound else self.any_char
                pieces.append(z3.Star(char) if isinstance(part, Star) else char)
            else:
                text = self.variable(part, ignore_case)
                pieces.append(
                    z3.Re(text) if not z3.is_string_value(text) or not ignore_case else self._ci_lit(text.as_string())
                )
        return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces) if pieces else self.lit("")

    def variable(self, part: Var, ignore_case: bool) -> Any:
        """The string a variable stands for: the key's first value, or its default when the key is
        absent (meaningful only where :meth:`variable_guard` holds)."""
        var = self.key(part.key)
        if var.free and ignore_case:
            raise Unsupported(f"the variable ${{{part.key}}} inside a case-insensitive comparison")
        if var.free and var.sort != "string":
            raise Unsupported(f"the variable ${{{part.key}}} names a {var.sort} key")
        if not var.free:
            count = var.count.as_long()
            if count >= 1:
                return var.slots[0].text
            return zstr(part.default if part.default is not None else "", self.ctx)
        if part.default is None:
            return var.slots[0].text
        return z3.If(var.count == 0, zstr(part.default, self.ctx), var.slots[0].text)

    def variable_guard(self, part: Var) -> Any:
        """The variable resolves: its key has exactly one value, or is absent and the variable
        has a default. AWS: a statement with a variable that does not resolve is invalid (it
        applies to no request)."""
        cache_key = (part.key, part.default is not None)
        cached = self._guard_cache.get(cache_key)
        if cached is None:
            cached = self._guard_cache[cache_key] = self._variable_guard(part)
        return cached

    def _variable_guard(self, part: Var) -> Any:
        var = self.key(part.key)
        if not var.free:
            count = var.count.as_long()
            return self.TRUE if count == 1 or (count == 0 and part.default is not None) else self.FALSE
        one = var.count == 1
        return z3.Or(one, var.count == 0, self.ctx) if part.default is not None else one

    def _ci_lit(self, text: str) -> Any:
        pieces = []
        for ch in text:
            if "a" <= ch.lower() <= "z" and ch.isascii():
                pieces.append(z3.Union(self.lit(ch.lower()), self.lit(ch.upper())))
            else:
                pieces.append(self.lit(ch))
        return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces) if pieces else self.lit("")

    def element_matches(self, element: tuple[Pattern, ...]) -> Any:
        """Some pattern of a Resource / NotResource list holds for the request's resource (one
        term per distinct element: large policies repeat theirs)."""
        cached = self._element_cache.get(element)
        if cached is None:
            cached = self._element_cache[element] = self._element_matches(element)
        return cached

    def _element_matches(self, element: tuple[Pattern, ...]) -> Any:
        if self.cells is None:
            return self.or_(self.matches_pattern(self.resource, p) for p in element)
        plain_units, var_units = self.element_units[element]
        terms = []
        if plain_units:
            cells = sorted({n for unit in plain_units for n in self.cells.members(unit)})
            terms.append(self.or_(self.resource_cell == n for n in cells))
        terms += [self._variable_pattern(p, unit, default_unit) for p, unit, default_unit in var_units]
        return self.or_(terms)

    def _variable_pattern(self, pattern: Pattern, unit: int, default_unit: int | None) -> Any:
        """A variable pattern over resource cells. The pattern holds with the key's value (one
        value) only inside its abstraction: a free boolean ``hit`` (one per pattern, shared by
        every statement that has it) implies that and a single value; with the default it holds
        when the key is absent and the resource is in the default's cell. For a variable used once
        this is exact (the decoder sets the value to make it hold or not, as the model says); else
        it over-approximates, and the witness search realizes the values or blocks the model."""
        assert self.cells is not None
        variable = next(p for p in pattern if isinstance(p, Var))
        key = self.key(variable.key)
        if pattern not in self.var_patterns:
            in_cell = self.or_(self.resource_cell == n for n in self.cells.members(unit))
            hit = z3.Bool(f"{self.prefix}hit[{len(self.var_patterns)}]", self.ctx)
            self.domain.append(z3.Implies(hit, z3.And(in_cell, key.count == 1, self.ctx)))
            self.var_patterns[pattern] = (variable.key, hit)
        hit = self.var_patterns[pattern][1]
        if default_unit is None:
            return hit
        in_default = self.or_(self.resource_cell == n for n in self.cells.members(default_unit))
        return self.or_([hit, self.and_([key.count == 0, in_default])])

    def _class_formats(self) -> tuple[str, ...] | None:
        """Every ARN format an action of the question's classes takes (None: no classes, so
        resources are not typed by them)."""
        if not self.classes:
            return None
        return tuple(dict.fromkeys(f for k in self.classes for f in k.formats))

    def typed_resource(self, class_index: int, cell: int) -> tuple[str | None, bool]:
        """(a resource in ``cell`` of a type class ``class_index`` accepts, or None; whether that
        is settled). Each format is first instantiated in Python (most cells take a plain
        instance), then asked of z3 on its own, nearest formats first, within the question's
        timeout; a search cut short is unsettled."""
        assert self.cells is not None
        k = self.classes[class_index]
        cells = self.cells
        target = cells.cells[cell]
        outside = cells.outside[target.inside]

        def in_cell(text: str) -> bool:
            return cells.in_cell(target.inside, outside, text)

        if k.unknown:
            return (target.sample, True) if target.sample != UNSURE else (None, False)
        if k.any_resource and in_cell("*"):
            return "*", True
        # Formats whose fixed beginning or end rules out every pattern of an inside unit
        # cannot meet the cell (a proof); the rest are tried nearest first.
        meeting = cells.typed_formats(target.inside)
        if meeting is not None and cells.covers(k.formats):
            met = set(meeting)
            formats = [f for f in k.formats if f in met]
        else:
            formats = [f for f in k.formats if cells.may_meet(_format_pattern(f), target.inside)]
        near = [f for f in formats if _loose_format(f).match(target.sample)]
        near_set = set(near)
        ordered = sorted(near, key=len, reverse=True) + [f for f in formats if f not in near_set]
        # Candidates built from the cell itself: its sample, and its patterns with their
        # wildcards filled with name characters; any that has a format of the class will do.
        for candidate in [target.sample, *cells.candidates(sorted(target.inside))]:
            if in_cell(candidate) and any(_format_python_regex(f).match(candidate) for f in ordered):
                return candidate, True
        for arn_format in ordered:
            for fill in ("iamdrift", "x"):
                candidate = _instantiate(arn_format, fill)
                if in_cell(candidate):
                    return candidate, True
        for arn_format in ordered[:MAX_FORMAT_GUESSES]:
            for account, region in cells.places:
                candidate = _instantiate(arn_format, "iamdrift", account, region)
                if in_cell(candidate):
                    return candidate, True
        universe = frozenset(self.session.arn_chars)
        pending = []
        for arn_format in ordered[:MAX_FORMAT_CHECKS]:
            self.check_deadline("looking for a well-typed resource")
            languages = cells.languages(target.inside, outside, _format_pattern(arn_format))
            if languages is None:
                continue
            positive, negative = languages
            found, settled = first_member([(format_tokens(arn_format),), *positive], universe, in_cell, negative)
            if found is not None:
                return found, True
            if not settled:
                pending.append(arn_format)
        if len(ordered) <= MAX_FORMAT_CHECKS and not pending:
            return None, True  # every format ruled out exactly
        ordered = pending + ordered[MAX_FORMAT_CHECKS:]
        inside_regexes, outside_regexes = cells.cell_regex(cell)
        x = z3.String(self.prefix + "typed_resource", self.ctx)
        solver = z3.Solver(ctx=self.ctx)
        solver.add(*(z3.InRe(x, r) for r in inside_regexes), *(z3.Not(z3.InRe(x, r)) for r in outside_regexes))
        deadline = time.monotonic() + self.remaining_ms() / 1000
        for tried, arn_format in enumerate(ordered):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or tried >= MAX_FORMAT_CHECKS:
                return None, False
            solver.set("timeout", max(1, int(remaining * 1000)))
            solver.push()
            solver.add(z3.InRe(x, self._format_regex(arn_format)))
            status = solver.check()
            value = solver.model().eval(x, model_completion=True).as_string() if status == z3.sat else None
            solver.pop()
            if value is not None:
                return value, True
            if status != z3.unsat:
                return None, False
        return None, True

    def matches_pattern(self, term: Any, pattern: Pattern, **kw: Any) -> Any:
        """``term`` matches ``pattern``. A pattern with variables and no wildcard but a final
        ``*`` is a prefix test (or an equality): word equations, which z3 solves far faster than
        regexes built over variables."""
        has_var = any(isinstance(p, Var) for p in pattern)
        inner = pattern[:-1] if pattern and isinstance(pattern[-1], Star) else pattern
        if has_var and not kw.get("ignore_case") and not any(isinstance(p, Star | AnyChar) for p in inner):
            pieces = []
            for part in inner:
                if isinstance(part, Lit):
                    pieces.append(zstr(part.text, self.ctx))
                else:
                    assert isinstance(part, Var)
                    pieces.append(self.variable(part, False))
            joined = pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)
            return z3.PrefixOf(joined, term) if inner is not pattern else term == joined
        return z3.InRe(term, self.pattern_regex(pattern, **kw))


# --- The statement matcher ----------------------------------------------------------------------


class Z3Matcher:
    """:class:`semantics.Matcher` over z3 terms for a :class:`Question`."""

    def __init__(self, q: Question) -> None:
        self.q = q
        self.alg: Algebra[Any] = q
        self.unsupported: list[str] = []

    def statement(self, policy: PolicyDocument, stmt: Statement, bound: str) -> Any:
        """The statement matches the request. ``bound`` says what an unsupported statement
        counts as ("lo": never matches, "hi": matches when its action and resource do); a
        supported one is encoded once for both."""
        # Kept by (policy, statement) when the bound does not matter, else with the bound.
        key: tuple[int, int] | tuple[int, int, str] = (id(policy), stmt.index)
        cached = self.q._stmt_cache.get(key)
        if cached is None:
            key = (id(policy), stmt.index, bound)
            cached = self.q._stmt_cache.get(key)
        if cached is not None:
            return cached
        q = self.q
        q.check_deadline(f"encoding {policy.label} ({len(policy.statements)} statements)")
        action = (
            q.action_matches(stmt.actions)
            if stmt.actions is not None
            else q.not_(q.action_matches(stmt.not_actions or ()))
        )
        if z3.is_false(action):
            result = q.FALSE
            key = (id(policy), stmt.index)
        else:
            reasons = list(stmt.unsupported)
            valid = q.and_(q.variable_guard(v) for v in stmt.variables)
            try:
                resource = self._resource(stmt)
                conditions = [self._condition(c) for c in stmt.conditions]
            except Unsupported as exc:
                reasons.append(str(exc))
                resource, conditions = q.TRUE, []
            if reasons:
                self.unsupported.extend(f"{policy.label} {stmt.label}: {r}" for r in reasons)
                result = q.and_([valid, action, resource, q.TRUE if bound == "hi" else q.FALSE])
            else:
                result = q.and_([valid, action, resource, *conditions])
                key = (id(policy), stmt.index)
        q._stmt_cache[key] = result
        return result

    def _resource(self, stmt: Statement) -> Any:
        q = self.q
        if stmt.resources is not None:
            return q.element_matches(stmt.resources)
        if stmt.not_resources is not None:
            return q.not_(q.element_matches(stmt.not_resources))
        return q.TRUE

    def principal(self, policy: PolicyDocument, stmt: Statement) -> PrincipalMatch[Any]:
        q = self.q
        key = (id(policy), stmt.index)
        if key in q._principal_cache:
            return q._principal_cache[key]
        if q.principal_candidates:
            matches = [principal_match(p, stmt) for p in q.principal_candidates]
            ways = [q.or_(q.principal_var == i for i, m in enumerate(matches) if m[n]) for n in range(4)]
        else:
            assert q.principal is not None
            ways = list(principal_terms(q, q.principal, stmt))
        result = PrincipalMatch(exact=ways[0], wildcard=ways[1], capped=ways[2], account=ways[3])
        q._principal_cache[key] = result
        return result

    # -- conditions --

    def _condition(self, cond: Condition) -> Any:
        cached = self.q._condition_cache.get(cond)
        if cached is None:
            cached = self.q._condition_cache[cond] = self._encode_condition(cond)
        return cached

    def _encode_condition(self, cond: Condition) -> Any:
        q = self.q
        var = q.key(cond.key)
        present = var.count >= 1
        if cond.family == "null":
            wants = [parse_bool(v) for v in cond.values]
            return q.or_(q.not_(present) if w else present for w in wants if w is not None)
        if var.free:
            family = "string" if cond.family in ("string", "arn", "binary") else cond.family
            if family != var.sort and not (var.sort == "epoch" and family in ("numeric", "date")):
                raise Unsupported(f"{cond.operator} on {cond.key}, a {var.sort} key")
        slot_terms = [self._per_value(cond, slot) for slot in var.slots]
        in_use = [(z3.IntVal(i, q.ctx) < var.count) if var.free else q.TRUE for i in range(len(var.slots))]
        some = q.or_(q.and_([use, t]) for use, t in zip(in_use, slot_terms, strict=True))
        every = q.and_(z3.Implies(use, t) if var.free else t for use, t in zip(in_use, slot_terms, strict=True))
        if cond.qualifier == "all":
            return q.or_([q.not_(present), every]) if var.free else (q.TRUE if not var.slots else every)
        absent_value = q.TRUE if cond.if_exists or (cond.negated and cond.qualifier is None) else q.FALSE
        if not var.free:
            return absent_value if not var.slots else some
        return z3.If(present, some, absent_value)

    def _per_value(self, cond: Condition, slot: Slot) -> Any:
        q = self.q
        if cond.family in ("string", "arn"):
            hits = []
            for pattern in cond.patterns:
                if cond.family == "arn":
                    hits.append(q.matches_pattern(slot.text, pattern, arn=True))
                elif cond.test == "equals_ignore_case":
                    hits.append(q.matches_pattern(slot.text, pattern, ignore_case=True))
                else:
                    hits.append(q.matches_pattern(slot.text, pattern))
        elif cond.family == "binary":
            hits = [slot.text == zstr(v, q.ctx) for v in cond.values]
        else:
            hits = [self._typed(cond, slot, v) for v in cond.values]
        any_hit = q.or_(hits)
        return q.not_(any_hit) if cond.negated else any_hit

    def _typed(self, cond: Condition, slot: Slot, policy_value: str) -> Any:
        q = self.q
        c = q.ctx
        valid, value = slot.typed[cond.family]
        if cond.family == "bool":
            flag = parse_bool(policy_value)
            return q.FALSE if flag is None else q.and_([valid, value == z3.BoolVal(flag, c)])
        if cond.family == "ip":
            cidr = parse_cidr(policy_value)
            if cidr is None:
                return q.FALSE
            version, bits = value
            shift = 128 - cidr.prefix if cidr.version == 6 else 32 - cidr.prefix
            network = z3.BitVecVal(cidr.network, 128, c)
            same = z3.LShR(bits, shift) == z3.LShR(network, shift)
            return q.and_([valid, version == cidr.version, same])
        if cond.family == "numeric":
            number = parse_number(policy_value)
            if number is None:
                return q.FALSE
            target = number * q.numeric_scale
            if target.denominator != 1:
                raise Unsupported(f"numeric value {policy_value} finer than the encoding's scale")
            rhs = z3.IntVal(int(target), c)
        else:
            date = parse_date(policy_value)
            if date is None:
                return q.FALSE
            rhs = z3.IntVal(date, c)
        compare = {"eq": value == rhs, "lt": value < rhs, "le": value <= rhs, "gt": value > rhs, "ge": value >= rhs}
        return q.and_([valid, compare[cond.test]])


# --- Principals -----------------------------------------------------------------------------------


def principal_terms(q: Question, p: Principal, stmt: Statement) -> tuple[Any, Any, Any, Any]:
    """(exact, wildcard, capped, account) for a concrete principal (see
    :class:`semantics.PrincipalMatch`), as z3 constants."""
    exact, wildcard, capped, account = (q.TRUE if way else q.FALSE for way in principal_match(p, stmt))
    return exact, wildcard, capped, account


def principal_match(p: Principal, stmt: Statement) -> tuple[bool, bool, bool, bool]:
    """(exact, wildcard, capped, account): how the statement's Principal / NotPrincipal matches
    ``p`` (see :class:`semantics.PrincipalMatch`)."""
    spec = stmt.principal or stmt.not_principal
    if spec is None:
        return False, False, False, False
    values = {"aws": spec.aws, "service": spec.service, "federated": spec.federated, "canonical": spec.canonical}
    exact = p.arn in values[p.kind]
    partition = p.arn.split(":")[1] if p.arn.startswith("arn:") else "aws"
    roots = {p.account, f"arn:{partition}:iam::{p.account}:root"} if p.kind == "aws" and p.account else set()
    account = any(v in roots for v in spec.aws)
    session_role = p.is_session and p.identity_arn in spec.aws  # a session named by its role: capped
    if stmt.not_principal is not None:
        return False, False, not (spec.everyone or exact or account or session_role), False
    return exact, spec.everyone, session_role, account


def principal_representatives(documents: Sequence[PolicyDocument]) -> list[Principal]:
    """One principal per way Principal elements can tell principals apart (see module doc)."""
    named: list[str] = []
    accounts: set[str] = set()
    for doc in documents:
        for s in doc.statements:
            spec = s.principal or s.not_principal
            if spec is None:
                continue
            for value in spec.aws:
                if re.fullmatch(r"\d{12}", value):
                    accounts.add(value)
                    continue
                match = re.match(r"^arn:[\w-]+:(?:iam|sts)::(\d{12}):", value)
                if match:
                    accounts.add(match.group(1))
                named.append(value)
            named += list(spec.service) + list(spec.federated) + list(spec.canonical)
    candidates = []
    for value in dict.fromkeys(named):
        try:
            candidates.append(classify_principal(value))
        except ValueError:
            continue
    for account in sorted(accounts):
        candidates.append(classify_principal(f"arn:aws:iam::{account}:role/iamdrift-witness"))
    outsider = next(a for a in (UNKNOWN_ACCOUNT, "999999999998", "999999999997") if a not in accounts)
    candidates.append(classify_principal(f"arn:aws:iam::{outsider}:role/iamdrift-witness"))
    candidates.append(classify_principal("iamdrift-witness.amazonaws.com"))
    unique = {p.arn: p for p in candidates}
    return [p for p in unique.values() if p.kind != "aws" or p.account is not None]


# --- Decoding a model into a witness request --------------------------------------------------------


def decode_context(q: Question, model: Any) -> dict[str, Any]:
    """The context keys the question constrains, as the model sets them (absent keys omitted)."""
    out: dict[str, Any] = {}
    for name, var in sorted(q.keys.items()):
        if not var.free:
            if var.slots:
                out[name] = [string_value(s.text) for s in var.slots] if var.multi else string_value(var.slots[0].text)
            continue
        count = model.eval(var.count, model_completion=True).as_long()
        if count == 0:
            continue
        values = [_decode_slot(q, model, var, slot) for slot in var.slots[:count]]
        out[name] = values if var.multi else values[0]
    return out


def _decode_slot(q: Question, model: Any, var: KeyVar, slot: Slot) -> str:
    if var.sort == "string":
        return string_value(model.eval(slot.text, model_completion=True))
    valid, value = slot.typed[var.sort]
    if not z3.is_true(model.eval(valid, model_completion=True)):
        return "not-a-" + var.sort
    if var.sort == "numeric":
        number = Fraction(model.eval(value, model_completion=True).as_long(), q.numeric_scale)
        return _decimal(number)
    if var.sort == "date":
        return format_date(model.eval(value, model_completion=True).as_long())
    if var.sort == "epoch":
        return str(model.eval(value, model_completion=True).as_long())
    if var.sort == "bool":
        return "true" if z3.is_true(model.eval(value, model_completion=True)) else "false"
    version, bits = value
    v = model.eval(version, model_completion=True).as_long()
    return format_ip(IpValue(v, model.eval(bits, model_completion=True).as_long()))


def _decimal(number: Fraction) -> str:
    if number.denominator == 1:
        return str(number.numerator)
    sign = "-" if number < 0 else ""
    number = abs(number)
    whole, rest = divmod(number.numerator, number.denominator)
    digits = ""
    while rest and len(digits) < 30:
        rest *= 10
        digit, rest = divmod(rest, number.denominator)
        digits += str(digit)
    return f"{sign}{whole}.{digits}"


def decode_action(q: Question, model: Any, resource: str) -> tuple[str, bool]:
    """The witness action: an action of the chosen class that accepts ``resource``."""
    if q.action_concrete is not None:
        info = q.catalog.action(q.action_concrete)
        return (info.name if info else q.action_concrete), info is None
    k = q.classes[model.eval(q.action_var, model_completion=True).as_long()]
    if k.unknown:
        return k.actions[0], True
    # The class's formats the resource has, found by its service (a class may hold thousands of
    # actions: each is then tested by set intersection, not by regex).
    fields = resource.split(":", 3)
    service = fields[2] if len(fields) == 4 else ""
    fits = {f for f in _formats_by_service(k.formats).get(service, ()) if _format_matches(f, resource)}
    for name in k.actions:
        info = q.catalog.actions[name]
        if resource == "*" and info.any_resource:
            return info.name, False
        if fits and not fits.isdisjoint(info.formats):
            return info.name, False
    return q.catalog.actions[k.actions[0]].name, False


NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
REGION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
DIGITS = frozenset("0123456789")


@lru_cache(maxsize=8192)
def format_tokens(arn_format: str) -> globs.Tokens:
    """An ARN format as glob tokens, the same language as :meth:`Question._format_regex`."""
    tokens: list[globs.Token] = []
    for kind, text in format_regex_parts(arn_format):
        if kind == "lit":
            tokens += globs.literal(text)
        elif text == "Partition":
            tokens += globs.literal("aws")
        elif text == "Account":
            tokens += [globs.Token(globs.ONE, DIGITS)] * 12
        elif text == "Region":
            tokens.append(globs.Token(globs.SOME, REGION_CHARS))
        else:
            tokens.append(globs.Token(globs.SOME, NAME_CHARS | ({"/"} if is_path_placeholder(text) else set())))
    return tuple(tokens)


@lru_cache(maxsize=16384)
def pattern_tokens(pattern: Pattern) -> globs.Tokens:
    tokens: list[globs.Token] = []
    for part in pattern:
        if isinstance(part, Lit):
            tokens += globs.literal(part.text)
        elif isinstance(part, Star):
            tokens.append(globs.Token(globs.STAR))
        elif isinstance(part, AnyChar):
            tokens.append(globs.Token(globs.ANY))
    return tuple(tokens)


_FIELD = globs.Token(globs.STAR_BUT, frozenset(":"))
#: Every typed resource other than ``*``: ``arn:aws:SERVICE:REGION:ACCOUNT:rest``, the first three
#: fields without a colon (every catalog format has this shape; a test checks it).
ARN_TOKENS = (*globs.literal("arn:aws:"), _FIELD, *globs.literal(":"), _FIELD, *globs.literal(":"), _FIELD,
              *globs.literal(":"), globs.Token(globs.STAR))  # fmt: skip
ARN_SHAPE = re.compile(r"arn:aws:[^:]*:[^:]*:[^:]*:")


@lru_cache(maxsize=256)
def format_automaton(formats: tuple[str, ...]) -> globs.Automaton:
    """The union of ARN formats as one automaton (kept: its walked edges serve later searches)."""
    return globs.Automaton(tuple(format_tokens(f) for f in formats))


def first_member(
    automata: Sequence[globs.Union | globs.Automaton],
    universe: frozenset[str],
    ok: Any,
    negative: Sequence[globs.Union] = (),
    tries: int = 50,
    limit_states: int = 4_000,
) -> tuple[str | None, bool]:
    """(a string every automaton in ``automata`` and none in ``negative`` accepts, and that
    ``ok`` accepts, or None; whether "none" is a proof)."""
    try:
        for n, text in enumerate(globs.search(automata, universe, negative, limit_states)):
            if ok(text):
                return text, True
            if n >= tries:
                return None, False
    except globs.SearchTooLarge:
        return None, False
    return None, True


@lru_cache(maxsize=65536)
def _instantiate(arn_format: str, fill: str, account: str = "111122223333", region: str = "us-east-1") -> str:
    """The format with its placeholders filled: a cheap candidate resource (kept: the same
    guesses serve every cell and question)."""
    values = {"Partition": "aws", "Region": region, "Account": account}
    return "".join(text if kind == "lit" else values.get(text, fill) for kind, text in format_regex_parts(arn_format))


def _format_service(arn_format: str) -> str:
    return arn_format.split(":", 3)[2]


@lru_cache(maxsize=64)
def _formats_by_service(formats: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for f in formats:
        grouped.setdefault(_format_service(f), []).append(f)
    return {service: tuple(group) for service, group in grouped.items()}


@lru_cache(maxsize=4)
def _all_formats(catalog: Catalog) -> tuple[str, ...]:
    return tuple(sorted({f for info in catalog.actions.values() for f in info.formats}))


@lru_cache(maxsize=16384)
def _catalog_meeting(catalog: Catalog, pattern: Pattern) -> frozenset[str]:
    """:func:`formats_meeting` over every format of the catalog."""
    return formats_meeting(pattern, _all_formats(catalog))


@lru_cache(maxsize=16384)
def formats_meeting(pattern: Pattern, formats: tuple[str, ...]) -> frozenset[str]:
    """The ``formats`` whose resources ``pattern`` is not shown disjoint from (by their fixed
    beginnings and ends). A pattern whose fixed beginning names a whole service field
    (``arn:aws:ec2:...``) only meets that service's formats."""
    head, _ = _literal_ends(pattern)
    fields = head.split(":", 3)
    if len(fields) == 4 and fields[0] == "arn" and fields[1] == "aws":
        candidates: Sequence[str] = _formats_by_service(formats).get(fields[2], ())
    else:
        candidates = formats
    return frozenset(f for f in candidates if not _disjoint(_format_pattern(f), pattern))


@lru_cache(maxsize=8192)
def _format_pattern(arn_format: str) -> Pattern:
    """The format as a glob: a superset of its language (each placeholder a ``*``)."""
    return tuple(
        Lit(text) if kind == "lit" else Lit("aws") if text == "Partition" else Star()
        for kind, text in format_regex_parts(arn_format)
    )


@lru_cache(maxsize=8192)
def _loose_format(arn_format: str) -> re.Pattern[str]:
    """The format with every placeholder as ``.*``: a cheap test of which format a string is near."""
    parts = [re.escape(text) if kind == "lit" else ".*" for kind, text in format_regex_parts(arn_format)]
    return re.compile("".join(parts) + r"\Z", re.S)


@lru_cache(maxsize=8192)
def _format_python_regex(arn_format: str) -> re.Pattern[str]:
    out = []
    for kind, text in format_regex_parts(arn_format):
        if kind == "lit":
            out.append(re.escape(text))
        elif text == "Partition":
            out.append("aws")
        elif text == "Account":
            out.append(r"[0-9]{12}")
        elif text == "Region":
            out.append(r"[a-z0-9-]+")
        else:
            out.append(r"[A-Za-z0-9\-_./]+" if is_path_placeholder(text) else r"[A-Za-z0-9\-_.]+")
    return re.compile("".join(out) + r"\Z")


def _format_matches(arn_format: str, resource: str) -> bool:
    return bool(_format_python_regex(arn_format).match(resource))


def variable_value(pattern: Pattern, resource: str, hit: bool) -> str:
    """A value for the pattern's one variable that makes ``resource`` match it (``hit``) or not:
    the substring the variable covers, or a value longer than the resource (it cannot occur)."""
    if not hit:
        return "iamdrift-" + "x" * (len(resource) + 1)
    regex = "".join(
        re.escape(p.text)
        if isinstance(p, Lit)
        else "(.*)"
        if isinstance(p, Var)
        else ".*"
        if isinstance(p, Star)
        else "."
        for p in pattern
    )
    match = re.fullmatch(regex, resource, re.S)
    return match.group(1) if match else ""

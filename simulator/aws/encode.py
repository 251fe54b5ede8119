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

Constructs z3 cannot decide here make a statement *unsupported* (see semantics.py for how the
bounds treat it): a key used with operators of two typed families while free, a variable inside
an IgnoreCase comparison on a free key.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import z3

from simulator.aws.catalog import Catalog, format_regex_parts
from simulator.aws.policy import Condition, PolicyDocument, Statement
from simulator.aws.request import Principal, classify_principal
from simulator.aws.semantics import PrincipalMatch
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
UNKNOWN_ACCOUNT = "999999999999"


class Unsupported(Exception):
    """A construct this encoding does not decide; the statement becomes unsupported."""


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
    return re.compile(fnmatch.translate(pattern).replace("(?s:", "(?s:", 1))


@lru_cache(maxsize=256)
def action_classes(catalog: Catalog, patterns: tuple[str, ...], keep_unmatched: bool) -> tuple[ActionClass, ...]:
    """Partition the catalog by which of ``patterns`` (lower-cased globs) match each action.

    ``keep_unmatched`` keeps the class of actions no pattern matches (needed when a NotAction
    can reach them). Literal patterns the catalog lacks become classes of their own (unknown).
    """
    signatures: dict[str, set[int]] = {}
    for index, pattern in enumerate(patterns):
        service = pattern.split(":", 1)[0]
        if pattern == "*":
            candidates: Iterable[str] = catalog.actions
        elif "*" in service or "?" in service:
            candidates = catalog.actions
        else:
            candidates = catalog.by_service.get(service, ())
        if "*" in pattern or "?" in pattern:
            regex = _glob(pattern)
            hits = [a for a in candidates if regex.match(a)]
        else:
            hits = [pattern] if pattern in catalog.actions else []
        for action in hits:
            signatures.setdefault(action, set()).add(index)
    groups: dict[frozenset[int], list[str]] = {}
    for action, sig in signatures.items():
        groups.setdefault(frozenset(sig), []).append(action)
    if keep_unmatched:
        unmatched = [a for a in catalog.actions if a not in signatures]
        if unmatched:
            groups.setdefault(frozenset(), []).extend(unmatched)
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
    literal_unknown = sorted(
        {p for p in patterns if "*" not in p and "?" not in p and p not in catalog.actions and ":" in p}
    )
    for name in literal_unknown:
        sig = frozenset(i for i, p in enumerate(patterns) if _glob(p).match(name))
        classes.append(ActionClass(actions=(name,), signature=sig, formats=(), any_resource=True, unknown=True))
    return tuple(classes)


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
    ignore_case_vars: bool = False


def key_usage(documents: Sequence[PolicyDocument]) -> dict[str, KeyUsage]:
    usage: dict[str, KeyUsage] = {}

    def note_vars(patterns: Iterable[Pattern], ignore_case: bool = False) -> None:
        for pattern in patterns:
            for part in pattern:
                if isinstance(part, Var):
                    u = usage.setdefault(part.key, KeyUsage())
                    u.in_patterns = True
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
                note_vars(c.patterns, ignore_case=c.test == "equals_ignore_case")
    return usage


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
        self.non_colon = z3.Intersect(self.any_char, z3.Complement(z3.Re(z3.StringVal(":", c))))
        printable = z3.Union(z3.Range(" ", "~", ctx=c), z3.Range("\u00a0", "\ud7ff", ctx=c))
        self.printable = z3.Star(printable)
        self.format_cache: dict[str, Any] = {}
        self.questions = 0


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
    ) -> None:
        self.catalog = catalog
        self.documents = list(documents)
        self.timeout_ms = timeout_ms
        self.session = session or Z3Session()
        self.session.questions += 1
        # Variable names are unique per question, so questions sharing a session never collide.
        self.prefix = f"q{self.session.questions}."
        c = self.ctx = self.session.ctx
        self.S = self.session.S
        self.R = self.session.R
        self.TRUE = z3.BoolVal(True, c)
        self.FALSE = z3.BoolVal(False, c)
        self.any_char = self.session.any_char
        self.any_string = self.session.any_string
        self.non_colon = self.session.non_colon
        self.printable = self.session.printable
        self.domain: list[Any] = []
        self.unknown_actions: list[str] = []
        self._stmt_cache: dict[tuple[int, int, str], Any] = {}
        self._principal_cache: dict[tuple[int, int], PrincipalMatch[Any]] = {}
        self._format_cache = self.session.format_cache
        # action
        self.action_concrete = action.lower() if action is not None else None
        self.classes: tuple[ActionClass, ...] = ()
        if action is None:
            patterns = sorted({p for d in documents for s in d.statements for p in s.action_patterns})
            if action_universe is not None:
                patterns = sorted(set(patterns) | {a.lower() for a in action_universe})
            keep = any(s.not_actions is not None for d in documents for s in d.statements)
            classes = action_classes(catalog, tuple(patterns), keep)
            if action_universe is not None:
                wanted = {a.lower() for a in action_universe}
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
        if resource is None:
            self.resource = z3.String(self.prefix + "resource", c)
            self.domain.append(z3.InRe(self.resource, self.printable))
        else:
            self.resource = z3.StringVal(resource, c)
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

    # -- z3 helpers --

    def or_(self, items: Iterable[Any]) -> Any:
        terms = [t for t in items if not z3.is_false(t)]
        if any(z3.is_true(t) for t in terms):
            return self.TRUE
        if not terms:
            return self.FALSE
        return terms[0] if len(terms) == 1 else z3.Or(*terms)

    def and_(self, items: Iterable[Any]) -> Any:
        terms = [t for t in items if not z3.is_true(t)]
        if any(z3.is_false(t) for t in terms):
            return self.FALSE
        if not terms:
            return self.TRUE
        return terms[0] if len(terms) == 1 else z3.And(*terms)

    def not_(self, item: Any) -> Any:
        if z3.is_true(item):
            return self.FALSE
        if z3.is_false(item):
            return self.TRUE
        return z3.Not(item)

    @property
    def true(self) -> Any:
        return self.TRUE

    @property
    def false(self) -> Any:
        return self.FALSE

    def lit(self, text: str) -> Any:
        return z3.Re(z3.StringVal(text, self.ctx))

    # -- action --

    def action_matches(self, patterns: tuple[str, ...]) -> Any:
        if self.action_concrete is not None:
            return self.TRUE if any(fnmatch.fnmatchcase(self.action_concrete, p) for p in patterns) else self.FALSE
        indexes = {self.pattern_index[p] for p in patterns if p in self.pattern_index}
        hits = [i for i, k in enumerate(self.classes) if k.signature & indexes]
        if len(hits) == len(self.classes):
            return self.TRUE
        return self.or_(self.action_var == i for i in hits)

    def resource_shapes(self, index: int, hint: str) -> list[Any]:
        """The resource shapes the actions of class ``index`` accept, as constraints on the
        resource, most likely first for a model whose untyped resource was ``hint``."""
        k = self.classes[index]
        if k.unknown:
            return [self.TRUE]
        formats = sorted(k.formats, key=lambda f: (not _loose_format(f).match(hint), -len(f)))
        shapes = [z3.InRe(self.resource, self._format_regex(f)) for f in formats]
        if k.any_resource:
            shapes.insert(0 if hint == "*" else len(shapes), self.resource == z3.StringVal("*", self.ctx))
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
            z3.Re(z3.StringVal("-", c)),
            z3.Re(z3.StringVal("_", c)),
            z3.Re(z3.StringVal(".", c)),
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
                    z3.Plus(z3.Union(z3.Range("a", "z", ctx=c), z3.Range("0", "9", ctx=c), z3.Re(z3.StringVal("-", c))))
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
        slot = Slot(text=z3.StringVal(value, c))
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
        self.domain.append(z3.InRe(text, self.printable))
        slot = Slot(text=text)
        valid = z3.BoolVal(True, c) if documented else z3.Bool(f"{self.prefix}valid[{key}][{i}]", c)
        if sort == "numeric":
            slot.typed["numeric"] = (valid, z3.Int(f"{self.prefix}num[{key}][{i}]", c))
        elif sort == "date":
            slot.typed["date"] = (valid, z3.Int(f"{self.prefix}date[{key}][{i}]", c))
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
        return 10 ** (decimals + 1)

    # -- patterns with variables --

    def pattern_regex(self, pattern: Pattern, *, arn: bool = False, ignore_case: bool = False) -> tuple[Any, Any]:
        """(guard, regex): the regex of ``pattern`` and the condition under which its variables
        resolve (present with one value, or absent with a default)."""
        guards = []
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
                guard, text = self.variable(part, ignore_case)
                guards.append(guard)
                pieces.append(
                    z3.Re(text) if not z3.is_string_value(text) or not ignore_case else self._ci_lit(text.as_string())
                )
        regex = pieces[0] if len(pieces) == 1 else z3.Concat(*pieces) if pieces else self.lit("")
        return self.and_(guards), regex

    def variable(self, part: Var, ignore_case: bool) -> tuple[Any, Any]:
        var = self.key(part.key)
        if var.free and ignore_case:
            raise Unsupported(f"the variable ${{{part.key}}} inside a case-insensitive comparison")
        if var.free and var.sort != "string":
            raise Unsupported(f"the variable ${{{part.key}}} names a {var.sort} key")
        if not var.free:
            count = var.count.as_long()
            if count == 1:
                return self.TRUE, var.slots[0].text
            if count == 0 and part.default is not None:
                return self.TRUE, z3.StringVal(part.default, self.ctx)
            return self.FALSE, z3.StringVal("", self.ctx)
        one = var.count == 1
        if part.default is None:
            return one, var.slots[0].text
        text = z3.If(var.count == 0, z3.StringVal(part.default, self.ctx), var.slots[0].text)
        return z3.Or(one, var.count == 0, self.ctx), text

    def _ci_lit(self, text: str) -> Any:
        pieces = []
        for ch in text:
            if "a" <= ch.lower() <= "z" and ch.isascii():
                pieces.append(z3.Union(self.lit(ch.lower()), self.lit(ch.upper())))
            else:
                pieces.append(self.lit(ch))
        return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces) if pieces else self.lit("")

    def matches_pattern(self, term: Any, pattern: Pattern, **kw: Any) -> Any:
        guard, regex = self.pattern_regex(pattern, **kw)
        return self.and_([guard, z3.InRe(term, regex)])


# --- The statement matcher ----------------------------------------------------------------------


class Z3Matcher:
    """:class:`semantics.Matcher` over z3 terms for a :class:`Question`."""

    def __init__(self, q: Question) -> None:
        self.q = q
        self.alg = q
        self.unsupported: list[str] = []

    def statement(self, policy: PolicyDocument, stmt: Statement, bound: str) -> Any:
        key = (id(policy), stmt.index, bound)
        cached = self.q._stmt_cache.get(key)
        if cached is not None:
            return cached
        q = self.q
        action = (
            q.action_matches(stmt.actions)
            if stmt.actions is not None
            else q.not_(q.action_matches(stmt.not_actions or ()))
        )
        if z3.is_false(action):
            result = q.FALSE
        else:
            reasons = list(stmt.unsupported)
            try:
                resource = self._resource(stmt)
                conditions = [self._condition(c) for c in stmt.conditions]
            except Unsupported as exc:
                reasons.append(str(exc))
                resource, conditions = q.TRUE, []
            if reasons:
                self.unsupported.extend(f"{policy.label} {stmt.label}: {r}" for r in reasons)
                result = q.and_([action, resource, q.TRUE if bound == "hi" else q.FALSE])
            else:
                result = q.and_([action, resource, *conditions])
        q._stmt_cache[key] = result
        return result

    def _resource(self, stmt: Statement) -> Any:
        q = self.q
        if stmt.resources is not None:
            return q.or_(q.matches_pattern(q.resource, p) for p in stmt.resources)
        if stmt.not_resources is not None:
            return q.not_(q.or_(q.matches_pattern(q.resource, p) for p in stmt.not_resources))
        return q.TRUE

    def principal(self, policy: PolicyDocument, stmt: Statement) -> PrincipalMatch[Any]:
        q = self.q
        key = (id(policy), stmt.index)
        if key in q._principal_cache:
            return q._principal_cache[key]
        if q.principal_candidates:
            matches = [principal_match(p, stmt) for p in q.principal_candidates]
            result = PrincipalMatch(
                exact=q.or_(q.principal_var == i for i, m in enumerate(matches) if m[0]),
                everyone=q.or_(q.principal_var == i for i, m in enumerate(matches) if m[1]),
                account=q.or_(q.principal_var == i for i, m in enumerate(matches) if m[2]),
            )
        else:
            assert q.principal is not None
            exact, everyone, account = principal_terms(q, q.principal, stmt)
            result = PrincipalMatch(exact=exact, everyone=everyone, account=account)
        q._principal_cache[key] = result
        return result

    # -- conditions --

    def _condition(self, cond: Condition) -> Any:
        q = self.q
        var = q.key(cond.key)
        present = var.count >= 1
        if cond.family == "null":
            wants = [parse_bool(v) for v in cond.values]
            return q.or_(q.not_(present) if w else present for w in wants if w is not None)
        if var.free:
            family = "string" if cond.family in ("string", "arn", "binary") else cond.family
            if family != var.sort:
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
            hits = [slot.text == z3.StringVal(v, q.ctx) for v in cond.values]
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


def principal_terms(q: Question, p: Principal, stmt: Statement) -> tuple[Any, Any, Any]:
    """(exact, everyone, account) for a concrete principal, as z3 equalities over its ARN."""
    c = q.ctx
    arn = z3.StringVal(p.arn, c)
    spec = stmt.principal or stmt.not_principal
    if spec is None:
        return q.FALSE, q.FALSE, q.FALSE
    listed_values = {"aws": spec.aws, "service": spec.service, "federated": spec.federated, "canonical": spec.canonical}
    exact = q.or_(arn == z3.StringVal(v, c) for v in listed_values[p.kind])
    session_role = q.FALSE
    account = q.FALSE
    if p.kind == "aws" and p.account:
        partition = p.arn.split(":")[1]
        account_names = [z3.StringVal(p.account, c), z3.StringVal(f"arn:{partition}:iam::{p.account}:root", c)]
        account = q.or_(z3.StringVal(v, c) == name for v in spec.aws for name in account_names)
        if p.is_session and p.identity_arn:
            session_role = q.or_(z3.StringVal(v, c) == z3.StringVal(p.identity_arn, c) for v in spec.aws)
    if stmt.not_principal is not None:
        listed = q.or_([q.TRUE if spec.everyone else q.FALSE, exact, account, session_role])
        return q.FALSE, z3.simplify(q.not_(listed)), q.FALSE
    everyone = q.or_([q.TRUE if spec.everyone else q.FALSE, session_role])
    return z3.simplify(exact), z3.simplify(everyone), z3.simplify(account)


def principal_match(p: Principal, stmt: Statement) -> tuple[bool, bool, bool]:
    """The same as :func:`principal_terms` for a representative principal, in plain Python (the
    representatives are IAM roles, services and providers: no sessions)."""
    spec = stmt.principal or stmt.not_principal
    if spec is None:
        return False, False, False
    values = {"aws": spec.aws, "service": spec.service, "federated": spec.federated, "canonical": spec.canonical}[
        p.kind
    ]
    exact = p.arn in values
    account = (
        p.kind == "aws"
        and p.account is not None
        and any(v == p.account or v == f"arn:aws:iam::{p.account}:root" for v in spec.aws)
    )
    if stmt.not_principal is not None:
        return False, not (spec.everyone or exact or account), False
    return exact, spec.everyone, account


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
                out[name] = [s.text.as_string() for s in var.slots] if var.multi else var.slots[0].text.as_string()
            continue
        count = model.eval(var.count, model_completion=True).as_long()
        if count == 0:
            continue
        values = [_decode_slot(q, model, var, slot) for slot in var.slots[:count]]
        out[name] = values if var.multi else values[0]
    return out


def _decode_slot(q: Question, model: Any, var: KeyVar, slot: Slot) -> str:
    if var.sort == "string":
        return str(model.eval(slot.text, model_completion=True).as_string())
    valid, value = slot.typed[var.sort]
    if not z3.is_true(model.eval(valid, model_completion=True)):
        return "not-a-" + var.sort
    if var.sort == "numeric":
        number = Fraction(model.eval(value, model_completion=True).as_long(), q.numeric_scale)
        return _decimal(number)
    if var.sort == "date":
        return format_date(model.eval(value, model_completion=True).as_long())
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
    for name in k.actions:
        info = q.catalog.actions[name]
        if resource == "*" and info.any_resource:
            return info.name, False
        if any(_format_matches(f, resource) for f in info.formats):
            return info.name, False
    return q.catalog.actions[k.actions[0]].name, False


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

"""The z3 encoding of AWS policy statements over a symbolic request: the question.

One :class:`Question` owns one z3 context (its session's, :mod:`simulator.aws.z3_session`) and
every variable of one question; nothing here is module-level state. The request's parts are
concrete or free:

- **action**: concrete, or free over the *classes* of the catalog: actions grouped by which of
  the question's action patterns match them (a few dozen classes instead of 22,000 actions).
  Actions a policy names that the catalog lacks get a class of their own and are reported
  (:mod:`simulator.aws.action_classes`).
- **resource**: a z3 string, a constant or free; when free it must have an ARN format that an
  action of the chosen class accepts (or be ``*`` for actions that take no resource type). A free
  resource is a choice of cell where cells apply (:mod:`simulator.aws.resource_cells`).
- **principal**: concrete, or free over representatives (:mod:`simulator.aws.principals`).
- **context**: per key, up to N value slots, each with a string view and a typed view
  (:mod:`simulator.aws.context_keys`). A free key's values take its documented type (catalog), or
  the type its operators imply.

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
statements encode in seconds (the statements: :mod:`simulator.aws.statement_matcher`).

Constructs z3 cannot decide here make a statement *unsupported* (:class:`Unsupported`; see
semantics.py for how the bounds treat it): a key used with operators of two typed families while
free, a variable inside an IgnoreCase comparison on a free key.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import z3

from simulator.aws.action_classes import ActionClass, action_classes, ascii_lower, glob
from simulator.aws.arn_formats import (
    first_member,
    format_pattern,
    format_python_regex,
    format_tokens,
    instantiate,
    is_path_placeholder,
    loose_format,
)
from simulator.aws.catalog import Catalog, format_regex_parts
from simulator.aws.context_keys import MAX_SLOTS, TYPED, KeyUsage, KeyVar, Slot, key_usage
from simulator.aws.policy import Condition, PolicyDocument
from simulator.aws.principals import principal_representatives
from simulator.aws.request import Principal
from simulator.aws.resource_cells import (
    MAX_FORMAT_GUESSES,
    UNSURE,
    CellsTooCostly,
    ResourceCells,
    Units,
    abstract,
    cells_apply,
    with_default,
)
from simulator.aws.semantics import PrincipalMatch
from simulator.aws.values import (
    AnyChar,
    Lit,
    Pattern,
    Star,
    Var,
    parse_bool,
    parse_date,
    parse_ip,
    parse_number,
)
from simulator.aws.z3_session import Z3Session
from simulator.core.z3text import zstr

#: Formats asked of z3 one by one when looking for a typed resource, before giving up (unsettled).
MAX_FORMAT_CHECKS = 40


class Unsupported(Exception):
    """A construct this encoding does not decide; the statement becomes unsupported."""


class DeadlineExceeded(Exception):
    """The question's deadline passed while it was being encoded or searched: its answer is
    unknown (the message says where the time went)."""


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
        self._stmt_cache: dict[tuple[Any, ...], Any] = {}
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
        if resource is None and resource_cells and cells_apply(unique, catalog):
            # Units: each element's variable-free patterns together (or each such pattern alone,
            # when there are fewer distinct patterns than distinct elements: cells then grow with
            # the patterns, not with their combinations), each variable pattern alone (abstracted:
            # its variable read as ``*``), and a defaulted variable's pattern as it reads with the
            # default.
            unit_index = Units()
            self.element_units: dict[tuple[Pattern, ...], tuple[list[int], list[tuple[Pattern, int, int | None]]]] = {}
            plains = {e: tuple(p for p in e if not any(isinstance(x, Var) for x in p)) for e in dict.fromkeys(elements)}
            per_pattern = len({p for plain in plains.values() for p in plain}) < len(set(plains.values()))
            for element, plain in plains.items():
                plain_units = [unit_index((p,)) for p in plain] if per_pattern else [unit_index(plain)] if plain else []
                var_units = []
                for p in element:
                    if p in plain:
                        continue
                    defaulted = with_default(p)
                    default_unit = unit_index((defaulted,)) if defaulted is not None else None
                    var_units.append((p, unit_index((abstract(p),)), default_unit))
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
            return self.TRUE if any(glob(p).match(self.action_concrete) for p in patterns) else self.FALSE
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
        near = [f for f in k.formats if loose_format(f).match(hint)]
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

    def typed_resource(self, class_index: int, cell: int) -> tuple[str | None, bool]:  # noqa: C901
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
            formats = [f for f in k.formats if cells.may_meet(format_pattern(f), target.inside)]
        near = [f for f in formats if loose_format(f).match(target.sample)]
        near_set = set(near)
        ordered = sorted(near, key=len, reverse=True) + [f for f in formats if f not in near_set]
        # Candidates built from the cell itself: its sample, and its patterns with their
        # wildcards filled with name characters; any that has a format of the class will do.
        for candidate in [target.sample, *cells.candidates(sorted(target.inside))]:
            if in_cell(candidate) and any(format_python_regex(f).match(candidate) for f in ordered):
                return candidate, True
        for arn_format in ordered:
            for fill in ("iamdrift", "x"):
                candidate = instantiate(arn_format, fill)
                if in_cell(candidate):
                    return candidate, True
        for arn_format in ordered[:MAX_FORMAT_GUESSES]:
            for account, region in cells.places:
                candidate = instantiate(arn_format, "iamdrift", account, region)
                if in_cell(candidate):
                    return candidate, True
        universe = frozenset(self.session.arn_chars)
        pending = []
        for arn_format in ordered[:MAX_FORMAT_CHECKS]:
            self.check_deadline("looking for a well-typed resource")
            languages = cells.languages(target.inside, outside, format_pattern(arn_format))
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

"""Azure ABAC conditions (``conditionVersion`` 2.0): a parser for the common subset, and their
concrete evaluation in three-valued (Kleene) logic.

Grammar (Azure "role assignment condition format and syntax"):

- ``AND`` / ``&&``, ``OR`` / ``||``, ``NOT`` / ``!`` and parentheses. Azure requires parentheses
  when ``AND`` and ``OR`` are mixed at one level; such text is rejected here (``Unsupported``).
- ``ActionMatches{'pattern'}``: the request's operation matches the pattern (``*`` wildcards,
  case-insensitive, the same matching as a role's actions).
- ``SubOperationMatches{'Blob.List'}``: the request's sub-operation is that one (case-insensitive);
  a request without a sub-operation matches none.
- ``@Resource[type:name]`` / ``@Request[type:name]`` with ``StringEquals``, ``StringNotEquals``,
  ``StringStartsWith``, ``StringNotStartsWith``, ``StringLike``, ``StringNotLike`` and their
  ``IgnoreCase`` forms, against one quoted string; ``GuidEquals`` / ``GuidNotEquals`` against one
  GUID, quoted or not (case-insensitive, in the form ``00000000-0000-0000-0000-000000000000`` or
  as 32 hex digits, which some built-in roles use; a value of another form makes the comparison
  unknown); and the cross-product forms of all of
  them against a set ``{'a', 'b'}`` (GUIDs may be unquoted, as the delegation conditions of
  ``Microsoft.Authorization/roleAssignments/write`` write them):
  ``ForAnyOfAnyValues:`` (some attribute value compares true to some listed value),
  ``ForAllOfAnyValues:`` (every attribute value to some listed value), ``ForAnyOfAllValues:``
  (some attribute value to every listed value), ``ForAllOfAllValues:`` (every to every). A
  negated operator negates each pairwise comparison (``ForAnyOfAllValues:GuidNotEquals {a, b}``:
  some value is neither a nor b).

Attribute values: a request gives each attribute as a tuple of strings (empty or missing: the
attribute is absent). A plain (non cross-product) comparison needs exactly one value; with
several values its result is unknown. An absent attribute makes a positive comparison
(``StringEquals``, ``StringLike``, ``StringStartsWith``, ``GuidEquals``) false — Azure documents
that operations that do not supply an attribute a condition needs fail the access check — and a
negated one (``StringNotEquals``, ...) *unknown*, as Azure does not document that case. A
``ForAnyOf...`` comparison over no values is false (no value satisfies it); a ``ForAllOf...`` one
over no values is unknown (Azure does not say whether it holds vacuously).

``IgnoreCase`` compares with ASCII case folding; where folding non-ASCII letters as well would give
another result, the comparison is unknown (Azure does not document its folding). ``StringLike``
patterns: ``*`` any run, ``?`` one character, ``\\*`` and ``\\?`` literal.

Anything else that is syntactically an atom — ``@Principal`` / ``@Environment`` attributes, numeric,
date, IP or boolean operators, ``Exists``, literal left-hand sides — parses to :class:`Opaque`,
which evaluates to unknown (never silently true or false). Kleene logic keeps an unknown that
cannot change the result from spreading: in ``!(ActionMatches{'x'}) OR (<opaque>)`` a request for
another operation is decided. Text that cannot be parsed at all is :class:`Unsupported`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

K = bool | None

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


# --- AST --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attr:
    """``@Source[type:name]``; ``key`` is its canonical text (see :func:`attribute_key`)."""

    source: str  # "Resource" or "Request"
    key: str


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class ActionMatches:
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class SubOperationMatches:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    """``attr op value``. ``op`` is the base operator (``StringEquals``, ``StringLike``,
    ``GuidEquals``, ...) without ``Not`` / ``IgnoreCase``; ``negated`` and ``ignore_case`` carry
    those (``GuidEquals`` always ignores case). ``quantifier`` is the cross-product form
    (``ForAnyOfAnyValues`` ...; ``values`` may then hold several strings), ``None`` for a plain
    comparison."""

    attr: Attr
    op: str
    negated: bool
    ignore_case: bool
    values: tuple[str, ...]
    quantifier: str | None
    text: str

    @property
    def cross(self) -> bool:
        return self.quantifier is not None

    @property
    def any_value(self) -> bool:
        """Some attribute value must compare true (``ForAnyOf...``, or a plain comparison)."""
        return self.quantifier is None or self.quantifier.startswith("ForAnyOf")

    @property
    def any_target(self) -> bool:
        """Comparing true to some listed value suffices (``...OfAnyValues``)."""
        return self.quantifier is None or self.quantifier.endswith("OfAnyValues")


@dataclass(frozen=True)
class Opaque:
    """An atom outside the supported subset: evaluates to unknown."""

    reason: str
    text: str


Node = And | Or | Not | ActionMatches | SubOperationMatches | Compare | Opaque


@dataclass(frozen=True)
class Unsupported:
    """A condition that cannot be parsed; the assignment's answer is unknown."""

    reason: str


# --- Canonical attribute keys -----------------------------------------------------------------

_ATTR_TEXT = re.compile(r"^\s*@?\s*(Resource|Request|Principal|Environment)\s*\[(.*)\]\s*$", re.IGNORECASE | re.DOTALL)


def attribute_key(text: str) -> str:
    """The canonical key of an attribute reference: ``@Resource[<type, lower-case>:<name>]``.

    Resource types are case-insensitive in ARM; attribute names (blob index tag keys, marked
    ``<$key_case_sensitive$>``) are not, so only the type part is lower-cased."""
    m = _ATTR_TEXT.match(text)
    if not m:
        raise ValueError(f"not an ABAC attribute reference: {text!r} (want @Resource[type:name] or @Request[...])")
    source, inner = m.group(1).capitalize(), m.group(2).strip()
    if ":" in inner:
        # The name may itself contain ':' only after a tag prefix such as "tags:Project<$...$>".
        head, _, tail = inner.partition(":")
        if "/" not in tail:
            inner = f"{ascii_lower(head)}:{tail}"
        else:
            head, _, tail = inner.rpartition(":")
            inner = f"{ascii_lower(head)}:{tail}"
    else:
        inner = ascii_lower(inner)
    return f"@{source}[{inner}]"


# --- Parser -----------------------------------------------------------------------------------

_STRING_OPS = ("StringEquals", "StringStartsWith", "StringLike")
QUANTIFIERS = ("ForAnyOfAnyValues", "ForAllOfAnyValues", "ForAnyOfAllValues", "ForAllOfAllValues")
GUID_TEXT = re.compile(
    r"^(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32})$"
)


def is_guid(text: str) -> bool:
    """A GUID in the documented form (``8-4-4-4-12`` hex digits) or as 32 hex digits without
    dashes (the form some of Microsoft's own built-in role conditions use)."""
    return GUID_TEXT.match(text) is not None


def guid_forms(guid: str) -> tuple[str, str]:
    """A GUID's two spellings, lower-case: with dashes, and as 32 hex digits."""
    digits = ascii_lower(guid).replace("-", "")
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}", digits


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'])*')
      | (?P<attr>@\s*[A-Za-z]+\s*\[[^\]]*\])
      | (?P<and>&&)
      | (?P<or>\|\|)
      | (?P<not>!)
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<lbrace>\{)
      | (?P<rbrace>\})
      | (?P<comma>,)
      | (?P<word>[A-Za-z0-9_.:\-+/]+)
    )""",
    re.VERBOSE,
)


class _ParseError(ValueError):
    pass


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _ParseError(f"unexpected text at offset {pos}: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "word" and value.upper() in ("AND", "OR", "NOT"):
            kind = value.lower()
        tokens.append((kind, value))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        k, v = self.peek()
        if k != kind:
            raise _ParseError(f"expected {kind}, found {v or 'end of condition'!r}")
        self.i += 1
        return v

    def parse(self) -> Node:
        node = self.expr()
        if self.peek()[0] != "end":
            raise _ParseError(f"unexpected {self.peek()[1]!r} after a complete expression")
        return node

    def expr(self) -> Node:
        items = [self.unary()]
        joiner: str | None = None
        while self.peek()[0] in ("and", "or"):
            kind = self.peek()[0]
            if joiner is not None and kind != joiner:
                raise _ParseError("AND and OR mixed without parentheses (Azure requires them)")
            joiner = kind
            self.i += 1
            items.append(self.unary())
        if joiner is None:
            return items[0]
        return And(tuple(items)) if joiner == "and" else Or(tuple(items))

    def unary(self) -> Node:
        if self.peek()[0] == "not":
            self.i += 1
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.peek()
        if kind == "lpar":
            self.i += 1
            node = self.expr()
            self.take("rpar")
            return node
        if kind == "word" and value in ("ActionMatches", "SubOperationMatches"):
            self.i += 1
            values = self.value_set()
            if not values:
                raise _ParseError(f"{value} needs a value")
            return ActionMatches(values) if value == "ActionMatches" else SubOperationMatches(values)
        return self.comparison()

    def value_set(self) -> tuple[str, ...]:
        self.take("lbrace")
        values = [self.string()]
        while self.peek()[0] == "comma":
            self.i += 1
            values.append(self.string())
        self.take("rbrace")
        return tuple(values)

    def string(self) -> str:
        return self.take("str")[1:-1]

    def operand(self) -> tuple[str, tuple[str, ...] | None]:
        """A right-hand side: ('str', (s,)), ('guid', (g,)) for an unquoted GUID, ('set', (...)),
        ('guids', (...)) for a set holding unquoted GUIDs, or ('other', None) for numbers and
        other literals (kept for :class:`Opaque`)."""
        kind, word = self.peek()
        if kind == "str":
            return "str", (self.string(),)
        if kind == "word" and is_guid(word):
            self.i += 1
            return "guid", (word,)
        if kind == "lbrace":
            self.i += 1
            values: list[str] = []
            literal = True
            bare = False
            while True:
                k, v = self.peek()
                if k == "str":
                    values.append(self.string())
                elif k == "word" and is_guid(v):
                    values.append(v)
                    bare = True
                    self.i += 1
                elif k == "word":
                    literal = False
                    self.i += 1
                else:
                    raise _ParseError(f"unexpected {v or 'end of condition'!r} in a value set")
                if self.peek()[0] == "comma":
                    self.i += 1
                    continue
                self.take("rbrace")
                if not literal:
                    return "other", None
                return ("guids" if bare else "set"), tuple(values)
        if kind == "word":
            self.i += 1
            return "other", None
        raise _ParseError(f"expected a value, found {self.peek()[1] or 'end of condition'!r}")

    def comparison(self) -> Node:
        start = self.i
        kind, value = self.peek()
        if kind == "word" and value.lower() in ("exists", "notexists"):
            self.i += 1
            self.take("attr")
            return Opaque(f"operator {value} is not supported", self._text(start))
        if kind != "attr":
            # A literal left-hand side ({'a'} ForAnyOfAnyValues:... or 'x' StringEquals ...).
            if kind in ("str", "lbrace"):
                self.operand()
                self.take("word")
                self.operand()
                return Opaque("a comparison whose left side is not an attribute is not supported", self._text(start))
            raise _ParseError(f"expected an expression, found {value or 'end of condition'!r}")
        attr_text = self.take("attr")
        op_text = self.take("word")
        rhs_kind, rhs = self.operand()
        text = self._text(start)
        source = _ATTR_TEXT.match(attr_text)
        if source is None:
            return Opaque(f"attribute source of {attr_text} is not supported", text)
        src = source.group(1).capitalize()
        if src not in ("Resource", "Request"):
            return Opaque(f"@{src} attributes are not supported", text)
        quantifier, _, base = op_text.rpartition(":")
        if quantifier and quantifier not in QUANTIFIERS:
            return Opaque(f"quantifier {quantifier} is not supported", text)
        parsed = _operator(base)
        if parsed is None:
            return Opaque(f"operator {base} is not supported", text)
        op, negated, ignore_case = parsed
        single = ("str", "guid")
        if rhs is None or (not quantifier and rhs_kind not in single) or (quantifier and rhs_kind in single):
            return Opaque(f"{op_text} with this value is not supported", text)
        if op == "GuidEquals" and not all(is_guid(v) for v in rhs):
            return Opaque(f"{op_text} compares with a value that is not a GUID", text)
        if op != "GuidEquals" and rhs_kind in ("guid", "guids"):
            return Opaque(f"{op_text} with an unquoted value is not supported", text)
        attr = Attr(src, attribute_key(attr_text))
        return Compare(attr, op, negated, ignore_case, rhs, quantifier or None, text)

    def _text(self, start: int) -> str:
        return " ".join(v for _, v in self.tokens[start : self.i])


def _operator(name: str) -> tuple[str, bool, bool] | None:
    """``StringNotLikeIgnoreCase`` -> ("StringLike", negated, ignore_case); ``GuidNotEquals`` ->
    ("GuidEquals", True, True)."""
    if name in ("GuidEquals", "GuidNotEquals"):
        return "GuidEquals", name == "GuidNotEquals", True
    ignore_case = name.endswith("IgnoreCase")
    core = name[: -len("IgnoreCase")] if ignore_case else name
    negated = core.startswith("StringNot")
    if negated:
        core = "String" + core[len("StringNot") :]
    return (core, negated, ignore_case) if core in _STRING_OPS else None


@lru_cache(maxsize=4096)
def parse_condition(text: str) -> Node | Unsupported:
    """Parse a condition's text. Never raises: a parse failure is :class:`Unsupported`."""
    if not text or not text.strip():
        return Unsupported("empty condition")
    try:
        return _Parser(text).parse()
    except _ParseError as exc:
        return Unsupported(f"condition cannot be parsed: {exc}")


def parse_assignment_condition(condition: str | None, version: str | None) -> Node | Unsupported | None:
    """An assignment's (or permission block's) condition; ``None`` when it has none."""
    if condition is None or not str(condition).strip():
        return None
    if str(version or "2.0") != "2.0":
        return Unsupported(f"conditionVersion {version} is not supported (only 2.0)")
    return parse_condition(str(condition))


# --- Concrete evaluation ----------------------------------------------------------------------


def glob_regex(pattern: str, *, escapes: bool = False) -> str:
    """Regex for a ``*`` / ``?`` glob (``escapes``: ``\\*`` and ``\\?`` are literal)."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escapes and c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" and escapes else re.escape(c))
        i += 1
    return "".join(out)


def action_pieces(pattern: str) -> list[str]:
    """An RBAC action pattern as pieces for matching: literal text, ``*`` (any run of characters,
    slashes included) and ``/*`` standing for an *optional* ``/`` + any run (a whole-segment
    wildcard between two segments).

    Azure: "the wildcard (``*``) character extends a permission to everything that matches the
    string you provide" (Understand Azure role definitions, Actions). A ``*`` that is a whole
    segment between two others also matches no segment at all: the built-in Managed Identity
    Operator role grants ``Microsoft.ManagedIdentity/userAssignedIdentities/assign/action`` (the
    operation that exists) through ``Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action``.
    So ``a/*/b`` matches ``a/b``, ``a/x/b`` and ``a/x/y/b``; a leading or trailing ``*`` segment
    (``*/read``, ``Microsoft.Compute/*``) and a ``*`` inside a segment (``virtualMachines*``) are
    plain runs."""
    segments = pattern.split("/")
    pieces: list[str] = []
    text = ""
    for index, segment in enumerate(segments):
        inner = 0 < index < len(segments) - 1
        if inner and segment == "*":
            if text:
                pieces.append(text)
            text = ""
            pieces.append("/*")
            continue
        chunk = ("/" if index else "") + segment
        for j, part in enumerate(chunk.split("*")):
            if j:
                if text:
                    pieces.append(text)
                text = ""
                pieces.append("*")
            text += part
    if text:
        pieces.append(text)
    return pieces


@lru_cache(maxsize=8192)
def _compiled_action(pattern: str) -> re.Pattern[str]:
    regex = []
    for piece in action_pieces(ascii_lower(pattern)):
        regex.append("(?:/.*)?" if piece == "/*" else ".*" if piece == "*" else re.escape(piece))
    return re.compile("".join(regex), re.DOTALL)


def action_matches(pattern: str, operation: str) -> bool:
    """An RBAC action pattern (``*`` wildcards, case-insensitive; see :func:`action_pieces`)
    against an operation."""
    return _compiled_action(pattern).fullmatch(ascii_lower(operation)) is not None


@lru_cache(maxsize=8192)
def _compiled_like(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(glob_regex(ascii_lower(pattern) if ignore_case else pattern, escapes=True), re.DOTALL)


def _compare_folded(op: str, ignore_case: bool, value: str, target: str, fold: Callable[[str], str]) -> bool:
    if op == "StringLike":
        pattern = fold(target) if ignore_case else target
        return (
            re.fullmatch(glob_regex(pattern, escapes=True), fold(value) if ignore_case else value, re.DOTALL)
            is not None
        )
    if ignore_case:
        value, target = fold(value), fold(target)
    if op == "StringEquals":
        return value == target
    if op == "StringStartsWith":
        return value.startswith(target)
    raise ValueError(f"unknown base operator {op}")


def unicode_cased(text: str) -> bool:
    """``text`` has a non-ASCII character that case folding changes."""
    return any(not c.isascii() and (c.casefold() != c or c.upper() != c or c.lower() != c) for c in text)


def compare_one(op: str, ignore_case: bool, value: str, target: str) -> K:
    """The positive base operator on one attribute value and one listed value. ``IgnoreCase``
    folds ASCII letters; where folding non-ASCII letters too would give another result (Azure's
    exact folding is not documented), the result is unknown. ``GuidEquals`` compares GUIDs
    case-insensitively; a value that is not a GUID gives unknown (Azure documents only GUIDs)."""
    if op == "GuidEquals":
        return guid_forms(value) == guid_forms(target) if is_guid(value) and is_guid(target) else None
    if op == "StringLike" and not (ignore_case and unicode_cased(value + target)):
        return _compiled_like(target, ignore_case).fullmatch(ascii_lower(value) if ignore_case else value) is not None
    ascii_result = _compare_folded(op, ignore_case, value, target, ascii_lower)
    unicode_result = (
        _compare_folded(op, ignore_case, value, target, str.casefold)
        if ignore_case and unicode_cased(value + target)
        else ascii_result
    )
    return ascii_result if unicode_result == ascii_result else None


def _differs(result: K, negated: bool) -> K:
    return None if result is None else result != negated


def evaluate_compare(node: Compare, values: tuple[str, ...]) -> K:
    """A comparison given the attribute's values (empty: absent)."""
    if node.cross:
        if not values:
            return False if node.any_value else None
        per_value = []
        for v in values:
            pairs = [_differs(compare_one(node.op, node.ignore_case, v, t), node.negated) for t in node.values]
            per_value.append(kleene_or(pairs) if node.any_target else kleene_and(pairs))
        return kleene_or(per_value) if node.any_value else kleene_and(per_value)
    if not values:
        return None if node.negated else False
    if len(values) > 1:
        return None
    return _differs(compare_one(node.op, node.ignore_case, values[0], node.values[0]), node.negated)


@dataclass(frozen=True)
class Facts:
    """What a condition reads from a request."""

    operation: str
    sub_operation: str | None
    attributes: Mapping[str, tuple[str, ...]]


def kleene_and(items: Iterable[K]) -> K:
    values = list(items)
    return False if False in values else None if None in values else True


def kleene_or(items: Iterable[K]) -> K:
    values = list(items)
    return True if True in values else None if None in values else False


def evaluate(node: Node | Unsupported, facts: Facts) -> K:
    """Kleene value of a condition on one request (``None``: unknown)."""
    if isinstance(node, Unsupported | Opaque):
        return None
    if isinstance(node, And):
        return kleene_and(evaluate(i, facts) for i in node.items)
    if isinstance(node, Or):
        return kleene_or(evaluate(i, facts) for i in node.items)
    if isinstance(node, Not):
        inner = evaluate(node.item, facts)
        return None if inner is None else not inner
    if isinstance(node, ActionMatches):
        return any(action_matches(p, facts.operation) for p in node.patterns)
    if isinstance(node, SubOperationMatches):
        sub = facts.sub_operation
        return sub is not None and any(ascii_lower(n) == ascii_lower(sub) for n in node.names)
    return evaluate_compare(node, tuple(facts.attributes.get(node.attr.key, ())))


def unknown_reasons(node: Node | Unsupported) -> list[str]:
    """Why parts of a condition evaluate to unknown."""
    if isinstance(node, Unsupported):
        return [node.reason]
    if isinstance(node, Opaque):
        return [f"{node.reason}: {node.text}"]
    if isinstance(node, And | Or):
        return [r for i in node.items for r in unknown_reasons(i)]
    if isinstance(node, Not):
        return unknown_reasons(node.item)
    return []


def comparisons(node: Node | Unsupported) -> Iterator[Compare]:
    """Every attribute comparison of a condition, in order of appearance."""
    if isinstance(node, And | Or):
        for item in node.items:
            yield from comparisons(item)
    elif isinstance(node, Not):
        yield from comparisons(node.item)
    elif isinstance(node, Compare):
        yield node


def attributes_of(node: Node | Unsupported) -> list[Attr]:
    """Every attribute a condition compares, in order of appearance, each once."""
    out: dict[str, Attr] = {}
    for compare in comparisons(node):
        out.setdefault(compare.attr.key, compare.attr)
    return list(out.values())

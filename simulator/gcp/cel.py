"""The subset of CEL that Google Cloud IAM conditions use, parsed into a small frozen AST.

Supported, and decided exactly:

- ``request.time`` compared (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``) with
  ``timestamp("RFC 3339 text")``, either side;
- ``resource.name``, ``resource.type``, ``resource.service`` and
  ``resource.name.extract("...{x}...")`` compared with a string literal by ``==`` / ``!=``;
- ``resource.name.startsWith("...")`` / ``.endsWith("...")``;
- ``&&``, ``||``, ``!``, parentheses, ``true``, ``false``.

Everything else (other functions, attributes such as ``api.getAttribute`` or ``request.auth``,
macros, arithmetic, lists, ``in``) becomes an :class:`Opaque` node that names the construct: its
value is *unknown*. The parser reads the whole CEL expression syntax first and only then lowers
it to this AST, so an unsupported part deep inside a condition stays local: ``false && X`` is
still false. Text that is not CEL at all raises :class:`Unsupported` (the caller makes the whole
condition unknown).

Evaluation (:func:`evaluate`) is strong Kleene three-valued logic over concrete values:
``True``, ``False`` or ``None`` (unknown), with the reasons for every unknown leaf it met.

``extract`` (as Google documents it): the template's text before ``{...}`` is searched for in the
name (leftmost occurrence); the value is the shortest following run that is followed by the
template's text after ``}`` (the rest of the name when that text is empty). No match gives
``""``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STRING_ATTRIBUTES = ("resource.name", "resource.type", "resource.service")
TIME_OPS = ("<", "<=", ">", ">=", "==", "!=")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class Unsupported(ValueError):
    """The text is not a CEL expression this parser reads; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- The AST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class TimeCmp:
    """``request.time OP at`` (normalized so that ``request.time`` is on the left)."""

    op: str
    at: datetime


@dataclass(frozen=True)
class Attr:
    """A string attribute of the request: ``resource.name``, ``resource.type`` or ``resource.service``."""

    name: str


@dataclass(frozen=True)
class Extract:
    """``resource.name.extract(template)``: ``prefix{x}suffix``."""

    prefix: str
    suffix: str


StrTerm = Attr | Extract


@dataclass(frozen=True)
class StrEq:
    """``term == value`` (``negated``: ``!=``)."""

    term: StrTerm
    value: str
    negated: bool = False


@dataclass(frozen=True)
class StrCall:
    """``resource.name.startsWith(arg)`` / ``.endsWith(arg)`` (``fn``: ``startsWith`` or ``endsWith``)."""

    fn: str
    attr: str
    arg: str


@dataclass(frozen=True)
class And:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


@dataclass(frozen=True)
class Opaque:
    """A construct outside the supported subset: its value is unknown. ``reason`` names it."""

    reason: str


Cond = Const | TimeCmp | StrEq | StrCall | And | Or | Not | Opaque


# --- Tokenizer --------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>[rR]?(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!().,\[\]{}:?+\-*/%])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "`": "`", "?": "?", "a": "\a"}


@dataclass(frozen=True)
class Token:
    kind: str  # str, num, ident, op, end
    text: str
    value: Any = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(f"unexpected character {text[pos]!r} at offset {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        raw = m.group()
        if kind == "str":
            tokens.append(Token("str", raw, _unquote(raw)))
        else:
            tokens.append(Token(kind, raw))
    tokens.append(Token("end", ""))
    return tokens


def _unquote(raw: str) -> str:
    if raw[0] in "rR":
        return raw[2:-1]
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise Unsupported(f"string escape \\{nxt} is not supported")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# --- Generic CEL syntax tree ------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """A node of the generic syntax tree: ``kind`` is ident, select, call, lit, unary, binary, other."""

    kind: str
    text: str  # the operator, identifier, function or field name
    args: tuple[_Node, ...] = ()
    value: Any = None


class _Parser:
    """Recursive descent over the CEL grammar (precedence: ?: < || < && < relations < + - < * / % < unary)."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind not in ("op",):
            raise Unsupported(f"expected {text!r}, found {tok.text or 'end of expression'!r}")

    def parse(self) -> _Node:
        node = self.conditional()
        if self.peek().kind != "end":
            raise Unsupported(f"unexpected {self.peek().text!r} after a complete expression")
        return node

    def conditional(self) -> _Node:
        node = self.or_()
        if self.peek().text == "?" and self.peek().kind == "op":
            self.take()
            then = self.conditional()
            self.expect(":")
            other = self.conditional()
            return _Node("other", "?:", (node, then, other))
        return node

    def _binary(self, ops: tuple[str, ...], sub: Callable[[], _Node]) -> _Node:
        node: _Node = sub()
        while self.peek().kind == "op" and self.peek().text in ops:
            op = self.take().text
            node = _Node("binary", op, (node, sub()))
        return node

    def or_(self) -> _Node:
        return self._binary(("||",), self.and_)

    def and_(self) -> _Node:
        return self._binary(("&&",), self.relation)

    def relation(self) -> _Node:
        node = self.additive()
        while (self.peek().kind == "op" and self.peek().text in TIME_OPS) or (
            self.peek().kind == "ident" and self.peek().text == "in"
        ):
            op = self.take().text
            node = _Node("binary", op, (node, self.additive()))
        return node

    def additive(self) -> _Node:
        return self._binary(("+", "-"), self.multiplicative)

    def multiplicative(self) -> _Node:
        return self._binary(("*", "/", "%"), self.unary)

    def unary(self) -> _Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-"):
            self.take()
            return _Node("unary", tok.text, (self.unary(),))
        return self.member()

    def member(self) -> _Node:
        node = self.primary()
        while self.peek().kind == "op" and self.peek().text in (".", "["):
            if self.take().text == "[":
                index = self.conditional()
                self.expect("]")
                node = _Node("other", "[]", (node, index))
                continue
            name = self.take()
            if name.kind != "ident":
                raise Unsupported(f"expected a field name after '.', found {name.text!r}")
            if self.peek().text == "(" and self.peek().kind == "op":
                node = _Node("call", name.text, (node, *self.arguments()))
            else:
                node = _Node("select", name.text, (node,))
        return node

    def arguments(self) -> tuple[_Node, ...]:
        self.expect("(")
        args: list[_Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            args.append(self.conditional())
            while self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                args.append(self.conditional())
        self.expect(")")
        return tuple(args)

    def primary(self) -> _Node:
        tok = self.take()
        if tok.kind == "str":
            return _Node("lit", "string", value=tok.value)
        if tok.kind == "num":
            return _Node("lit", "number", value=tok.text)
        if tok.kind == "ident":
            if tok.text in ("true", "false"):
                return _Node("lit", "bool", value=tok.text == "true")
            if tok.text == "null":
                return _Node("lit", "null", value=None)
            if self.peek().text == "(" and self.peek().kind == "op":
                return _Node("call", tok.text, (_Node("lit", "null"), *self.arguments()))
            return _Node("ident", tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.conditional()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text in ("[", "{"):
            close = "]" if tok.text == "[" else "}"
            depth = 1
            while depth:
                inner = self.take()
                if inner.kind == "end":
                    raise Unsupported(f"unclosed {tok.text!r}")
                if inner.kind == "op" and inner.text in ("[", "{"):
                    depth += 1
                elif inner.kind == "op" and inner.text in ("]", "}"):
                    depth -= 1
            return _Node("other", "list literal" if close == "]" else "map literal")
        raise Unsupported(f"unexpected {tok.text or 'end of expression'!r}")


# --- Lowering to the supported AST ------------------------------------------------------------


def _describe(node: _Node) -> str:
    """A short human name for a construct (used in unknown reasons)."""
    if node.kind == "ident":
        return node.text
    if node.kind == "select":
        return f"{_describe(node.args[0])}.{node.text}"
    if node.kind == "call":
        target = node.args[0]
        if target.kind == "lit" and target.text == "null":
            return f"{node.text}()"
        return f"{_describe(target)}.{node.text}()"
    if node.kind == "lit":
        return repr(node.value) if node.text == "string" else str(node.value).lower()
    if node.kind in ("binary", "unary"):
        return f"operator {node.text}"
    return node.text


def _path(node: _Node) -> str | None:
    """``a.b.c`` for a chain of identifier selections, else None."""
    if node.kind == "ident":
        return node.text
    if node.kind == "select":
        inner = _path(node.args[0])
        return f"{inner}.{node.text}" if inner else None
    return None


def _string_literal(node: _Node) -> str | None:
    return node.value if node.kind == "lit" and node.text == "string" else None


def _timestamp(node: _Node) -> datetime | Opaque | None:
    """The instant of ``timestamp("...")``; Opaque for a malformed one; None if not a timestamp call."""
    if node.kind != "call" or node.text != "timestamp":
        return None
    target, *args = node.args
    if not (target.kind == "lit" and target.text == "null") or len(args) != 1 or _string_literal(args[0]) is None:
        return Opaque("timestamp() with an argument other than one string literal")
    text = _string_literal(args[0]) or ""
    return parse_timestamp(text)


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def parse_timestamp(text: str) -> datetime | Opaque:
    """An RFC 3339 timestamp as an aware UTC datetime; Opaque if malformed or finer than microseconds."""
    if not _RFC3339.fullmatch(text):
        return Opaque(f"timestamp({text!r}) is not an RFC 3339 time with a zone")
    fraction = re.search(r"\.(\d+)", text)
    if fraction and len(fraction.group(1)) > 6 and set(fraction.group(1)[6:]) != {"0"}:
        return Opaque(f"timestamp({text!r}) is finer than a microsecond")
    if fraction:
        text = text.replace(fraction.group(0), "." + fraction.group(1)[:6].ljust(6, "0"), 1)
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return Opaque(f"timestamp({text!r}) is not a valid time")


def _string_term(node: _Node) -> StrTerm | Opaque | None:
    """A supported string-valued term, Opaque for an unsupported one, None when it is a literal."""
    path = _path(node)
    if path in STRING_ATTRIBUTES:
        return Attr(path)
    if node.kind == "call" and node.text == "extract":
        target, *args = node.args
        if _path(target) != "resource.name":
            return Opaque(f"{_describe(node)} (extract is supported on resource.name only)")
        template = _string_literal(args[0]) if len(args) == 1 else None
        if template is None:
            return Opaque("resource.name.extract() with an argument other than one string literal")
        m = re.fullmatch(r"([^{}]*)\{[^{}]*\}([^{}]*)", template)
        if m is None:
            return Opaque(f"resource.name.extract({template!r}): the template needs exactly one {{name}}")
        return Extract(m.group(1), m.group(2))
    if _string_literal(node) is not None:
        return None
    return Opaque(f"{_describe(node)} is not supported in conditions here")


def _lower(node: _Node) -> Cond:
    """The condition a boolean-valued syntax node means."""
    if node.kind == "lit" and node.text == "bool":
        return Const(bool(node.value))
    if node.kind == "binary" and node.text in ("&&", "||"):
        left, right = _lower(node.args[0]), _lower(node.args[1])
        cls = And if node.text == "&&" else Or
        items: list[Cond] = []
        for part in (left, right):
            items.extend(part.items if isinstance(part, cls) else (part,))
        return cls(tuple(items))
    if node.kind == "unary" and node.text == "!":
        return Not(_lower(node.args[0]))
    if node.kind == "binary" and node.text in TIME_OPS:
        return _comparison(node)
    if node.kind == "call" and node.text in ("startsWith", "endsWith"):
        target, *args = node.args
        path = _path(target)
        arg = _string_literal(args[0]) if len(args) == 1 else None
        if path not in STRING_ATTRIBUTES:
            return Opaque(f"{_describe(node)} (startsWith/endsWith are supported on resource attributes only)")
        if arg is None:
            return Opaque(f"{_describe(node)} with an argument other than one string literal")
        return StrCall(node.text, path or "", arg)
    return Opaque(f"{_describe(node)} is not supported in conditions here")


def _comparison(node: _Node) -> Cond:
    op = node.text
    left, right = node.args
    for a, b, o in ((left, right, op), (right, left, _FLIP[op])):
        if _path(a) == "request.time":
            at = _timestamp(b)
            if isinstance(at, Opaque):
                return at
            if at is None:
                return Opaque(f'request.time compared with {_describe(b)} (only timestamp("...") is supported)')
            return TimeCmp(o, at)
    if _timestamp(left) is not None or _timestamp(right) is not None:
        return Opaque(f"a timestamp compared with something other than request.time ({_describe(node)})")
    lterm, rterm = _string_term(left), _string_term(right)
    if isinstance(lterm, Opaque):
        return lterm
    if isinstance(rterm, Opaque):
        return rterm
    if op not in ("==", "!="):
        return Opaque(f"operator {op} on strings is not supported (only == and !=)")
    if lterm is not None and rterm is None:
        return StrEq(lterm, _string_literal(right) or "", op == "!=")
    if rterm is not None and lterm is None:
        return StrEq(rterm, _string_literal(left) or "", op == "!=")
    if lterm is None and rterm is None:
        return Const((_string_literal(left) == _string_literal(right)) != (op == "!="))
    return Opaque(f"comparing two request attributes ({_describe(left)} {op} {_describe(right)})")


def parse(text: str) -> Cond:
    """The condition ``text`` means. Raises :class:`Unsupported` if it is not CEL at all."""
    if not text.strip():
        raise Unsupported("empty condition expression")
    return _lower(_Parser(text).parse())


def parse_or_opaque(text: str) -> Cond:
    """Like :func:`parse`, but text that does not parse becomes one :class:`Opaque` node."""
    try:
        return parse(text)
    except Unsupported as exc:
        return Opaque(f"condition does not parse: {exc.reason}")
    except RecursionError:
        return Opaque("condition nests too deeply")


# --- Concrete evaluation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """Concrete request attributes; ``None`` means the attribute's value is not known."""

    time: datetime | None
    name: str | None = None
    type: str | None = None
    service: str | None = None

    def attribute(self, name: str) -> str | None:
        return {"resource.name": self.name, "resource.type": self.type, "resource.service": self.service}[name]


def extract(name: str, prefix: str, suffix: str) -> str:
    """``name.extract(prefix + "{x}" + suffix)`` (see the module docstring)."""
    if suffix:
        m = re.search(re.escape(prefix) + "(.*?)" + re.escape(suffix), name, re.DOTALL)
    else:
        m = re.search(re.escape(prefix) + "(.*)", name, re.DOTALL)
    return m.group(1) if m else ""


def compare_time(op: str, left: datetime, right: datetime) -> bool:
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "==": left == right,
        "!=": left != right,
    }[op]


def evaluate(cond: Cond, env: Env, reasons: list[str] | None = None) -> bool | None:
    """Strong Kleene value of ``cond`` in ``env``; the reason of every unknown leaf is appended to ``reasons``."""
    sink: list[str] = reasons if reasons is not None else []
    if isinstance(cond, Const):
        return cond.value
    if isinstance(cond, Opaque):
        sink.append(cond.reason)
        return None
    if isinstance(cond, TimeCmp):
        if env.time is None:
            sink.append("request.time is not known")
            return None
        return compare_time(cond.op, env.time, cond.at)
    if isinstance(cond, StrEq):
        value = _term_value(cond.term, env, sink)
        return None if value is None else (value == cond.value) != cond.negated
    if isinstance(cond, StrCall):
        text = env.attribute(cond.attr)
        if text is None:
            sink.append(f"{cond.attr} is not known")
            return None
        return text.startswith(cond.arg) if cond.fn == "startsWith" else text.endswith(cond.arg)
    if isinstance(cond, Not):
        inner = evaluate(cond.item, env, sink)
        return None if inner is None else not inner
    values = [evaluate(item, env, sink) for item in cond.items]
    if isinstance(cond, And):
        return False if False in values else None if None in values else True
    return True if True in values else None if None in values else False


def _term_value(term: StrTerm, env: Env, sink: list[str]) -> str | None:
    if isinstance(term, Attr):
        value = env.attribute(term.name)
        if value is None:
            sink.append(f"{term.name} is not known")
        return value
    if env.name is None:
        sink.append("resource.name is not known")
        return None
    return extract(env.name, term.prefix, term.suffix)


def attributes_used(cond: Cond) -> set[str]:
    """The request attributes ``cond`` reads (``request.time``, ``resource.name``, ...)."""
    if isinstance(cond, TimeCmp):
        return {"request.time"}
    if isinstance(cond, StrEq):
        return {cond.term.name if isinstance(cond.term, Attr) else "resource.name"}
    if isinstance(cond, StrCall):
        return {cond.attr}
    if isinstance(cond, Not):
        return attributes_used(cond.item)
    if isinstance(cond, And | Or):
        return set().union(*(attributes_used(i) for i in cond.items))
    return set()

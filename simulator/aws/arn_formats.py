"""ARN formats (``arn:${Partition}:s3:::${BucketName}``) and resource patterns as languages.

Each form the encoding needs of the same language: glob tokens and automata for exact search
(:mod:`simulator.aws.globs`), Python regexes to test a text, a glob superset (each placeholder a
``*``) for disjointness tests, a loose regex for "which format is this text near", and instances
with the placeholders filled (cheap candidate resources). Placeholders read: Partition ``aws``,
Account twelve digits, Region ``[a-z0-9-]+``, a path placeholder (Path, Object, Key, Prefix) name
characters and ``/``, any other name characters. The z3 regex of a format is
:meth:`simulator.aws.question.Question._format_regex`, the same language. Every typed resource
has the shape :data:`ARN_TOKENS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from simulator.aws import globs
from simulator.aws.catalog import Catalog, format_regex_parts
from simulator.aws.resource_patterns import disjoint, literal_ends
from simulator.aws.values import (
    AnyChar,
    Lit,
    Pattern,
    Star,
)


def is_path_placeholder(name: str) -> bool:
    """ARN placeholders that hold paths (object keys, IAM names with paths) may contain ``/``."""
    return any(word in name for word in ("Path", "Object", "Key", "Prefix"))


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
def instantiate(arn_format: str, fill: str, account: str = "111122223333", region: str = "us-east-1") -> str:
    """The format with its placeholders filled: a cheap candidate resource (kept: the same
    guesses serve every cell and question)."""
    values = {"Partition": "aws", "Region": region, "Account": account}
    return "".join(text if kind == "lit" else values.get(text, fill) for kind, text in format_regex_parts(arn_format))


def _format_service(arn_format: str) -> str:
    return arn_format.split(":", 3)[2]


@lru_cache(maxsize=64)
def formats_by_service(formats: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for f in formats:
        grouped.setdefault(_format_service(f), []).append(f)
    return {service: tuple(group) for service, group in grouped.items()}


@lru_cache(maxsize=4)
def _all_formats(catalog: Catalog) -> tuple[str, ...]:
    return tuple(sorted({f for info in catalog.actions.values() for f in info.formats}))


@lru_cache(maxsize=16384)
def catalog_meeting(catalog: Catalog, pattern: Pattern) -> frozenset[str]:
    """:func:`formats_meeting` over every format of the catalog."""
    return formats_meeting(pattern, _all_formats(catalog))


@lru_cache(maxsize=16384)
def formats_meeting(pattern: Pattern, formats: tuple[str, ...]) -> frozenset[str]:
    """The ``formats`` whose resources ``pattern`` is not shown disjoint from (by their fixed
    beginnings and ends). A pattern whose fixed beginning names a whole service field
    (``arn:aws:ec2:...``) only meets that service's formats."""
    head, _ = literal_ends(pattern)
    fields = head.split(":", 3)
    if len(fields) == 4 and fields[0] == "arn" and fields[1] == "aws":
        candidates: Sequence[str] = formats_by_service(formats).get(fields[2], ())
    else:
        candidates = formats
    return frozenset(f for f in candidates if not disjoint(format_pattern(f), pattern))


@lru_cache(maxsize=8192)
def format_pattern(arn_format: str) -> Pattern:
    """The format as a glob: a superset of its language (each placeholder a ``*``)."""
    return tuple(
        Lit(text) if kind == "lit" else Lit("aws") if text == "Partition" else Star()
        for kind, text in format_regex_parts(arn_format)
    )


@lru_cache(maxsize=8192)
def loose_format(arn_format: str) -> re.Pattern[str]:
    """The format with every placeholder as ``.*``: a cheap test of which format a string is near."""
    parts = [re.escape(text) if kind == "lit" else ".*" for kind, text in format_regex_parts(arn_format)]
    return re.compile("".join(parts) + r"\Z", re.S)


@lru_cache(maxsize=8192)
def format_python_regex(arn_format: str) -> re.Pattern[str]:
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


def format_matches(arn_format: str, resource: str) -> bool:
    return bool(format_python_regex(arn_format).match(resource))

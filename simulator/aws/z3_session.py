"""The z3 session: one z3 context and what every question in it can share.

The shared parts are regex building blocks (any character, any string, a non-colon character,
printable text), the ARN format regexes questions build, and the generic resource (``*`` or any
ARN-shaped string over the catalog's ARN characters). Questions asked one after another reuse a
session: making a context costs milliseconds. A session is not shared between threads.
"""

from __future__ import annotations

from typing import Any

import z3

from simulator.aws.catalog import Catalog
from simulator.aws.values import (
    AnyChar,
    Lit,
    Pattern,
    Star,
)
from simulator.core.z3text import char_class, printable_char, zstr


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
        self.printable = z3.Star(printable_char(c))
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
            chars = char_class(catalog.arn_characters, c)
            field = z3.Star(char_class(catalog.arn_characters.replace(":", ""), c))
            colon = z3.Re(zstr(":", c))
            arn = z3.Concat(z3.Re(zstr("arn:aws:", c)), field, colon, field, colon, field, colon, z3.Star(chars))
            self._generic = z3.Union(z3.Re(zstr("*", c)), arn)
        return self._generic

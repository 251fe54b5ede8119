"""z3 strings and regexes built from, and read back as, text. Cloud-neutral: nothing here knows a
policy language or imports a cloud package.

- :func:`zstr`: a z3 string constant holding exactly a text (z3 reads ``\\u{..}`` escapes in
  string literals, so a backslash is written as an escape).
- :func:`string_value`: the text of a z3 string constant, character for character.
- :func:`printable_char` and :func:`is_printable`: the characters free values take (printable
  ASCII and U+00A0..U+D7FF), as a z3 regex and as a Python test of the same set.
- :func:`char_class`: a regex of one character from a set, as few ranges as possible.
"""

from __future__ import annotations

import ctypes
from typing import Any

import z3


def printable_char(c: Any) -> Any:
    """A regex of one printable character (the characters free values take; see :func:`is_printable`)."""
    return z3.Union(z3.Range(" ", "~", ctx=c), z3.Range("\u00a0", "\ud7ff", ctx=c))


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
    """Every character of ``text`` is a :func:`printable_char` (the characters free context values
    take: ``Z3Session.printable`` in the AWS encoding)."""
    return all(" " <= ch <= "~" or "\u00a0" <= ch <= "\ud7ff" for ch in text)


def char_class(characters: str, c: Any) -> Any:
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

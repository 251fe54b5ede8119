"""Exact search over intersections of simple regular languages: glob patterns and ARN formats.

Both are sequences of tokens: a literal character, any one character, any string (``*``), or one
or more characters from a set (an ARN placeholder). :func:`search` walks the product of their
automata breadth first and yields members of the intersection, shortest first; when the walk
ends without one, the intersection is empty — a proof, not a guess. Used to find and rule out
typed resources quickly; the z3 encoding stays the authority for everything else.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

LITERAL, ANY, STAR, SOME, ONE = "lit", "any", "star", "some", "one"


@dataclass(frozen=True)
class Token:
    kind: str
    chars: frozenset[str] = frozenset()  # the character (LITERAL) or the set (SOME: one or more, ONE: one)


Tokens = tuple[Token, ...]


def literal(text: str) -> list[Token]:
    return [Token(LITERAL, frozenset(ch)) for ch in text]


def _closure(tokens: Tokens, states: frozenset[int]) -> frozenset[int]:
    """States reachable without reading: a STAR may match nothing; ``some`` loops are
    represented by state ``-(i+1)`` meaning "inside token i, may stop or go on"."""
    out = set(states)
    stack = list(states)
    while stack:
        state = stack.pop()
        index = -state - 1 if state < 0 else state
        if state < 0 or (0 <= state < len(tokens) and tokens[state].kind == STAR):
            nxt = index + 1
            if nxt not in out:
                out.add(nxt)
                stack.append(nxt)
    return frozenset(out)


def _step(tokens: Tokens, states: frozenset[int], ch: str, universe: frozenset[str]) -> frozenset[int]:
    nxt: set[int] = set()
    for state in states:
        index = -state - 1 if state < 0 else state
        if index >= len(tokens):
            continue
        token = tokens[index]
        if (token.kind in (LITERAL, ONE) and ch in token.chars) or (token.kind == ANY and ch in universe):
            nxt.add(index + 1)
        elif token.kind == STAR and ch in universe:
            nxt.add(index)
        elif token.kind == SOME and ch in token.chars:
            nxt.add(-index - 1)
    return _closure(tokens, frozenset(nxt))


def search(automata: Sequence[Tokens], universe: frozenset[str], limit_states: int = 4_000) -> Iterator[str]:
    """Members of the intersection of ``automata`` over characters from ``universe``, shortest
    first. Ends when the intersection is exhausted (then it was empty if nothing was yielded);
    raises :class:`SearchTooLarge` past ``limit_states`` product states."""
    # Characters every token treats alike are interchangeable: one of each kind is enough.
    sets = [t.chars for tokens in automata for t in tokens if t.kind in (LITERAL, SOME, ONE)]
    kinds: dict[tuple[bool, ...], str] = {}
    for ch in sorted(universe):
        kinds.setdefault(tuple(ch in chars for chars in sets), ch)
    letters = sorted(kinds.values())
    start = tuple(_closure(t, frozenset({0})) for t in automata)
    seen = {start}
    queue: deque[tuple[tuple[frozenset[int], ...], str]] = deque([(start, "")])
    while queue:
        states, text = queue.popleft()
        if all(len(t) in s for t, s in zip(automata, states, strict=True)):
            yield text
        for ch in letters:
            nxt = tuple(_step(t, s, ch, universe) for t, s in zip(automata, states, strict=True))
            if any(not s for s in nxt) or nxt in seen:
                continue
            seen.add(nxt)
            if len(seen) > limit_states:
                raise SearchTooLarge(len(seen))
            queue.append((nxt, text + ch))


class SearchTooLarge(Exception):
    """The product automaton is too large to walk; ask the solver instead."""

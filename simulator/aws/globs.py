"""Exact search over Boolean combinations of simple regular languages: globs and ARN formats.

Both are sequences of tokens: a literal character, any one character, any string (``*``), one
or more characters from a set (an ARN placeholder), or any string without the characters of a
set (the colon-free service, region and account fields of an ARN). :func:`search` walks the product of their
automata breadth first and yields strings that every *positive* automaton accepts and no
*negative* one does, shortest first. When the walk ends without one, that set is empty — a
proof, not a guess. Used to find and rule out resources in a cell (inside some Resource
elements, outside the others) and of a given ARN format; the z3 encoding stays the authority
for everything else.

Each token sequence becomes a deterministic automaton built lazily by subset construction; its
states and transitions are kept (per token sequence, shared by every search), so the many
searches of one question, and of a batch, walk mostly cached edges.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

LITERAL, ANY, STAR, SOME, ONE, STAR_BUT = "lit", "any", "star", "some", "one", "star_but"


@dataclass(frozen=True)
class Token:
    kind: str
    #: The character (LITERAL) or the set (SOME: one or more of it, ONE: one of it, STAR_BUT: any
    #: number of characters not in it).
    chars: frozenset[str] = frozenset()


Tokens = tuple[Token, ...]


def literal(text: str) -> list[Token]:
    return [Token(LITERAL, frozenset(ch)) for ch in text]


#: Every automaton's dead state (accepts nothing): the first state interned.
DEAD = 0

Union = tuple[Tokens, ...]  # a language: strings any of its token sequences matches


class Automaton:
    """The deterministic automaton of a union of token sequences, built as it is walked.

    A state is an integer naming a set of positions ``(alternative, i)``: ``i`` "before token
    i" (the sequence's length is its end), ``-(i+1)`` "inside a SOME token i, may stop or read
    more". States are numbered as they are found; :attr:`dead` accepts nothing.
    """

    def __init__(self, alternatives: Union) -> None:
        self.alternatives = alternatives
        self.ends = [len(tokens) for tokens in alternatives]
        infos = [_suffixes(tokens) for tokens in alternatives]
        self._universal_from = [info[0] for info in infos]
        self._required = [info[1] for info in infos]
        self._possible = [info[2] for info in infos]
        self._shortest = [info[3] for info in infos]
        self.sets: list[frozenset[tuple[int, int]]] = []
        self._ids: dict[frozenset[tuple[int, int]], int] = {}
        self.accepting: list[bool] = []
        self.universal: list[bool] = []
        self.required: list[frozenset[str]] = []  # read by every accepted continuation
        self.possible: list[frozenset[str] | None] = []  # read by some continuation (None: any)
        self.shortest: list[int] = []  # no accepted continuation is shorter (a lower bound)
        self._next: list[dict[str, int]] = []
        self._rows: dict[tuple[str, ...], list[tuple[int, ...] | None]] = {}
        self.dead = self._intern(frozenset())
        assert self.dead == DEAD
        self.start = self._intern(self._closure({(a, 0) for a in range(len(alternatives))}))
        self.char_sets = frozenset().union(*(_char_sets(tokens) for tokens in alternatives))

    def _intern(self, positions: frozenset[tuple[int, int]]) -> int:
        state = self._ids.get(positions)
        if state is None:
            state = len(self.sets)
            self._ids[positions] = state
            self.sets.append(positions)
            self.accepting.append(any(p == self.ends[a] for a, p in positions))
            self.universal.append(any(self._is_universal(a, p) for a, p in positions))
            self._next.append({})
            required = [self._required[a][-p if p < 0 else p] for a, p in positions]
            self.required.append(frozenset.intersection(*required) if required else frozenset())
            possible = [self._possible[a][-p - 1 if p < 0 else p] for a, p in positions]
            self.possible.append(None if None in possible else frozenset().union(*possible))  # type: ignore[arg-type]
            # inside a SOME token i (may stop): what follows token i
            self.shortest.append(min((self._shortest[a][-p if p < 0 else p] for a, p in positions), default=0))
        return state

    def _is_universal(self, alternative: int, position: int) -> bool:
        first = self._universal_from[alternative]
        return first is not None and position >= first

    def _closure(self, positions: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        """Positions reachable without reading: a STAR or STAR_BUT may match nothing, a SOME may stop."""
        out = set(positions)
        stack = list(positions)
        while stack:
            a, position = stack.pop()
            tokens = self.alternatives[a]
            if position < 0 or (position < len(tokens) and tokens[position].kind in (STAR, STAR_BUT)):
                nxt = (a, (-position - 1 if position < 0 else position) + 1)
                if nxt not in out:
                    out.add(nxt)
                    stack.append(nxt)
        return frozenset(out)

    def step(self, state: int, ch: str) -> int:
        known = self._next[state].get(ch)
        if known is not None:
            return known
        nxt: set[tuple[int, int]] = set()
        for a, position in self.sets[state]:
            tokens = self.alternatives[a]
            index = -position - 1 if position < 0 else position
            if index >= len(tokens):
                continue
            token = tokens[index]
            if token.kind == ANY or (token.kind in (LITERAL, ONE) and ch in token.chars):
                nxt.add((a, index + 1))
            elif token.kind == STAR:
                nxt.add((a, index))
            elif token.kind == SOME and ch in token.chars:
                nxt.add((a, -index - 1))
            elif token.kind == STAR_BUT and ch not in token.chars:
                nxt.add((a, index))
        result = self._intern(self._closure(nxt))
        self._next[state][ch] = result
        return result

    def rows(self, letters: tuple[str, ...]) -> list[tuple[int, ...] | None]:
        """Kept transition rows over ``letters`` (one per state, filled by :meth:`row`)."""
        found = self._rows.get(letters)
        if found is None:
            found = self._rows[letters] = []
        return found

    def row(self, rows: list[tuple[int, ...] | None], letters: tuple[str, ...], state: int) -> tuple[int, ...]:
        """The states after each of ``letters`` from ``state`` (``rows``: :meth:`rows` of them)."""
        if state >= len(rows):
            rows.extend([None] * (state + 1 - len(rows)))
        found = rows[state]
        if found is None:
            found = rows[state] = tuple(self.step(state, ch) for ch in letters)
        return found


@lru_cache(maxsize=16384)
def _suffixes(
    tokens: Tokens,
) -> tuple[int | None, tuple[frozenset[str], ...], tuple[frozenset[str] | None, ...], tuple[int, ...]]:
    """For one token sequence: the position from which only STARs remain (None: it ends in a
    non-STAR), and per position the characters every accepted rest reads (its literals), those
    some rest may read (None: any), and how many characters every rest reads at least (one per
    token that is not a STAR or STAR_BUT)."""
    first = len(tokens)
    while first > 0 and tokens[first - 1].kind == STAR:
        first -= 1
    required: list[frozenset[str]] = [frozenset()]
    possible: list[frozenset[str] | None] = [frozenset()]
    shortest = [0]
    for token in reversed(tokens):
        later = possible[-1]
        required.append(required[-1] | token.chars if token.kind == LITERAL else required[-1])
        possible.append(None if later is None or token.kind in (ANY, STAR, STAR_BUT) else token.chars | later)
        shortest.append(shortest[-1] + (token.kind not in (STAR, STAR_BUT)))
    return (
        (first if first < len(tokens) else None),
        tuple(required[::-1]),
        tuple(possible[::-1]),
        tuple(shortest[::-1]),
    )


@lru_cache(maxsize=16384)
def _char_sets(tokens: Tokens) -> frozenset[frozenset[str]]:
    """The character sets the tokens test (characters in none of them behave alike)."""
    return frozenset(t.chars for t in tokens if t.kind != ANY and t.kind != STAR)


@lru_cache(maxsize=4096)
def automaton(alternatives: Union) -> Automaton:
    return Automaton(alternatives)


def search(
    positive: Sequence[Union | Automaton],
    universe: frozenset[str],
    negative: Sequence[Union | Automaton] = (),
    limit_states: int = 4_000,
) -> Iterator[str]:
    """Strings over ``universe`` in every ``positive`` language and in no ``negative`` one,
    shortest first. Ends when that set is exhausted (so it was empty if nothing was yielded);
    raises :class:`SearchTooLarge` past ``limit_states`` product states.

    The walk is A*: a state is taken by its text's length plus the fewest characters every
    positive automaton must still read (a lower bound that never drops by more than one a
    step), so it heads for accepted strings instead of widening through every shorter text,
    and accepted texts still come shortest first (ties in the order of their characters)."""
    yes = [u if isinstance(u, Automaton) else automaton(u) for u in positive]
    no = [u if isinstance(u, Automaton) else automaton(u) for u in negative]
    # Characters every token treats alike are interchangeable: one of each kind is enough.
    sets = sorted({chars for a in (*yes, *no) for chars in a.char_sets}, key=sorted)
    kinds: dict[tuple[bool, ...], str] = {}
    for ch in sorted(universe):
        kinds.setdefault(tuple(ch in chars for chars in sets), ch)
    letters = tuple(sorted(kinds.values()))
    yes_rows = [a.rows(letters) for a in yes]
    no_rows = [a.rows(letters) for a in no]
    start = (tuple(a.start for a in yes), tuple(a.start for a in no))
    if _hopeless(yes, no, start):
        return
    seen = {start}
    done: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    queue: list[tuple[int, str, tuple[tuple[int, ...], tuple[int, ...]]]] = [(_estimate(yes, start[0]), "", start)]
    while queue:
        _, text, states = heapq.heappop(queue)
        if states in done:
            continue  # reached before by a text as short, or shorter
        done.add(states)
        ys, ns = states
        if all(a.accepting[s] for a, s in zip(yes, ys, strict=True)) and not any(
            a.accepting[s] for a, s in zip(no, ns, strict=True)
        ):
            yield text
        longer = len(text) + 1
        after_yes = _after(yes, yes_rows, letters, ys)
        after_no = _after(no, no_rows, letters, ns)
        for ch, y_next, n_next in zip(letters, after_yes, after_no, strict=False):  # no automata: repeat(())
            nxt = (y_next, n_next)
            if nxt in done:
                continue
            if nxt not in seen:
                if _hopeless(yes, no, nxt):
                    continue
                seen.add(nxt)
                if len(seen) > limit_states:
                    raise SearchTooLarge(len(seen))
            heapq.heappush(queue, (longer + _estimate(yes, nxt[0]), text + ch, nxt))


def _after(
    automata: list[Automaton],
    rows: list[list[tuple[int, ...] | None]],
    letters: tuple[str, ...],
    states: tuple[int, ...],
) -> Iterator[tuple[int, ...]]:
    """Per letter, the automata's states after it."""
    if not automata:
        return itertools.repeat(())
    return zip(*(a.row(r, letters, s) for a, r, s in zip(automata, rows, states, strict=True)), strict=True)


def _estimate(yes: list[Automaton], states: tuple[int, ...]) -> int:
    """Characters some positive automaton must still read, at least."""
    return max((a.shortest[s] for a, s in zip(yes, states, strict=True)), default=0)


def _hopeless(yes: list[Automaton], no: list[Automaton], states: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
    """No continuation can be accepted: a positive automaton is dead, one must still read a
    character another can never read again, or a negative one accepts everything from here."""
    ys, ns = states
    if DEAD in ys:
        return True
    for a, s in zip(no, ns, strict=True):
        if a.universal[s]:
            return True
    needed = [r for r in (a.required[s] for a, s in zip(yes, ys, strict=True)) if r]
    if not needed:
        return False
    required = needed[0].union(*needed[1:]) if len(needed) > 1 else needed[0]
    for a, s in zip(yes, ys, strict=True):
        possible = a.possible[s]
        if possible is not None and not required <= possible:
            return True
    return False


class SearchTooLarge(Exception):
    """The product automaton is too large to walk; ask the solver instead."""

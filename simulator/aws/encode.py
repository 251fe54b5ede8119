"""The z3 encoding of AWS policy statements over a symbolic request: a facade over its stages.

The encoding lives in modules named for what they hold (the overview is
:mod:`simulator.aws.question`'s docstring):

- :mod:`simulator.core.z3text`: cloud-neutral z3 text helpers (exact string constants, the text of
  a constant, the printable characters, character classes).
- :mod:`simulator.aws.action_classes`: the catalog's actions grouped by the question's patterns.
- :mod:`simulator.aws.context_keys`: how policies use context keys, and a key's value slots.
- :mod:`simulator.aws.z3_session`: one z3 context and what the questions in it share.
- :mod:`simulator.aws.resource_patterns`: quick, sound tests over resource glob patterns.
- :mod:`simulator.aws.arn_formats`: ARN formats and patterns as tokens, automata and regexes.
- :mod:`simulator.aws.resource_cells`: the resource space cut by the question's elements.
- :mod:`simulator.aws.principals`: Principal matching and the representatives of a free principal.
- :mod:`simulator.aws.question`: the question's variables, algebra and element encodings.
- :mod:`simulator.aws.statement_matcher`: statements and conditions as z3 terms.
- :mod:`simulator.aws.witness_decoding`: a model read back as a witness request.

This module re-exports the names its callers imported from it before the split; new code imports
from the modules above.
"""

from simulator.aws.action_classes import action_classes, action_matches
from simulator.aws.arn_formats import ARN_SHAPE, ARN_TOKENS, format_tokens
from simulator.aws.arn_formats import format_matches as _format_matches
from simulator.aws.context_keys import key_usage
from simulator.aws.question import DeadlineExceeded, Question
from simulator.aws.resource_patterns import contains as _contains
from simulator.aws.statement_matcher import Z3Matcher
from simulator.aws.witness_decoding import decode_action, decode_context, variable_value
from simulator.aws.z3_session import Z3Session
from simulator.core.z3text import is_printable, string_value, zstr

__all__ = [
    "ARN_SHAPE",
    "ARN_TOKENS",
    "DeadlineExceeded",
    "Question",
    "Z3Matcher",
    "Z3Session",
    "_contains",
    "_format_matches",
    "action_classes",
    "action_matches",
    "decode_action",
    "decode_context",
    "format_tokens",
    "is_printable",
    "key_usage",
    "string_value",
    "variable_value",
    "zstr",
]

"""The cloud-neutral core of the simulator: the question, the answer, the proof ladder, the gap
rule, and the engine protocol every cloud implements.

Consumers (the CLI, the mint graph, findings, drift, the TUI) import these types and nothing from
a cloud package; each cloud package implements :class:`Engine` on top of them. Nothing here holds
state between calls.
"""

from simulator.core.answer import Answer, Considered
from simulator.core.ask import Ask, ExternalToken, Method, PrincipalRef, Witness, flat_context
from simulator.core.decision import Decision, Reason, ReasonKind
from simulator.core.edge import Admin, Edge, EdgeStatus, Fact, edge_from
from simulator.core.engine import Engine, EngineFactory, Estate, QueryError, context_tuples
from simulator.core.gaps import Gap, weigh
from simulator.core.prove import Bounds, Check, Checker, Proof, Rung, checker, prove
from simulator.core.route import UnknownCloud, cloud_of

__all__ = [
    "Admin",
    "Answer",
    "Ask",
    "Bounds",
    "Check",
    "Checker",
    "Considered",
    "Decision",
    "Edge",
    "EdgeStatus",
    "Engine",
    "EngineFactory",
    "Estate",
    "ExternalToken",
    "Fact",
    "Gap",
    "Method",
    "PrincipalRef",
    "Proof",
    "QueryError",
    "Reason",
    "ReasonKind",
    "Rung",
    "UnknownCloud",
    "Witness",
    "checker",
    "cloud_of",
    "context_tuples",
    "edge_from",
    "flat_context",
    "prove",
    "weigh",
]

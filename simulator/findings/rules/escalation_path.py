"""``escalation-path``: chains from a non-admin identity or workload to admin-equivalence.

The chains are the mint graph's (:meth:`MintGraph.paths_to_admin`): for every start that is not
admin-equivalent itself, its best chain to an admin end — proven before unknown, then the
shortest. One finding per start, with that chain as ``Finding.chain`` and the further admin ends
the start reaches (each by its own shortest chain) as notes. A chain with an undecided edge is
a finding with ``unknown=True``, worded "may reach", never dropped.

Severity: a start outside every cloud (:func:`simulator.graph.walk.is_outsider`: a federated
token pattern ``ISSUER|SUBJECT``, another AWS account's root, anyone ``*``) is
``escalation-path/outsider-to-admin``, critical: someone the organization does not manage can
become admin. The tokens of the organization's own SAML identity providers (an AWS SAML provider
of the snapshot) are insiders: its directory decides who gets them; when such a token's chain is
one federation step straight into an admin-equivalent role (an admin role signed into through the
identity provider, by design in most estates) it is ``escalation-path/directory-to-admin``, info,
listed so the directory's assignment is reviewed. Any other start (a user, a role, a service
account, a managed identity, a workload) is ``escalation-path/to-admin``, high.
Severity belongs to the rule, so an unproven chain keeps its rule's severity and is marked
unknown (reports sort unknown findings after proven ones).

The fingerprint ``key`` is the chain itself: each edge's mechanism and the node it leads to, so
the same chain keeps its id across scans and a different chain from the same start gets another.
"""

from __future__ import annotations

from collections.abc import Iterator

from models import PrincipalKind, Snapshot
from simulator.core import EdgeStatus, ExternalToken
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import Label, edge_evidence, labeller, unique
from simulator.graph import Chain, MintGraph
from simulator.graph.walk import is_outsider

OUTSIDER = RuleMeta(
    id="escalation-path/outsider-to-admin",
    title="An identity outside every cloud can reach admin-equivalence",
    severity=Severity.CRITICAL,
    category=Category.ESCALATION_PATH,
    nhi=(Nhi.NHI3, Nhi.NHI5, Nhi.NHI6),
    rationale=(
        "A token some outside issuer signs (any GitHub repository, another AWS account, anyone) can be turned, "
        "step by step, into the credentials of an admin-equivalent identity: whoever holds such a token owns the "
        "estate."
    ),
    remediation=(
        "Break the chain at its first edge: pin the federation trust to the workflows or accounts that need it "
        "(subject, ExternalId, attribute condition), then remove the permission that makes the next step possible."
    ),
)

INSIDER = RuleMeta(
    id="escalation-path/to-admin",
    title="A non-admin identity or workload can reach admin-equivalence",
    severity=Severity.HIGH,
    category=Category.ESCALATION_PATH,
    nhi=(Nhi.NHI5,),
    rationale=(
        "An identity that is not admin can obtain, through the edges of the chain (assuming roles, passing roles "
        "to code it runs, rewriting policies, adding credentials), the access of an admin-equivalent one: its "
        "real privilege is admin, whatever its own policies say."
    ),
    remediation=(
        "Remove the permission behind the weakest edge of the chain (iam:PassRole on *, policy-writing actions, "
        "impersonation grants, owner rights on privileged applications), or scope it to what the identity needs."
    ),
)

DIRECTORY = RuleMeta(
    id="escalation-path/directory-to-admin",
    title="The organization's own identity provider signs users into an admin-equivalent role",
    severity=Severity.INFO,
    category=Category.ESCALATION_PATH,
    nhi=(Nhi.NHI4,),
    rationale=(
        "A SAML trust of the organization's own identity provider leads straight to an admin-equivalent role: "
        "whoever the directory assigns to that application is admin. By design in most estates, it is listed so "
        "that the assignment is reviewed in the directory."
    ),
    remediation=(
        "Keep the directory's assignment of the admin application to a small, reviewed group, with MFA and "
        "session limits enforced by the identity provider."
    ),
)

#: At most this many further admin ends are named in a finding's notes.
MORE_ENDS = 5
#: The other admin ends are walked for this many starts of each rule, most dangerous first (a walk
#: per start; a large estate has thousands of starts): past it, the notes say they were not listed.
ENDS_FOR_STARTS = 200


def rule_of(snapshot: Snapshot, chain: Chain) -> RuleMeta:
    """The rule a chain falls under (module docstring)."""
    token = ExternalToken.parse(chain.source)
    if token is not None and token.issuer in saml_providers(snapshot):
        return DIRECTORY if len(chain.edges) == 1 else INSIDER
    return OUTSIDER if is_outsider(chain.source) else INSIDER


def saml_providers(snapshot: Snapshot) -> frozenset[str]:
    return frozenset(p.id for p in snapshot.principals if p.kind is PrincipalKind.AWS_SAML_PROVIDER)


def check_outsiders(context: Context) -> Iterator[Finding]:
    """One finding per start outside every cloud with a chain to admin."""
    return findings(context, OUTSIDER)


def check_insiders(context: Context) -> Iterator[Finding]:
    """One finding per identity or workload inside the clouds with a chain to admin."""
    return findings(context, INSIDER)


def check_directory(context: Context) -> Iterator[Finding]:
    """One finding per SAML identity provider of the organization that signs users straight into
    an admin-equivalent role."""
    return findings(context, DIRECTORY)


def findings(context: Context, meta: RuleMeta) -> Iterator[Finding]:
    """One finding per start of a chain to admin that falls under ``meta``, most dangerous first
    (the graph's order)."""
    graph = context.graph
    label = labeller(context.snapshot)
    chains = [c for c in graph.paths_to_admin() if rule_of(context.snapshot, c) is meta]
    for index, chain in enumerate(chains):
        yield finding(context, graph, chain, label, more_ends=index < ENDS_FOR_STARTS)


def finding(context: Context, graph: MintGraph, chain: Chain, label: Label, *, more_ends: bool = True) -> Finding:
    """The finding of one start's best chain to admin; ``more_ends``: name the other admin ends
    it reaches in the notes."""
    meta = rule_of(context.snapshot, chain)
    unknown = chain.status is not EdgeStatus.PROVEN
    evidence = [e for edge in chain.edges for e in edge_evidence(context.snapshot, edge, label)]
    admin = graph.admins.get(chain.target)
    if admin is not None:
        evidence.append(Evidence(what=f"{label(admin.id)} is admin-equivalent: {admin.why}", source=admin.scope))
    clouds = {edge.cloud for edge in chain.edges}
    if more_ends:
        notes = [f"also reaches {end}" for end in other_ends(graph, chain, label)]
    else:
        notes = [f"other admin ends are listed for the first {ENDS_FOR_STARTS} starts only"]
    if unknown:
        notes.extend(
            f"not proven: {label(edge.source)} -> {label(edge.target)} by {edge.mechanism}: "
            + "; ".join(r.detail or r.kind.value for r in edge.reasons)
            for edge in chain.edges
            if edge.status is not EdgeStatus.PROVEN
        )
    return Finding(
        rule=meta,
        subject=chain.source,
        principal=chain.source,
        cloud=clouds.pop() if len(clouds) == 1 else None,
        sentence=sentence(graph, chain, label),
        evidence=unique(evidence),
        chain=chain,
        key=tuple(f"{edge.mechanism}>{edge.target}" for edge in chain.edges),
        unknown=unknown,
        notes=tuple(notes),
    )


def admin_end(graph: MintGraph, chain: Chain, label: Label) -> str:
    """The admin end in words: ``admin-equivalent X of SCOPE``, or, for a chain that ends
    by rewriting its target's permissions, what it rewrites."""
    admin = graph.admins.get(chain.target)
    if admin is not None:
        return f"admin-equivalent {label(chain.target)} of {label(admin.scope)}"
    if chain.target == chain.source:
        return "admin-equivalence by rewriting its own permissions"
    return f"admin-equivalence by rewriting the permissions of {label(chain.target)}"


def sentence(graph: MintGraph, chain: Chain, label: Label) -> str:
    """One sentence: the start, the admin end, the number of steps and the mechanisms."""
    steps = len(chain.edges)
    verb = "can reach" if chain.status is EdgeStatus.PROVEN else "may reach"
    mechanisms = " -> ".join(edge.mechanism for edge in chain.edges)
    text = (
        f"{label(chain.source)} {verb} {admin_end(graph, chain, label)} in {steps} step{'s' if steps != 1 else ''} "
        f"({mechanisms})"
    )
    if chain.status is not EdgeStatus.PROVEN:
        undecided = sum(1 for edge in chain.edges if edge.status is not EdgeStatus.PROVEN)
        text += f"; {undecided} of the steps not proven"
    return text + "."


def other_ends(graph: MintGraph, chain: Chain, label: Label) -> list[str]:
    """The other admin ends the start reaches, each with its own shortest chain's length."""
    out = []
    for other in graph.reach(chain.source):
        if other.target == chain.target or not graph.is_admin_end(other):
            continue
        if other.target == chain.source and not other.escalates:
            continue
        status = "" if other.status is EdgeStatus.PROVEN else ", not proven"
        steps = len(other.edges)
        text = f"{admin_end(graph, other, label)} in {steps} step{'s' if steps != 1 else ''}{status}"
        if text not in out:
            out.append(text)
        if len(out) >= MORE_ENDS:
            break
    return out


RULES = ((OUTSIDER, check_outsiders), (INSIDER, check_insiders), (DIRECTORY, check_directory))

"""``risky-trust`` of federation trusts in Azure and Google Cloud, and of bridges between clouds.

- ``risky-trust/broad-federated-credential``: an Azure federated identity credential that is
  flexible (``claimsMatchingExpression``), has a wildcard subject, does not test the subject, or
  trusts pull requests. Read from the snapshot's federated credentials; the witness is the mint
  graph's edge from the token into the application or identity, when the graph has one.
- ``risky-trust/wif-no-attribute-condition``: a Google Cloud workload identity pool provider
  without an ``attributeCondition``: every identity the issuer (or AWS account) vouches for enters
  the pool (Google Cloud recommends an attribute condition for every provider). Read from the
  snapshot's provider resources; the witness is what the pool may then do (its edges out).
- ``risky-trust/cross-cloud-federation``: a federation trust of one cloud that admits a token (or
  an account) an identity of another cloud can mint — an AWS role trusting Google ID tokens of a
  service account, a Google Cloud pool trusting an AWS account: a compromise of the other cloud
  carries over. Its chain starts at the outermost outsider that reaches the trusting identity
  through that trust (a GitHub workflow, anyone), when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from models import Cloud, Covers, CredentialKind
from simulator.core import Edge, EdgeStatus
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity
from simulator.findings.rules._graph_helpers import edge_evidence, gap_findings, labeller, outsider_edges, unique
from simulator.graph import Chain, MintGraph
from simulator.graph.walk import is_outsider

BROAD_FEDERATED = RuleMeta(
    id="risky-trust/broad-federated-credential",
    title="An Azure federated identity credential trusts a broad set of subjects",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3, Nhi.NHI6),
    rationale=(
        "A flexible federated credential (claimsMatchingExpression) or a wildcard subject admits every token the "
        "expression matches — for GitHub Actions, every branch, tag, pull request and environment of the repository."
    ),
    remediation=(
        "Use one federated credential per deploying subject, with an exact subject "
        "(repo:OWNER/REPO:environment:prod), and protect that environment."
    ),
    clouds=(Cloud.AZURE,),
)

WIF_NO_CONDITION = RuleMeta(
    id="risky-trust/wif-no-attribute-condition",
    title="A workload identity pool provider has no attribute condition",
    severity=Severity.HIGH,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI3, Nhi.NHI6),
    rationale=(
        "Without an attribute condition, every identity the external issuer (or AWS account) vouches for is "
        "admitted to the pool and gets whatever the pool's principal sets are granted."
    ),
    remediation=(
        "Set an attributeCondition on the provider that admits only the expected identities "
        "(assertion.repository == 'OWNER/REPO', assertion.arn.startsWith('arn:aws:sts::N:assumed-role/ROLE/'))."
    ),
    clouds=(Cloud.GCP,),
)

PROVIDER_KIND = "iam:workloadIdentityPoolProvider"


# --- Azure broad federated credentials -----------------------------------------------------


def broad(subjects: tuple[str, ...] | None, condition: str | None) -> str | None:
    """Why an Azure federated credential is broad, or None when it names exact subjects."""
    if condition:
        return f"it is a flexible credential ({condition})"
    if subjects is None or not subjects:
        return "it does not test the subject"
    for subject in subjects:
        if "*" in subject or "?" in subject:
            return f"its subject {subject} has a wildcard"
        if subject.endswith(":pull_request"):
            return f"its subject {subject} is any pull request's"
    return None


def edges_of_credential(edges: Iterable[Edge], credential_id: str) -> list[Edge]:
    """The federated-credential edges whose facts name ``credential_id``."""
    return [e for e in edges if any(f.source.endswith(f"credential {credential_id}") for f in e.facts)]


def check_broad_federated(context: Context) -> Iterator[Finding]:
    """Azure federated identity credentials that are flexible or have wildcard subjects."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    azure = {p.id for p in snapshot.principals if p.cloud is Cloud.AZURE}
    outsiders = outsider_edges(context.graph.edges)
    for credential in snapshot.credentials:
        if credential.kind is not CredentialKind.FEDERATED or credential.principal_id not in azure:
            continue
        if not credential.active:
            continue
        why = broad(credential.subjects, credential.condition)
        if why is None:
            continue
        edges = edges_of_credential(outsiders, credential.id)
        owner = label(credential.principal_id)
        document: dict[str, Any] = {"issuer": credential.issuer, "subjects": list(credential.subjects or ())}
        if credential.audiences:
            document["audiences"] = list(credential.audiences)
        if credential.condition:
            document["claimsMatchingExpression"] = credential.condition
        evidence = [Evidence(what=f"federated credential of {owner}: {why}", source=credential.id, document=document)]
        for edge in edges:
            evidence.extend(edge_evidence(snapshot, edge, label))
        who = f"tokens of {credential.issuer}"
        if edges:
            who = " and ".join(label(e.source) for e in edges)
            gets = f"{who} gets a token as {label(edges[0].target)}"
        else:
            gets = f"the mint graph holds no edge for it ({who})"
        yield Finding(
            rule=BROAD_FEDERATED,
            subject=credential.id,
            principal=credential.principal_id,
            cloud=Cloud.AZURE,
            sentence=f"The federated credential of {owner} trusts a broad set of subjects, {why}: {gets}.",
            evidence=unique(evidence),
            answers=tuple(a for e in edges for a in e.answers),
            key=(credential.issuer or "", *(credential.subjects or ()), credential.condition or ""),
            unknown=any(e.status is not EdgeStatus.PROVEN for e in edges),
            notes=() if edges else ("no mint-graph edge proves this credential in use",),
        )
    yield from gap_findings(
        snapshot, BROAD_FEDERATED, (Covers.CREDENTIALS,), "the federated credentials", (Cloud.AZURE,)
    )


# --- Google Cloud providers without an attribute condition --------------------------------


def check_wif(context: Context) -> Iterator[Finding]:
    """Active workload identity pool providers without an attribute condition, with the edges
    that admit outsiders through them and what the pool may then impersonate."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    graph = context.graph
    for provider in snapshot.resources:
        if provider.cloud is not Cloud.GCP or provider.kind != PROVIDER_KIND:
            continue
        attrs = provider.attributes
        if attrs.get("attributeCondition", "").strip():
            continue
        if attrs.get("disabled") == "true" or attrs.get("state", "ACTIVE") not in ("", "ACTIVE"):
            continue
        entering = [e for e in graph.edges if any(f.source.endswith(f"provider {provider.id}") for f in e.facts)]
        pools = dict.fromkeys(e.target for e in entering)
        onward = [e for pool in pools for e in graph.out_edges(pool)]
        if attrs.get("protocol") == "aws":
            who = f"any identity of AWS account {attrs.get('awsAccountId', '?')}"
        else:
            who = "any token its issuer signs"
        evidence = [
            Evidence(
                what=f"provider {provider.name} has no attribute condition",
                source=provider.id,
                document={
                    k: v
                    for k, v in attrs.items()
                    if k in ("attributeCondition", "attributeMapping", "protocol", "awsAccountId")
                },
            )
        ]
        for edge in [*entering, *onward]:
            evidence.extend(edge_evidence(snapshot, edge, label))
        grants = sorted({label(e.target) for e in onward})
        then = f", and the pool may act as {', '.join(grants)}" if grants else ""
        pool = provider.id.split("/providers/", 1)[0].rsplit("/", 1)[-1]
        yield Finding(
            rule=WIF_NO_CONDITION,
            subject=provider.id,
            principal=next(iter(pools), provider.id),
            cloud=Cloud.GCP,
            sentence=(
                f"Workload identity provider {provider.name} of pool {pool} has no attribute condition: {who} "
                f"enters the pool{then}."
            ),
            evidence=unique(evidence),
            answers=tuple(a for e in onward for a in e.answers),
            witness=next((a.witness for e in onward for a in e.answers if a.witness is not None), None),
            key=(attrs.get("protocol", ""), attrs.get("awsAccountId", "")),
            unknown=any(e.status is not EdgeStatus.PROVEN for e in [*entering, *onward]),
        )
    yield from gap_findings(
        snapshot, WIF_NO_CONDITION, (Covers.PRINCIPALS,), "the workload identity providers", (Cloud.GCP,)
    )


CROSS_CLOUD = RuleMeta(
    id="risky-trust/cross-cloud-federation",
    title="A federation trust lets another cloud's identity in",
    severity=Severity.MEDIUM,
    category=Category.RISKY_TRUST,
    nhi=(Nhi.NHI8,),
    rationale=(
        "A trust that admits tokens another cloud's identity can mint (a Google ID token of a service account, an "
        "AWS account's callers) joins the two clouds' blast radii: whoever gets that identity, by any chain in its "
        "own cloud, gets in here too."
    ),
    remediation=(
        "Keep such bridges few and narrow: pin the trust to the one identity meant to cross (its unique id, a "
        "role's ARN in an attribute condition), and guard who may act as that identity in its own cloud."
    ),
)


def check_cross_cloud(context: Context) -> Iterator[Finding]:
    """Trusts of one cloud that admit what another cloud's identity can mint."""
    snapshot = context.snapshot
    label = labeller(snapshot)
    graph = context.graph
    for edge in outsider_edges(context.graph.edges):
        # The edges into the trusted token or account, the joins between clouds included.
        minters = [c.edges[0] for c in graph.reaching(edge.source, max_depth=1) if c.edges[0].cloud is not edge.cloud]
        if not minters:
            continue
        chain = outermost_chain(graph, edge)
        minter = minters[0]
        others = f" and {len(minters) - 1} more" if len(minters) > 1 else ""
        via = f"{label(minter.source)} ({minter.cloud.value}){others} can obtain it by {minter.mechanism}"
        if chain is not None and chain.source != edge.source:
            mechanisms = " -> ".join(e.mechanism for e in chain.edges)
            via += f"; {label(chain.source)} reaches {label(edge.target)} in {len(chain.edges)} steps ({mechanisms})"
        evidence = [*edge_evidence(snapshot, edge, label), *edge_evidence(snapshot, minter, label)]
        yield Finding(
            rule=CROSS_CLOUD,
            subject=edge.target,
            principal=edge.target,
            cloud=None,
            sentence=(
                f"{label(edge.target)} ({edge.cloud.value}) trusts {label(edge.source)}, which another cloud's "
                f"identity can mint: {via}."
            ),
            evidence=unique(evidence),
            answers=edge.answers,
            chain=chain,
            key=(edge.source, edge.mechanism),
            unknown=edge.status is not EdgeStatus.PROVEN or minter.status is not EdgeStatus.PROVEN,
        )


def outermost_chain(graph: MintGraph, edge: Edge) -> Chain | None:
    """The best chain through ``edge`` to its target from an outsider nothing leads to (a token
    pattern, anyone): proven first, then the shortest; else the shortest chain through it."""
    through = [c for c in graph.reaching(edge.target) if any(e is edge for e in c.edges)]
    outer = [c for c in through if is_outsider(c.source) and not graph.reaching(c.source, max_depth=1)]
    ranked = sorted(outer or through, key=lambda c: (c.status is not EdgeStatus.PROVEN, len(c.edges)))
    return ranked[0] if ranked else None


RULES = (
    (BROAD_FEDERATED, check_broad_federated),
    (WIF_NO_CONDITION, check_wif),
    (CROSS_CLOUD, check_cross_cloud),
)

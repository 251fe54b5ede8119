"""escalation-path rules over the demo estate (fixtures/demo/*/README.md, planted problems)."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime

from models import Snapshot
from scanner.files import scan_files
from simulator.core import Decision, Edge, Reason, ReasonKind
from simulator.engines import open_estate
from simulator.findings import Context, Finding, load_rules, run_rules
from simulator.findings.rules import escalation_path
from simulator.graph import MintGraph
from simulator.graph.build import build

AT = datetime(2025, 6, 2, 12, tzinfo=UTC)
DEMO = ["fixtures/demo/aws", "fixtures/demo/gcp", "fixtures/demo/azure"]
GITHUB_ANY = "https://token.actions.githubusercontent.com|repo:*"
PROD = "arn:aws:iam::222222222222"


@functools.cache
def demo() -> tuple[Snapshot, MintGraph]:
    snapshot = scan_files(DEMO)
    return snapshot, build(open_estate(snapshot, at=AT))


def context(graph: MintGraph | None = None) -> Context:
    snapshot, demo_graph = demo()
    chosen = graph or demo_graph
    return Context(open_estate(snapshot, at=AT), lambda: chosen)


def findings(graph: MintGraph | None = None) -> dict[str, Finding]:
    """The escalation findings, by subject (one per start)."""
    outcome = run_rules(context(graph), load_rules(["escalation_path"]))
    assert outcome.failures == ()
    by_subject: dict[str, Finding] = {}
    for finding in outcome.findings:
        assert finding.subject not in by_subject, "one finding per start"
        by_subject[finding.subject] = finding
    return by_subject


def test_any_github_repository_reaches_admin_in_prod_through_lambda_deployer() -> None:
    # AWS #1 + #4/#5: any GitHub repo -> github-ci-any-repo -> lambda-deployer -> admin-lambda-exec.
    found = findings()[GITHUB_ANY]
    assert found.rule.id == "escalation-path/outsider-to-admin"
    assert found.severity.value == "critical"
    assert not found.unknown
    assert found.chain is not None
    assert [e.target for e in found.chain.edges] == [
        f"{PROD}:role/github-ci-any-repo",
        f"{PROD}:role/lambda-deployer",
        f"{PROD}:role/admin-lambda-exec",
    ]
    assert "can reach admin-equivalent admin-lambda-exec" in found.sentence
    assert "in 3 steps" in found.sentence
    assert "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction" in found.sentence
    # Evidence: each edge's mechanism with its witness, and the deciding statements.
    assert any("sts:AssumeRoleWithWebIdentity" in e.what for e in found.evidence)
    assert any(e.source and "github-ci-any-repo#trust" in e.source and e.document for e in found.evidence)
    assert any("admin-lambda-exec is admin-equivalent" in e.what for e in found.evidence)
    witness = found.shown_witness
    assert witness is not None and witness.action == "sts:AssumeRoleWithWebIdentity"
    assert found.key == tuple(f"{e.mechanism}>{e.target}" for e in found.chain.edges)


def test_every_planted_insider_chain_is_found_with_its_shortest_chain() -> None:
    found = findings()
    expected = {
        # AWS #4: lambda-deployer can pass admin-lambda-exec to code it runs.
        f"{PROD}:role/lambda-deployer": ("admin-lambda-exec", 1),
        f"{PROD}:user/dave.dev": ("admin-lambda-exec", 2),
        # AWS #5: Lambda nightly-cleanup runs as admin-lambda-exec.
        "arn:aws:lambda:us-east-1:222222222222:function:nightly-cleanup": ("admin-lambda-exec", 1),
        # AWS #14: svc-terraform in the management account assumes OrganizationAccountAccessRole.
        "arn:aws:iam::111111111111:user/service/svc-terraform": ("OrganizationAccountAccessRole", 1),
        # AWS #18: the CodeBuild project's role has iam:* (dave.dev may start builds of it).
        "arn:aws:codebuild:us-east-1:222222222222:project/deploy-infra": ("dave.dev", 2),
        f"{PROD}:role/codebuild-infra-role": ("dave.dev", 1),
        # AWS #19: the stack runs as cfn-deploy-role (AdministratorAccess).
        "arn:aws:cloudformation:us-east-1:222222222222:stack/network-baseline/16af1a92-935f-4c74-aa3b-02fad919b8fb": (
            "cfn-deploy-role",
            1,
        ),
        # Azure #11 (carol owns sp-terraform), #15 (bob is Cloud Application Administrator),
        # #14 (sp-idm-sync holds RoleManagement.ReadWrite.Directory), #12 (Shop Developers).
        "6448bee1-c25d-425a-a7b3-23f19866ee77": ("sp-terraform", 1),
        "2aad1c83-3cb6-46ab-88ac-51c0c4d4dc0e": ("sp-terraform", 1),
        "e339cd93-1b6a-40ad-9546-fb7eff1894fd": ("its own permissions", 1),
    }
    for start, (end, steps) in expected.items():
        finding = found[start]
        assert finding.rule.id == "escalation-path/to-admin", start
        assert finding.severity.value == "high"
        assert finding.chain is not None and len(finding.chain.edges) == steps, start
        assert end in finding.sentence, (start, finding.sentence)
        assert f"in {steps} step" in finding.sentence


def test_dave_dev_also_reaching_the_codebuild_role_is_said_in_the_notes() -> None:
    # AWS #18 from dave.dev's side: its shortest chain is through lambda-deployer; the others are notes.
    finding = findings()[f"{PROD}:user/dave.dev"]
    assert any("cfn-deploy-role" in note for note in finding.notes)
    assert len(finding.notes) == len(set(finding.notes))


def test_the_organizations_own_saml_provider_is_informational_not_an_outsider() -> None:
    # Deliberately fine: okta-admin is reached through the AcmeOkta SAML provider, by design.
    finding = findings()["arn:aws:iam::111111111111:saml-provider/AcmeOkta|*"]
    assert finding.rule.id == "escalation-path/directory-to-admin"
    assert finding.severity.value == "info"


def test_admins_and_fine_identities_are_not_starts() -> None:
    found = findings()
    snapshot, graph = demo()
    for admin in graph.admins:
        assert admin not in found
    # Deliberately fine: the pinned GitHub roles' own tokens, the boundary-capped developer.
    assert "https://token.actions.githubusercontent.com|repo:acme/payments:ref:refs/heads/main" not in found
    assert "arn:aws:iam::333333333333:user/heidi.dev" not in found
    assert "arn:aws:iam::333333333333:role/dev-sandbox-role" not in found
    # Ids follow the chain, not the run: the same estate gives the same ids.
    assert {f.id for f in found.values()} == {f.id for f in findings().values()}
    assert snapshot.id


def unknown_step(edge: Edge) -> Edge:
    reason = Reason(kind=ReasonKind.UNSUPPORTED, detail="a condition operator the simulator does not decide")
    return dataclasses.replace(edge, answers=tuple(a.unknown([reason]) for a in edge.answers))


def test_an_unproven_chain_is_a_finding_marked_unknown_never_dropped() -> None:
    # A variant of the demo graph where every step out of lambda-deployer is undecided.
    _, graph = demo()
    edges = [unknown_step(e) if e.source == f"{PROD}:role/lambda-deployer" else e for e in graph.edges]
    assert any(a.decision is Decision.UNKNOWN for e in edges for a in e.answers)
    variant = MintGraph(edges, graph.admins.values())
    finding = findings(variant)[f"{PROD}:role/lambda-deployer"]
    assert finding.unknown
    assert finding.rule.id == "escalation-path/to-admin"
    assert "may reach" in finding.sentence and "not proven" in finding.sentence
    assert any("does not decide" in note for note in finding.notes)
    # The same chain keeps its id whether or not it is proven: the status is not in the key.
    assert findings()[f"{PROD}:role/lambda-deployer"].id == finding.id


def test_a_start_without_a_chain_to_admin_gives_no_finding() -> None:
    # Variant: nothing leads out of lambda-deployer (its PassRole and UpdateFunctionCode removed).
    _, graph = demo()
    deployer = f"{PROD}:role/lambda-deployer"
    found = findings(MintGraph([e for e in graph.edges if e.source != deployer], graph.admins.values()))
    assert deployer not in found
    github = found.get(GITHUB_ANY)
    assert github is None or github.chain is None or deployer not in {e.target for e in github.chain.edges}
    # Other starts are untouched.
    assert "arn:aws:iam::111111111111:user/service/svc-terraform" in found


def test_rule_metadata_is_valid_and_one_module_holds_three_rules() -> None:
    ids = [meta.id for meta, _ in escalation_path.RULES]
    assert ids == [
        "escalation-path/outsider-to-admin",
        "escalation-path/to-admin",
        "escalation-path/directory-to-admin",
    ]

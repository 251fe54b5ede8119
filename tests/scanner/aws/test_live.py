"""Live collection against moto: what a scan of a realistic account yields."""

from __future__ import annotations

import json
import re

from models import AttachmentKind, CoverageStatus, CredentialKind, PolicyKind, PrincipalKind
from scanner.files import scan_files
from tests.scanner.aws.conftest import LiveScan
from tests.scanner.aws.seed import ACCOUNT


def by_id(items):  # type: ignore[no-untyped-def]
    return {item.id: item for item in items}


def test_principals_groups_and_roots(live: LiveScan) -> None:
    principals = by_id(live.snapshot.principals)
    arns = live.arns
    assert principals[arns["github-deploy"]].kind is PrincipalKind.AWS_ROLE
    assert principals[arns["alice"]].member_of == (f"arn:aws:iam::{ACCOUNT}:group/developers",)
    assert principals[arns["alice"]].tags == {"team": "core"}
    assert principals[f"arn:aws:iam::{ACCOUNT}:root"].kind is PrincipalKind.AWS_ROOT
    assert principals[arns["oidc"]].kind is PrincipalKind.AWS_OIDC_PROVIDER
    assert any(p.kind is PrincipalKind.AWS_SAML_PROVIDER for p in principals.values())


def test_policies_keep_every_version_and_where_they_apply(live: LiveScan) -> None:
    policies = by_id(live.snapshot.policies)
    app = policies[live.arns["app_policy"]]
    assert app.kind is PolicyKind.CUSTOMER_MANAGED
    assert [v.version_id for v in app.versions] == ["v1", "v2"]
    assert app.document["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]  # the default, v2
    assert policies[f"{live.arns['dev']}#inline:dev-inline"].kind is PolicyKind.INLINE
    trust = policies[f"{live.arns['vendor']}#trust"]
    assert trust.document["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::999988887777:root"}
    attachments = {(a.policy_id, a.target_id, a.kind) for a in live.snapshot.attachments}
    assert (live.arns["boundary"], live.arns["dev"], AttachmentKind.BOUNDARY) in attachments
    # (moto drops user permission boundaries; the demo-estate tests cover them from export files)
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert (readonly, f"arn:aws:iam::{ACCOUNT}:group/developers", AttachmentKind.IDENTITY) in attachments
    assert policies[readonly].kind is PolicyKind.AWS_MANAGED and policies[readonly].scope_id == "aws"


def test_static_credentials_are_metadata_only(live: LiveScan) -> None:
    user = live.arns["legacy-batch"]
    creds = {c.id: c for c in live.snapshot.credentials if c.principal_id == user}
    assert set(creds) == {f"{user}#password", f"{user}#access-key-1", f"{user}#access-key-2"}
    assert creds[f"{user}#access-key-1"].key_id == live.arns["key1"]
    assert creds[f"{user}#access-key-1"].active is True
    assert creds[f"{user}#access-key-2"].key_id == live.arns["key2"]
    assert creds[f"{user}#access-key-2"].active is False
    assert creds[f"{user}#password"].kind is CredentialKind.PASSWORD
    text = json.dumps(live.snapshot.to_json_dict())
    assert "Not-a-real-password-1!" not in text
    assert "SecretAccessKey" not in text and "placeholder" not in text  # no key secrets, no secret values


def test_federated_trust_is_described_per_role(live: LiveScan) -> None:
    federated = {c.principal_id: c for c in live.snapshot.credentials if c.kind is CredentialKind.FEDERATED}
    pinned = federated[live.arns["github-deploy"]]
    assert pinned.issuer == "token.actions.githubusercontent.com"
    assert pinned.subjects == ("repo:acme/app:ref:refs/heads/main",)
    assert pinned.audiences == ("sts.amazonaws.com",)
    assert federated[live.arns["github-any-repo"]].subjects == ("repo:*",)
    assert live.arns["vendor"] not in federated


def test_resource_policies_in_every_service(live: LiveScan) -> None:
    resources = by_id(live.snapshot.resources)
    kinds = {r.kind for r in resources.values()}
    assert kinds == {
        "s3:bucket",
        "kms:key",
        "sqs:queue",
        "sns:topic",
        "secretsmanager:secret",
        "lambda:function",
        "codebuild:project",
    }
    policies = by_id(live.snapshot.policies)
    public = policies["arn:aws:s3:::public-assets#policy"].document
    assert public["Statement"][0]["Principal"] == "*"
    assert "arn:aws:s3:::no-policy" in resources and "arn:aws:s3:::no-policy#policy" not in policies
    kms = policies[f"{live.arns['kms']}#policy"].document
    assert {"AWS": "arn:aws:iam::333333333333:root"} in [s["Principal"] for s in kms["Statement"]]
    fn = policies[f"{live.arns['function']}#policy"].document
    assert fn["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}


def test_one_role_shared_by_several_workloads(live: LiveScan) -> None:
    shared = [w for w in live.snapshot.workloads if live.arns["app"] in w.principal_ids]
    assert sorted(str(w.kind) for w in shared) == ["ec2_instance"] * 3 + ["ecs_task_definition", "lambda_function"]
    ec2 = [w for w in shared if w.kind == "ec2_instance"]
    assert {w.attributes["instance_profile"] for w in ec2} == {live.arns["profile"]}


def test_coverage_records_what_was_read_and_the_one_gap(live: LiveScan) -> None:
    gaps = [(g.service, g.operation, g.status) for g in live.snapshot.gaps]
    assert gaps == [("organizations", "DescribeOrganization", CoverageStatus.NOT_ENABLED)]
    read = {(e.service, e.operation) for e in live.snapshot.coverage if not e.is_gap}
    assert ("iam", "GetAccountAuthorizationDetails") in read
    assert ("kms", "GetKeyPolicy") in read


def test_a_full_scan_only_reads(live: LiveScan) -> None:
    assert live.calls, "the hook saw no calls"
    allowed = re.compile(r"^(List|Get|Describe|BatchGet)[A-Za-z]+$|^GenerateCredentialReport$")
    writes = sorted({f"{svc}:{op}" for svc, op in live.calls if not allowed.match(op)})
    assert writes == []


def test_saved_raw_answers_scan_to_the_same_snapshot(live: LiveScan) -> None:
    names = sorted(p.name for p in live.raw_dir.iterdir())
    assert names == [
        f"{ACCOUNT}-authorization-details.json",
        f"{ACCOUNT}-credential-report.csv",
        f"{ACCOUNT}-extras.json",
    ]
    offline = scan_files([live.raw_dir])
    for collection in ("scopes", "principals", "credentials", "policies", "attachments", "resources", "workloads"):
        assert getattr(offline, collection) == getattr(live.snapshot, collection), collection


def _cli_json(data: object) -> str:
    """What the AWS CLI prints: dates as ISO 8601, bytes as base64."""
    import base64

    def default(value: object) -> object:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        return value.isoformat()  # type: ignore[attr-defined]

    return json.dumps(data, default=default, indent=2)


def test_offline_scan_of_the_cli_exports_matches_the_live_scan(live: LiveScan, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`aws iam get-account-authorization-details` and `aws iam get-credential-report` of the same
    account, read offline, give the live scan's principals, policies and credentials. Not in those
    exports, and so only compared where present: identity providers, resources, access key ids."""
    iam = live.session.client("iam")
    details: dict[str, list] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate():
        for key in details:
            details[key].extend(page[key])
    (tmp_path / "auth.json").write_text(_cli_json(details))
    report = iam.get_credential_report()
    (tmp_path / "report.json").write_text(
        _cli_json({k: report[k] for k in ("Content", "ReportFormat", "GeneratedTime")})
    )
    offline = scan_files([tmp_path / "auth.json", tmp_path / "report.json"])

    providers = {PrincipalKind.AWS_OIDC_PROVIDER, PrincipalKind.AWS_SAML_PROVIDER}
    assert offline.principals == tuple(p for p in live.snapshot.principals if p.kind not in providers)
    assert offline.policies == tuple(p for p in live.snapshot.policies if p.kind is not PolicyKind.RESOURCE)
    from dataclasses import replace

    assert offline.credentials == tuple(replace(c, key_id=None) for c in live.snapshot.credentials)
    assert all(c.key_id is None for c in offline.credentials)

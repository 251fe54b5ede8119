"""``insecure-authentication``: sign-ins that one stolen password (or root key) is enough for.

- ``console-without-mfa``: an AWS IAM user with an active console password and no MFA device
  (the credential report's ``mfa_active`` false): the password alone signs in.
- ``root-without-mfa``: an AWS account's root user without MFA (the report's ``<root_account>``
  row; ``Principal.attributes["mfaActive"]``). An account whose report was not read says nothing
  here: its gap is a coverage entry (and ``stale-credential/credentials-not-read``), not a pass.
- ``root-access-key``: an active access key of a root user — a credential with every permission
  of the account that no policy, boundary or SCP can limit.

Google Cloud and Azure keep MFA in the identity provider (Workspace, Entra Conditional Access),
which the snapshot does not read: no finding is made for them either way.
"""

from __future__ import annotations

from collections.abc import Iterator

from models import Cloud, CredentialKind, PrincipalKind
from simulator.findings.context import Context
from simulator.findings.model import Category, Evidence, Finding, Nhi, RuleMeta, Severity

CONSOLE_WITHOUT_MFA = RuleMeta(
    id="insecure-authentication/console-without-mfa",
    title="IAM user with a console password and no MFA",
    severity=Severity.MEDIUM,
    category=Category.INSECURE_AUTHENTICATION,
    nhi=(Nhi.NHI4,),
    rationale="Without MFA a phished, reused or leaked password is all it takes to sign in as the user.",
    remediation="Enable an MFA device for the user (or remove the console password if nobody signs in with it).",
)
ROOT_WITHOUT_MFA = RuleMeta(
    id="insecure-authentication/root-without-mfa",
    title="AWS root user without MFA",
    severity=Severity.HIGH,
    category=Category.INSECURE_AUTHENTICATION,
    nhi=(Nhi.NHI4,),
    rationale=(
        "The root user can do everything in the account, SCPs aside, including closing it; without MFA its "
        "password (or a password reset through its e-mail) is enough."
    ),
    remediation=(
        "Enable MFA on the root user, or remove member accounts' root credentials with centralized root access "
        "management in AWS Organizations."
    ),
)
ROOT_ACCESS_KEY = RuleMeta(
    id="insecure-authentication/root-access-key",
    title="Active access key of an AWS root user",
    severity=Severity.CRITICAL,
    category=Category.INSECURE_AUTHENTICATION,
    nhi=(Nhi.NHI4, Nhi.NHI7),
    rationale="A root access key is a long-lived secret with every permission of the account; no policy limits it.",
    remediation="Delete the root access key; give programs roles or IAM users with the permissions they need.",
)


def check_console(context: Context) -> Iterator[Finding]:
    principals = {p.id: p for p in context.snapshot.principals}
    for c in sorted(context.snapshot.credentials, key=lambda c: c.id):
        if c.kind is not CredentialKind.PASSWORD or not c.active or c.mfa is not False:
            continue
        user = principals.get(c.principal_id)
        used = f", last used {c.last_used.date().isoformat()}" if c.last_used else ", never used"
        yield Finding(
            rule=CONSOLE_WITHOUT_MFA,
            subject=c.principal_id,
            principal=c.principal_id,
            cloud=user.cloud if user is not None else Cloud.AWS,
            sentence=f"{user.name if user else c.principal_id} can sign in to the console with a password alone"
            f" (no MFA){used}",
            evidence=(Evidence(what="console password, MFA not active (credential report)", source=c.id),),
        )


def check_root_mfa(context: Context) -> Iterator[Finding]:
    for p in sorted(context.snapshot.principals, key=lambda p: p.id):
        if p.kind is PrincipalKind.AWS_ROOT and p.attributes.get("mfaActive") == "false":
            yield Finding(
                rule=ROOT_WITHOUT_MFA,
                subject=p.id,
                principal=p.id,
                cloud=p.cloud,
                sentence=f"The root user of account {p.scope_id} has no MFA",
                evidence=(
                    Evidence(what="mfa_active false in the <root_account> row of the credential report", source=p.id),
                ),
            )


def check_root_keys(context: Context) -> Iterator[Finding]:
    roots = {p.id: p for p in context.snapshot.principals if p.kind is PrincipalKind.AWS_ROOT}
    for c in sorted(context.snapshot.credentials, key=lambda c: c.id):
        root = roots.get(c.principal_id)
        if root is None or c.kind is not CredentialKind.ACCESS_KEY or not c.active:
            continue
        yield Finding(
            rule=ROOT_ACCESS_KEY,
            subject=c.id,
            principal=root.id,
            cloud=root.cloud,
            sentence=f"The root user of account {root.scope_id} has an active access key",
            evidence=(Evidence(what="active root access key (credential report)", source=c.id),),
        )


RULES = (
    (CONSOLE_WITHOUT_MFA, check_console),
    (ROOT_WITHOUT_MFA, check_root_mfa),
    (ROOT_ACCESS_KEY, check_root_keys),
)

__all__ = ["RULES"]

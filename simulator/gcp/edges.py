"""Google Cloud edges of the mint graph, and its admins.

An edge ``source -> target`` says ``source`` can obtain the credentials of, or act as, ``target``.
Every edge is made of the engine's answers (``estate.can`` / who-can, below) and snapshot facts;
an answer proven denied means no edge, an unknown one an unknown edge (never dropped).

Edges:

- **impersonation**: who-can ``iam.serviceAccounts.getAccessToken``, ``signJwt``, ``signBlob`` and
  ``iam.serviceAccountKeys.create`` on each service account
  (``//iam.googleapis.com/projects/PROJECT/serviceAccounts/EMAIL``): ``P -> serviceAccount:EMAIL``
  with that permission as mechanism. This covers workload identity federation members
  (``principal://`` / ``principalSet://``, ``roles/iam.workloadIdentityUser`` grants getAccessToken)
  and GKE members (``serviceAccount:P.svc.id.goog[NS/KSA]``): the engine lists the members the
  bindings name.
- **implicit delegation** (one delegate): ``P`` with ``iam.serviceAccounts.implicitDelegation`` on a
  service account ``MID`` that may mint ``X``'s tokens: ``P -> X``, mechanism
  ``iam.serviceAccounts.implicitDelegation+<permission>``, both answers. It never yields ``MID``'s
  own token.
- **ID tokens**: ``iam.serviceAccounts.getOpenIdToken`` on a service account gives its Google ID
  token, not an access token: ``P -> https://accounts.google.com|UNIQUE_ID`` (the external node
  that AWS roles and Azure federated credentials trusting ``accounts.google.com`` with that
  subject join). Every service account reaches its own ID-token node (a fact). A service account
  whose unique id the snapshot lacks has no ID-token node.
- **setIamPolicy on a service account**: ``P -> SA`` (``P`` grants itself a token role), unless a
  deny policy denies ``P`` every minting permission on it.
- **HMAC keys**: ``storage.hmacKeys.create`` in the service account's project: ``P -> SA#hmac``, a
  node of its own (the account's Cloud Storage interoperability credential, with the condition
  that it reaches Cloud Storage only): an HMAC key signs Cloud Storage XML API requests and cannot
  call IAM, so nothing the account itself could mint is reached through it.
- **actAs with compute** (``iam.serviceAccounts.actAs`` on ``SA`` and the service's own
  permissions in SA's project, all answers in the edge, actAs first): Compute Engine
  (``compute.instances.create``, ``compute.disks.create``, ``compute.instances.setMetadata`` for a
  startup script, ``compute.instances.setServiceAccount``; or on an existing VM ``stop``,
  ``setServiceAccount``, ``start``, ``setMetadata``), Cloud Functions (``create``, or ``update`` of an
  existing function), Cloud Run (``run.services.create`` / ``update``), Cloud Build
  (``cloudbuild.builds.create`` with a build that names SA), Cloud Scheduler
  (``cloudscheduler.jobs.create``: the job sends SA's token), Composer
  (``composer.environments.create``). Only principals that have actAs on some account are asked
  about the service permissions. A service that runs in another project than SA's is an unknown
  edge: attaching a service account of another project depends on the organization policy
  ``iam.disableCrossProjectServiceAccountUsage``, which the snapshot does not hold. The subnet a
  VM needs (``compute.subnetworks.use``, possibly in a Shared VPC host project) is not asked.
- **existing workloads**: ``compute.instances.setMetadata`` on a VM, or
  ``compute.projects.setCommonInstanceMetadata`` on its project (an SSH key or a startup script):
  ``P -> VM``; ``cloudfunctions.functions.update`` / ``run.services.update`` on a function / service
  with actAs on its account: ``P -> WORKLOAD``; ``composer.environments.update``: ``P -> ENV``;
  ``cloudscheduler.jobs.update`` with actAs on the job's account: ``P -> SA`` (the updater picks
  the token and where it goes); ``cloudbuild.builds.create`` in a project whose default build
  account the snapshot holds (a Cloud Build workload): ``P -> BUILDS``. The workload's runs-as edge
  follows.
- **service agents**: ``deploymentmanager.deployments.create`` in a project: ``P ->
  serviceAccount:NUMBER@cloudservices.gserviceaccount.com`` (deployments run as the Google APIs
  service agent), when the snapshot holds that agent (one no binding names can do nothing).
- **custom roles**: ``iam.roles.update`` on a custom role ``P`` holds on a project, folder or
  organization: ``P -> P`` with ``escalates`` (P adds any permission, setIamPolicy included, to it).
- **runs-as**: a workload runs as each of its ``principal_ids`` (a fact): ``WORKLOAD -> SA``; a VM's
  or node pool's access scopes other than ``cloud-platform`` are the condition; a Scheduler job
  sending an OIDC token reaches the account's ID-token node only. GKE Kubernetes service accounts
  are no extra edge: their id is the member string, whose edge to the account is an impersonation
  edge above (with the engine's answer, conditions and deny policies included).
- **workload identity federation**: for each pool member (``principal://.../subject/S``,
  ``principalSet://.../*``, ``/attribute.A/V``, ``/group/G``) and each active provider of its
  active pool, the outside identities the provider admits: ``ISSUER|SUBJECT-PATTERN -> MEMBER``
  (GitHub: ``repo:OWNER/REPO:*`` when the attribute condition or the member pins the repository),
  an AWS provider's account root ``arn:aws:iam::ACCOUNT:root`` (any principal of that account), or
  the role's ARN when the condition or member names an assumed role. The condition is the
  provider's attribute condition and the member's restriction in words. Simple conjunctions of
  ``==`` / ``startsWith`` tests are read; a member no token of the provider can match (two
  different required values) has no edge from it.

- **domains**: ``USER -> domain:D`` (``member-of``, a fact) for each user of D when ``domain:D`` is
  the source of an edge, and no deny rule names the user or its groups (see below).

Disabled or deleted service accounts are no targets (they can mint no token); a disabled or
deleted pool or provider admits no one.

Admins: who-can ``resourcemanager.{projects,folders,organizations}.setIamPolicy`` on each project,
folder and organization, allowed answers; and, where the snapshot lacks the definition of
``roles/owner`` (which includes setIamPolicy), the members of an unconditional ``roles/owner``
binding on the scope whose answer is unknown rather than denied.

Who-can, in bulk (speed): the engine's who-can visits every principal of the snapshot for each
question. Here the candidates are taken from the bindings on the resource's ancestry whose role
grants the permission (or is not in the snapshot): their members, the members the snapshot lists
of their groups, the principals of their pools and the users of their domains that the domain
does not stand for. That is every principal the engine's who-can could list; each is asked with
``estate.can`` (the engine's own answer), and the engine's rules for groups and ``allUsers`` are
applied to the list. A binding member of a form not read here makes the question go to the
engine's who-can. One difference: ``domain:D`` stands for the users of D that no deny rule names
(nor their groups) and that no binding of the question names (nor their groups), as
``allUsers`` does in the engine: their answer is the domain's (a set stands for a member named
nowhere else), so they are not asked, and their ``member-of`` edge leads them to the domain's
edges. (Without it, a domain granted a token role on the organization makes an edge from every
user of the domain to every service account.) Service accounts with no policy of their own whose
ancestry, gaps and request attributes are the same get the same answers (a service account's
resource name is no request attribute), so one is asked and the answers are carried to the others
with their resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models import AttachmentKind, Cloud, PolicyKind, PrincipalKind, ScopeKind, Workload, WorkloadKind
from models.principal import Principal
from simulator.core import (
    Admin,
    Answer,
    Decision,
    Edge,
    EdgeStatus,
    Estate,
    Fact,
    QueryError,
    Reason,
    ReasonKind,
    edge_from,
)
from simulator.gcp.engine import GcpEngine
from simulator.gcp.index import GcpIndex, Target, principal_disabled
from simulator.gcp.reference import gke_identity

GET_ACCESS_TOKEN = "iam.serviceAccounts.getAccessToken"
SIGN_JWT = "iam.serviceAccounts.signJwt"
SIGN_BLOB = "iam.serviceAccounts.signBlob"
CREATE_KEY = "iam.serviceAccountKeys.create"
IMPLICIT_DELEGATION = "iam.serviceAccounts.implicitDelegation"
GET_ID_TOKEN = "iam.serviceAccounts.getOpenIdToken"
ACT_AS = "iam.serviceAccounts.actAs"
SET_SA_POLICY = "iam.serviceAccounts.setIamPolicy"
UPDATE_ROLE = "iam.roles.update"
HMAC_CREATE = "storage.hmacKeys.create"
DM_CREATE = "deploymentmanager.deployments.create"
BUILD_CREATE = "cloudbuild.builds.create"
SET_METADATA = "compute.instances.setMetadata"
SET_PROJECT_METADATA = "compute.projects.setCommonInstanceMetadata"
#: Permissions that give a service account's credentials to whoever holds them on it.
MINT = (GET_ACCESS_TOKEN, SIGN_JWT, SIGN_BLOB, CREATE_KEY)
#: What a delegate may do on the delegator's behalf (keys are not created through a delegation chain).
DELEGATED = (GET_ACCESS_TOKEN, SIGN_JWT, SIGN_BLOB)
SET_IAM_POLICY = {
    ScopeKind.PROJECT: "resourcemanager.projects.setIamPolicy",
    ScopeKind.FOLDER: "resourcemanager.folders.setIamPolicy",
    ScopeKind.GCP_ORGANIZATION: "resourcemanager.organizations.setIamPolicy",
}
OWNER = "roles/owner"
RUNS_AS = "runs-as"
FEDERATION = "workload-identity-federation"
MEMBER_OF = "member-of"
GOOGLE_ISSUER = "https://accounts.google.com"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
PROVIDER_KIND = "iam:workloadIdentityPoolProvider"
HMAC_CONDITION = "Cloud Storage only (an HMAC key is not an admin credential)"
METADATA_CONDITION = (
    "code runs through an SSH key in the metadata (when OS Login is off) or a startup script at the VM's next boot"
)
CROSS_PROJECT = (
    "{account} belongs to {home}, the {what} would run in {project}: a service account of another project can be "
    "attached only where the organization policy iam.disableCrossProjectServiceAccountUsage is not enforced, "
    "which the snapshot does not hold"
)
CROSS_CONDITION = (
    "only where the organization policy iam.disableCrossProjectServiceAccountUsage is not enforced "
    "(the account belongs to another project)"
)
LISTED = (Decision.ALLOWED, Decision.UNKNOWN)
PUBLIC = ("allUsers", "allAuthenticatedUsers")
WIF_MEMBER = re.compile(
    r"(?:principal|principalSet)://iam\.googleapis\.com/"
    r"(?P<pool>projects/(?P<number>[^/]+)/locations/[^/]+/workloadIdentityPools/(?P<name>[^/]+))/(?P<rest>.+)"
)
SA_SET = re.compile(r"principalSet://cloudresourcemanager\.googleapis\.com/[^/]+/[^/]+/type/ServiceAccount")
CONDITION_TITLE = re.compile(r" \(condition: (.+)\)$")
ASSUMED_ROLE = re.compile(r"arn:aws:sts::(?P<account>\d{12}):assumed-role/(?P<role>[\w+=,.@-]+)")
AWS_USER = re.compile(r"arn:aws:iam::(?P<account>\d{12}):user/(?P<path>[\w+=,.@/-]+)")
ATOM_EQ = re.compile(
    r"""(?P<key>(?:assertion|attribute|google)\.[A-Za-z_][\w.]*?)\s*==\s*(?P<q>['"])(?P<value>.*)(?P=q)"""
)
ATOM_EQ_LEFT = re.compile(
    r"""(?P<q>['"])(?P<value>.*)(?P=q)\s*==\s*(?P<key>(?:assertion|attribute|google)\.[A-Za-z_][\w.]*)"""
)
ATOM_PREFIX = re.compile(
    r"""(?P<key>(?:assertion|attribute|google)\.[A-Za-z_][\w.]*?)\.startsWith\(\s*(?P<q>['"])(?P<value>.*)(?P=q)\s*\)"""
)


@dataclass(frozen=True)
class _Account:
    member: str  # serviceAccount:EMAIL
    resource: str  # //iam.googleapis.com/projects/P/serviceAccounts/EMAIL
    project: str  # the scope id of its project (projects/P)


@dataclass(frozen=True, kw_only=True)
class _Deploy:
    """Creating compute that runs as a chosen account: ``permissions`` asked on ``resource``
    (``{project}`` is the project id), in the order the mechanism uses them, actAs before them."""

    what: str
    permissions: tuple[str, ...]
    resource: str


@dataclass(frozen=True, kw_only=True)
class _Deployer:
    """``principal`` may run compute in ``project`` as any account it may act as: ``mechanism``
    (without actAs), proven by ``answers``."""

    principal: str
    project: str
    what: str
    mechanism: str
    answers: tuple[Answer, ...]


DEPLOYS = (
    _Deploy(
        what="VM",
        permissions=(
            "compute.instances.create",
            "compute.disks.create",
            SET_METADATA,
            "compute.instances.setServiceAccount",
        ),
        resource="//compute.googleapis.com/projects/{project}/zones/*",
    ),
    _Deploy(
        what="function",
        permissions=("cloudfunctions.functions.create",),
        resource="//cloudfunctions.googleapis.com/projects/{project}/locations/*",
    ),
    _Deploy(
        what="Cloud Run service",
        permissions=("run.services.create",),
        resource="//run.googleapis.com/projects/{project}/locations/*",
    ),
    _Deploy(
        what="build",
        permissions=(BUILD_CREATE,),
        resource="//cloudbuild.googleapis.com/projects/{project}/locations/global/builds",
    ),
    _Deploy(
        what="Scheduler job",
        permissions=("cloudscheduler.jobs.create",),
        resource="//cloudscheduler.googleapis.com/projects/{project}/locations/*",
    ),
    _Deploy(
        what="Composer environment",
        permissions=("composer.environments.create",),
        resource="//composer.googleapis.com/projects/{project}/locations/*",
    ),
)
#: Changing the account an existing workload runs as (actAs on the new one before these, on the workload).
SWITCH = {
    WorkloadKind.GCE_INSTANCE: (
        "compute.instances.stop",
        "compute.instances.setServiceAccount",
        "compute.instances.start",
        SET_METADATA,
    ),
    WorkloadKind.CLOUD_FUNCTION: ("cloudfunctions.functions.update",),
    WorkloadKind.CLOUD_RUN_SERVICE: ("run.services.update",),
    WorkloadKind.CLOUD_SCHEDULER_JOB: ("cloudscheduler.jobs.update",),
}
#: Running code in an existing workload as its own account: (permission, whether actAs on the account is needed).
TAKE_OVER = {
    WorkloadKind.GCE_INSTANCE: (SET_METADATA, False),
    WorkloadKind.CLOUD_FUNCTION: ("cloudfunctions.functions.update", True),
    WorkloadKind.CLOUD_RUN_SERVICE: ("run.services.update", True),
    WorkloadKind.COMPOSER_ENVIRONMENT: ("composer.environments.update", False),
    WorkloadKind.CLOUD_BUILD: (BUILD_CREATE, False),
}
SCOPED_KINDS = (WorkloadKind.GCE_INSTANCE, WorkloadKind.GKE_NODE_POOL)


# --- entry points --------------------------------------------------------------------------------


def find_edges(estate: Estate) -> list[Edge]:
    g = _Estate.of(estate)
    edges: list[Edge] = []
    minted: dict[str, dict[str, tuple[Answer, ...]]] = {}
    for permission in MINT:
        for account, answers in g.asker.each(g.accounts, permission).items():
            minted.setdefault(account.member, {})[permission] = answers
            for a in answers:
                if a.principal != account.member:
                    edges.extend(_edge(a.principal, account.member, permission, [a]))
    edges.extend(_delegation_edges(g, minted))
    edges.extend(_id_token_edges(g))
    edges.extend(_sa_policy_edges(g))
    edges.extend(_hmac_edges(g))
    edges.extend(_deploy_edges(g))
    edges.extend(_workload_takeover_edges(g))
    edges.extend(_service_agent_edges(g))
    edges.extend(_custom_role_edges(g))
    edges.extend(_runs_as_edges(g))
    edges.extend(_federation_edges(g, edges))
    edges.extend(_membership_edges(g, edges))
    return _best(edges)


def find_admins(estate: Estate) -> list[Admin]:
    g = _Estate.of(estate)
    admins: list[Admin] = []
    for scope in estate.snapshot.scopes:
        permission = SET_IAM_POLICY.get(scope.kind) if scope.cloud is Cloud.GCP else None
        if permission is None:
            continue
        answers = g.asker.one(scope.id, permission)
        listed = set()
        for a in answers:
            if a.decision is Decision.ALLOWED and a.principal not in listed:
                when = _binding_condition([a])
                why = f"{permission} on {scope.id} is allowed: it can grant itself any role there" + (
                    f" ({when})" if when else ""
                )
                admins.append(Admin(id=a.principal, cloud=Cloud.GCP, scope=scope.id, why=why, answer=a))
                listed.add(a.principal)
                if a.principal.startswith("domain:"):
                    for user in g.asker.domain_users(a.principal.removeprefix("domain:")):
                        if user not in listed:
                            why_user = f"a user of {a.principal}, which no deny rule names: {why}"
                            admins.append(Admin(id=user, cloud=Cloud.GCP, scope=scope.id, why=why_user, answer=a))
                            listed.add(user)
        admins.extend(_owner_admins(g, scope.id, permission, answers, listed))
    return admins


def _owner_admins(g: _Estate, scope: str, permission: str, answers: Sequence[Answer], listed: set[str]) -> list[Admin]:
    """Holders of an unconditional roles/owner binding on ``scope`` when the snapshot lacks the
    role's definition (so the engine cannot prove setIamPolicy): those not proven denied."""
    if OWNER in g.index.roles:
        return []
    holders: dict[str, None] = {}
    for b in _bindings(g.index, scope):
        if b.get("role") == OWNER and not b.get("condition"):
            holders.update(dict.fromkeys(_canonical(str(m)) for m in b.get("members") or ()))
    out = []
    for a in answers:
        if a.decision is Decision.UNKNOWN and a.principal not in listed and a.principal in holders:
            why = (
                f"holds {OWNER} on {scope} (the snapshot lacks the role's definition; {OWNER} includes {permission}, "
                f"which no deny policy is proven to deny): {'; '.join(r.detail for r in a.reasons) or 'unknown'}"
            )
            out.append(Admin(id=a.principal, cloud=Cloud.GCP, scope=scope, why=why, answer=a))
    return out


# --- the estate's Google Cloud side ------------------------------------------------------------------


class _Estate:
    """The estate with its Google Cloud index, the service accounts that can hold credentials,
    and the bulk who-can."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        engine = estate.engine(Cloud.GCP)
        self.index = engine.index if isinstance(engine, GcpEngine) else GcpIndex(estate.snapshot)
        self.asker = _WhoCan(estate, self.index)
        self.accounts = _accounts(self.index)
        self.by_member = {a.member: a for a in self.accounts}
        self.by_project: dict[str, list[_Account]] = {}
        for a in self.accounts:
            self.by_project.setdefault(a.project, []).append(a)
        self.projects = sorted(s.id for s in self.index.scopes.values() if s.kind is ScopeKind.PROJECT)
        self.workloads = [w for w in estate.snapshot.workloads if w.cloud is Cloud.GCP]
        self._act_as: dict[_Account, tuple[Answer, ...]] | None = None
        self._actors: set[str] | None = None

    @classmethod
    def of(cls, estate: Estate) -> _Estate:
        """The context of ``estate``, shared by find_edges and find_admins through the estate's
        Google Cloud engine (its who-can answers are the same for both: one snapshot, one time)."""
        engine = estate.engine(Cloud.GCP)
        if isinstance(engine, GcpEngine):
            kept = engine.edge_context
            if isinstance(kept, _Estate) and kept.estate is estate:
                return kept
            made = cls(estate)
            engine.edge_context = made
            return made
        return cls(estate)

    def act_as(self) -> dict[_Account, tuple[Answer, ...]]:
        """Who may act as each account (computed once)."""
        if self._act_as is None:
            self._act_as = self.asker.each(self.accounts, ACT_AS)
        return self._act_as

    def actors(self) -> set[str]:
        """Every principal that may act as some account (with the users of a domain that may)."""
        if self._actors is None:
            listed = {a.principal for answers in self.act_as().values() for a in answers}
            users = {u for p in listed if p.startswith("domain:") for u in self.asker.domain_users(p[len("domain:") :])}
            self._actors = listed | users
        return self._actors

    def number(self, project: str) -> str | None:
        scope = self.index.scopes.get(project)
        return scope.attributes.get("projectNumber") if scope else None

    def principal(self, member: str) -> Principal | None:
        return self.index.principals.get(member)

    def id_token(self, member: str) -> str | None:
        """The external node of a service account's Google ID token (its unique id is the subject)."""
        p = self.principal(member)
        if p is None or p.kind is not PrincipalKind.GCP_SERVICE_ACCOUNT or not p.native_id:
            return None
        return f"{GOOGLE_ISSUER}|{p.native_id}"


def _edge(
    source: str,
    target: str,
    mechanism: str,
    answers: Sequence[Answer],
    *,
    facts: Iterable[Fact] = (),
    condition: str | None = None,
    escalates: bool = False,
) -> list[Edge]:
    when = _join(condition, _binding_condition(answers))
    edge = edge_from(source, target, Cloud.GCP, mechanism, answers, facts=facts, condition=when, escalates=escalates)
    return [edge] if edge is not None else []


def _join(*parts: str | None) -> str | None:
    kept = [p for p in dict.fromkeys(parts) if p]
    return "; ".join(kept) if kept else None


def _binding_condition(answers: Iterable[Answer]) -> str | None:
    """The IAM conditions an allowed answer rests on: when every binding that allows it has one."""
    out = []
    for a in answers:
        if a.decision is not Decision.ALLOWED:
            continue
        titles = [CONDITION_TITLE.search(r.detail) for r in a.reasons if r.kind is ReasonKind.BINDING]
        if titles and all(titles):
            names = ", ".join(dict.fromkeys(f"'{m.group(1)}'" for m in titles if m))
            out.append(f"only while the condition {names} of the binding granting {a.ask.action} holds")
    return _join(*out)


def _best(edges: Iterable[Edge]) -> list[Edge]:
    """One edge per (source, target, mechanism): a proven one where there is one, then one that
    holds without a condition."""
    best: dict[tuple[str, str, str], Edge] = {}
    for edge in edges:
        key = (edge.source, edge.target, edge.mechanism)
        kept = best.get(key)
        if kept is None or _rank(edge) < _rank(kept):
            best[key] = edge
    return list(best.values())


def _rank(edge: Edge) -> tuple[bool, bool]:
    return (edge.status is not EdgeStatus.PROVEN, edge.condition is not None)


# --- impersonation beyond the four minting permissions --------------------------------------------


def _delegation_edges(g: _Estate, minted: dict[str, dict[str, tuple[Answer, ...]]]) -> list[Edge]:
    """``P -> X`` through a delegate ``MID``: P's implicitDelegation on MID, MID's permission on X."""
    delegates = {
        a.principal
        for perms in minted.values()
        for permission in DELEGATED
        for a in perms.get(permission, ())
        if a.principal in g.by_member
    }
    delegators = g.asker.each([g.by_member[m] for m in sorted(delegates)], IMPLICIT_DELEGATION)
    via = {account.member: answers for account, answers in delegators.items()}
    found: list[Edge] = []
    for target, perms in minted.items():
        for permission in DELEGATED:
            for step in perms.get(permission, ()):
                mid = step.principal
                if mid == target:
                    continue
                for first in via.get(mid, ()):
                    if first.principal not in (mid, target):
                        found += _edge(first.principal, target, f"{IMPLICIT_DELEGATION}+{permission}", [first, step])
    return _best(found)


def _id_token_edges(g: _Estate) -> list[Edge]:
    edges: list[Edge] = []
    for account, answers in g.asker.each(g.accounts, GET_ID_TOKEN).items():
        node = g.id_token(account.member)
        if node is None:
            continue
        for a in answers:
            if a.principal != account.member:
                edges += _edge(a.principal, node, GET_ID_TOKEN, [a])
        fact = Fact(
            what=f"a service account can mint its own ID token ({account.member}, subject {node.partition('|')[2]})",
            source=f"snapshot {g.estate.snapshot.id}: service account {account.member}",
        )
        edges.append(Edge(source=account.member, target=node, cloud=Cloud.GCP, mechanism=GET_ID_TOKEN, facts=(fact,)))
    return edges


def _sa_policy_edges(g: _Estate) -> list[Edge]:
    """Whoever may set a service account's IAM policy grants itself a token role on it; a deny
    policy that denies it every minting permission there leaves no edge."""
    edges: list[Edge] = []
    for account, answers in g.asker.each(g.accounts, SET_SA_POLICY).items():
        target = g.index.resolve_resource(account.resource)
        denies = any(g.index.attached.get((node, AttachmentKind.DENY)) for node in target.nodes)
        for a in answers:
            if a.principal == account.member:
                continue
            if denies and all(
                g.asker.can(a.principal, p, account.resource).decision is Decision.EXPLICIT_DENY for p in MINT
            ):
                continue
            edges += _edge(a.principal, account.member, SET_SA_POLICY, [a])
    return edges


def hmac_node(member: str) -> str:
    """The node of a service account's HMAC key (a Cloud Storage credential only)."""
    return f"{member}#hmac"


def _hmac_edges(g: _Estate) -> list[Edge]:
    edges: list[Edge] = []
    for project, accounts in sorted(g.by_project.items()):
        resource = f"//storage.googleapis.com/projects/{project.removeprefix('projects/')}/hmacKeys/*"
        for a in g.asker.one(resource, HMAC_CREATE):
            for account in accounts:
                if a.principal != account.member:
                    edges += _edge(a.principal, hmac_node(account.member), HMAC_CREATE, [a], condition=HMAC_CONDITION)
    return edges


# --- actAs with compute ----------------------------------------------------------------------------


def _deployers(g: _Estate, actors: set[str]) -> list[_Deployer]:
    """Who among ``actors`` may run compute as an account of its choice, per project."""
    out: list[_Deployer] = []
    for project in g.projects:
        pid = project.removeprefix("projects/")
        for deploy in DEPLOYS:
            resource = deploy.resource.format(project=pid)
            out += _steps(g, actors, project, deploy.what, deploy.permissions, resource)
    for w in g.workloads:
        switch = SWITCH.get(w.kind)
        if switch and w.scope_id in g.index.scopes:
            out += _steps(g, actors, w.scope_id, f"{w.kind.value} {w.name}", switch, w.id)
    return out


def _steps(
    g: _Estate, actors: set[str], project: str, what: str, permissions: Sequence[str], resource: str
) -> list[_Deployer]:
    first, *rest = permissions
    out = []
    for a in g.asker.among(resource, first, actors):
        answers = [a, *(g.asker.can(a.principal, p, resource) for p in rest)]
        if all(x.decision in LISTED for x in answers):
            out.append(
                _Deployer(
                    principal=a.principal,
                    project=project,
                    what=what,
                    mechanism="+".join(permissions),
                    answers=tuple(answers),
                )
            )
    return out


def _deploy_edges(g: _Estate) -> list[Edge]:
    """``P -> SA``: actAs on SA, and compute that runs as SA created (or switched to it) by P."""
    actors = g.actors()
    if not actors:
        return []
    by_principal: dict[str, list[_Deployer]] = {}
    for d in _deployers(g, actors):
        by_principal.setdefault(d.principal, []).append(d)
    acting: dict[str, list[tuple[_Account, Answer]]] = {}
    for account, answers in g.act_as().items():
        for a in answers:
            acting.setdefault(a.principal, []).append((account, a))
    found: list[Edge] = []
    for principal, deployers in by_principal.items():
        for account, a in _acting_as(g, acting, principal):
            if principal == account.member:
                continue
            own = {d.mechanism for d in deployers if d.project == account.project}
            for d in deployers:
                mechanism = f"{ACT_AS}+{d.mechanism}"
                if d.project == account.project:
                    found += _edge(principal, account.member, mechanism, [a, *d.answers])
                elif d.mechanism not in own:
                    why = CROSS_PROJECT.format(
                        account=account.member, home=account.project, what=d.what, project=d.project
                    )
                    reason = Reason(kind=ReasonKind.COVERAGE, detail=why, scope=d.project)
                    steps = [a, *(x.unknown([reason]) for x in d.answers)]
                    found += _edge(principal, account.member, mechanism, steps, condition=CROSS_CONDITION)
    return _best(found)


def _acting_as(
    g: _Estate, acting: Mapping[str, list[tuple[_Account, Answer]]], principal: str
) -> list[tuple[_Account, Answer]]:
    """The accounts ``principal`` may act as, with its own answer: those who-can lists it for,
    and for a user a domain stands for, those the domain may act as (asked for the user)."""
    out = list(acting.get(principal, ()))
    seen = {account for account, _ in out}
    domain = "domain:" + principal.rpartition("@")[2].lower()
    if principal.startswith("user:") and domain in acting and g.asker.stands_for(principal):
        for account, _ in acting[domain]:
            if account not in seen:
                out.append((account, g.asker.can(principal, ACT_AS, account.resource)))
    return out


def _workload_takeover_edges(g: _Estate) -> list[Edge]:
    """``P -> WORKLOAD``: P runs code in an existing workload, as the workload's own account."""
    found: list[Edge] = []
    for w in g.workloads:
        if w.scope_id not in g.index.scopes:
            continue
        take = TAKE_OVER.get(w.kind)
        if take is not None:
            found += _take_over(g, w, *take)
        if w.kind is WorkloadKind.GCE_INSTANCE:
            project = f"//compute.googleapis.com/projects/{w.scope_id.removeprefix('projects/')}"
            when = f"{METADATA_CONDITION}, unless the VM blocks project-wide SSH keys"
            for a in g.asker.one(project, SET_PROJECT_METADATA):
                if a.principal not in w.principal_ids:
                    found += _edge(a.principal, w.id, SET_PROJECT_METADATA, [a], condition=when)
        if w.kind is WorkloadKind.CLOUD_SCHEDULER_JOB:
            # The job's updater picks the token type and where it goes: the job's account itself.
            for a in g.asker.among(w.id, "cloudscheduler.jobs.update", g.actors()):
                for p in w.principal_ids:
                    if p in g.by_member and p != a.principal:
                        acting = g.asker.can(a.principal, ACT_AS, g.by_member[p].resource)
                        found += _edge(a.principal, p, f"{ACT_AS}+cloudscheduler.jobs.update", [acting, a])
    return _best(found)


def _take_over(g: _Estate, w: Workload, permission: str, needs_act_as: bool) -> list[Edge]:
    """``permission`` on workload ``w`` (with actAs on its accounts when the service asks for it)."""
    condition = METADATA_CONDITION if w.kind is WorkloadKind.GCE_INSTANCE else None
    answers = g.asker.among(w.id, permission, g.actors()) if needs_act_as else g.asker.one(w.id, permission)
    found: list[Edge] = []
    for a in answers:
        if a.principal in w.principal_ids:
            continue
        acting: list[Answer] = []
        if needs_act_as:
            acting = [
                g.asker.can(a.principal, ACT_AS, g.by_member[p].resource) for p in w.principal_ids if p in g.by_member
            ]
            if not acting:
                continue
        steps = [*acting, a]
        found += _edge(a.principal, w.id, "+".join(x.ask.action for x in steps), steps, condition=condition)
    return found


def _service_agent_edges(g: _Estate) -> list[Edge]:
    """Deployment Manager runs a deployment as the project's Google APIs service agent."""
    edges: list[Edge] = []
    for project in g.projects:
        number = g.number(project)
        agent = f"serviceAccount:{number}@cloudservices.gserviceaccount.com" if number else None
        if agent is None or agent not in g.index.principals:
            continue
        resource = (
            f"//deploymentmanager.googleapis.com/projects/{project.removeprefix('projects/')}/global/deployments/*"
        )
        for a in g.asker.one(resource, DM_CREATE):
            if a.principal != agent:
                edges += _edge(
                    a.principal,
                    agent,
                    DM_CREATE,
                    [a],
                    condition="the deployment's resources are made by the Google APIs service agent, with its roles",
                )
    return edges


# --- custom roles ----------------------------------------------------------------------------------


def _custom_role_edges(g: _Estate) -> list[Edge]:
    """``P -> P`` (escalates): P may update a custom role bound to it on a project, folder or
    organization, and so add any permission to what it holds there."""
    index = g.index
    custom = {
        pid: p
        for pid, p in index.policies.items()
        if p.kind is PolicyKind.GCP_ROLE
        and not pid.startswith("roles/")
        and not (p.deleted or p.attributes.get("deleted") == "true" or p.document.get("deleted"))
    }
    if not custom:
        return []
    held: dict[str, list[tuple[str, str, str, str | None]]] = {}  # role -> (holder, node, policy, condition)
    for (node, kind), pids in index.attached.items():
        if kind is not AttachmentKind.BINDING or node not in index.scopes:
            continue
        for pid in pids:
            for b in index.policies[pid].document.get("bindings") or ():
                role = str(b.get("role", ""))
                if role not in custom:
                    continue
                cond = b.get("condition")
                title = str(cond.get("title") or cond.get("expression")) if isinstance(cond, dict) else None
                for m in b.get("members") or ():
                    for holder in _holders(index, _canonical(str(m))):
                        held.setdefault(role, []).append((holder, node, pid, title))
    edges: list[Edge] = []
    for role, holders in sorted(held.items()):
        parent = role.split("/roles/", 1)[0]
        if parent not in index.scopes and not parent.startswith("projects/"):
            continue
        updaters = {a.principal: a for a in g.asker.one(parent, UPDATE_ROLE)}
        for holder, node, pid, title in holders:
            a = updaters.get(holder)
            if a is None and "domain:" + holder.rpartition("@")[2] in updaters and g.asker.stands_for(holder):
                a = g.asker.can(holder, UPDATE_ROLE, parent)  # the domain may: so may the user
            if a is None:
                continue
            fact = Fact(
                what=f"{holder} holds the custom role {role} on {node}",
                source=f"snapshot {g.estate.snapshot.id}: {pid}",
            )
            when = f"only while the condition '{title}' of the binding of {role} on {node} holds" if title else None
            edges += _edge(holder, holder, UPDATE_ROLE, [a], facts=[fact], condition=when, escalates=True)
    return _best(edges)


def _holders(index: GcpIndex, member: str) -> list[str]:
    """The principals a binding member stands for: itself (a group whose members are not known
    stands for them) and a group's known members."""
    if member.startswith("deleted:"):
        return []
    if member.startswith("group:"):
        own = [] if member in index.known_groups else [member]
        return [*own, *sorted(index.members.get(member, ()))]
    return [member]


# --- workloads -------------------------------------------------------------------------------------


def _runs_as_edges(g: _Estate) -> list[Edge]:
    snapshot = g.estate.snapshot
    edges: list[Edge] = []
    for w in g.workloads:
        if w.kind is WorkloadKind.GKE_SERVICE_ACCOUNT:
            continue  # the member itself: its edge to the account is the engine's (impersonation)
        condition = _scope_condition(w.attributes.get("oauthScopes")) if w.kind in SCOPED_KINDS else None
        if w.kind is WorkloadKind.GKE_NODE_POOL and w.attributes.get("workloadMetadataMode") == "GKE_METADATA":
            condition = _join(
                "only from the node itself or a host-network pod (workload identity keeps other pods off the "
                "node's metadata server)",
                condition,
            )
        for principal in w.principal_ids:
            p = g.principal(principal)
            if p is not None and principal_disabled(p):
                continue  # a disabled account gives its workloads no token
            target, when = principal, condition
            if w.kind is WorkloadKind.CLOUD_SCHEDULER_JOB and w.attributes.get("tokenType") == "oidc":
                token = g.id_token(principal)
                target = token or principal
                audience = w.attributes.get("oidcAudience")
                when = _join(
                    None if token else "only an ID token (OIDC) for the job's target, not an access token",
                    f"only an ID token for the audience {audience}" if audience else None,
                )
            fact = Fact(
                what=f"{w.kind.value} {w.name} runs as {principal}"
                + (" (it sends the account's ID token)" if target != principal else ""),
                source=f"snapshot {snapshot.id}: workload {w.id}",
            )
            edges.append(
                Edge(source=w.id, target=target, cloud=Cloud.GCP, mechanism=RUNS_AS, facts=(fact,), condition=when)
            )
    return edges


def _scope_condition(scopes: str | None) -> str | None:
    """The access scopes that limit a VM's token, None when they do not (cloud-platform) or are not known."""
    if scopes is None:
        return None
    names = scopes.split()
    if not names:
        return "the token carries no access scope: it calls no Google API"
    if CLOUD_PLATFORM in names:
        return None
    short = ", ".join(n.removeprefix(SCOPE_PREFIX) for n in names)
    return f"the token carries only the access scopes {short}"


# --- workload identity federation ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Provider:
    name: str
    protocol: str
    issuer: str | None
    account: str | None
    condition: str
    mapping: Mapping[str, str]


def _federation_edges(g: _Estate, edges: Sequence[Edge]) -> list[Edge]:
    index = g.index
    members = dict.fromkeys(
        [
            *(p for p in index.principals if WIF_MEMBER.fullmatch(p)),
            *(e.source for e in edges if WIF_MEMBER.fullmatch(e.source)),
        ]
    )
    providers = _providers(g)
    out: list[Edge] = []
    for member in members:
        m = WIF_MEMBER.fullmatch(member)
        assert m is not None
        pool = index.principals.get(f"principalSet://iam.googleapis.com/{m.group('pool')}/*")
        if m.group("name").endswith(".svc.id.goog") or (pool is not None and principal_disabled(pool)):
            continue
        for provider in providers.get(m.group("pool"), ()):
            edge = _federated(g, member, m.group("rest"), provider)
            if edge is not None:
                out.append(edge)
    return out


def _providers(g: _Estate) -> dict[str, list[_Provider]]:
    issuers = {c.id: c for c in g.estate.snapshot.credentials}
    out: dict[str, list[_Provider]] = {}
    for r in g.estate.snapshot.resources:
        if r.cloud is not Cloud.GCP or r.kind != PROVIDER_KIND or "/providers/" not in r.id:
            continue
        attrs = r.attributes
        credential = issuers.get(r.id)
        if attrs.get("disabled") == "true" or attrs.get("state", "ACTIVE") not in ("", "ACTIVE"):
            continue
        if credential is not None and not credential.active:
            continue
        try:
            mapping = {str(k): str(v) for k, v in json.loads(attrs.get("attributeMapping") or "{}").items()}
        except (ValueError, AttributeError):
            mapping = {}
        out.setdefault(r.id.split("/providers/", 1)[0], []).append(
            _Provider(
                name=r.id,
                protocol=attrs.get("protocol", ""),
                issuer=credential.issuer if credential is not None else None,
                account=attrs.get("awsAccountId"),
                condition=attrs.get("attributeCondition", "").strip(),
                mapping=mapping,
            )
        )
    return out


def _federated(g: _Estate, member: str, rest: str, provider: _Provider) -> Edge | None:
    """The edge from the outside identities ``provider`` admits to ``member``, None when no token
    of it can be mapped to ``member``."""
    constraints: list[tuple[str, str, str]] = list(_condition_atoms(provider.condition))
    restriction: str | None = None
    if rest.startswith("subject/"):
        constraints.append(("google.subject", "==", rest.removeprefix("subject/")))
        restriction = f"google.subject is {rest.removeprefix('subject/')}"
    elif rest.startswith("attribute."):
        name, _, value = rest.partition("/")
        constraints.append((name, "==", value))
        restriction = f"{name} is {value}"
    elif rest.startswith("group/"):
        restriction = f"google.groups holds {rest.removeprefix('group/')}"
    elif rest != "*":
        restriction = f"the token maps to {rest}"
    claims = [(_resolve_claim(key, provider.mapping), op, value) for key, op, value in constraints]
    if _contradict(claims):
        return None
    short = provider.name.rsplit("/", 1)[1]
    if provider.protocol == "aws" and provider.account:
        source = _aws_source(provider.account, claims)
        if source is None:
            return None
    else:
        issuer = provider.issuer or f"//iam.googleapis.com/{provider.name}"
        source = f"{issuer}|{_subject_pattern(issuer, claims)}"
    parts = []
    if provider.condition:
        parts.append(f"only for tokens that meet {provider.condition} (attribute condition of provider {short})")
    if restriction:
        parts.append(f"only for tokens whose {restriction}")
    fact = Fact(
        what=f"workload identity provider {short} admits "
        + (f"identities of AWS account {provider.account}" if provider.protocol == "aws" else f"{source} tokens")
        + f" into the pool of {member}"
        + (
            f" under the attribute condition {provider.condition}"
            if provider.condition
            else " (no attribute condition)"
        ),
        source=f"snapshot {g.estate.snapshot.id}: provider {provider.name}",
    )
    return Edge(
        source=source, target=member, cloud=Cloud.GCP, mechanism=FEDERATION, facts=(fact,), condition=_join(*parts)
    )


def _condition_atoms(condition: str) -> list[tuple[str, str, str]]:
    """The ``==`` / ``startsWith`` tests of a condition that is a plain conjunction (none when it
    has ``||``: the tests are then not each required)."""
    if not condition or "||" in condition:
        return []
    out = []
    for raw in condition.split("&&"):
        atom = raw.strip()
        while atom.startswith("(") and atom.endswith(")"):
            atom = atom[1:-1].strip()
        for pattern, op in ((ATOM_PREFIX, "startsWith"), (ATOM_EQ, "=="), (ATOM_EQ_LEFT, "==")):
            m = pattern.fullmatch(atom)
            if m:
                out.append((m.group("key"), op, m.group("value")))
                break
    return out


def _resolve_claim(key: str, mapping: Mapping[str, str]) -> str:
    """An attribute tested by a condition or member, as the assertion claim it is mapped from
    when the mapping copies one (``attribute.repository`` -> ``assertion.repository``)."""
    source = mapping.get(key, "").strip()
    if re.fullmatch(r"assertion\.[A-Za-z_]\w*", source):
        return source
    return key


def _contradict(claims: Sequence[tuple[str, str, str]]) -> bool:
    """Whether two required tests on one claim cannot both hold."""
    by_key: dict[str, list[tuple[str, str]]] = {}
    for key, op, value in claims:
        by_key.setdefault(key, []).append((op, value))
    for tests in by_key.values():
        equal = {v for op, v in tests if op == "=="}
        if len(equal) > 1:
            return True
        prefixes = [v for op, v in tests if op == "startsWith"]
        if equal and any(not next(iter(equal)).startswith(p) for p in prefixes):
            return True
        if any(not (a.startswith(b) or b.startswith(a)) for a in prefixes for b in prefixes):
            return True
    return False


def _subject_pattern(issuer: str, claims: Sequence[tuple[str, str, str]]) -> str:
    """The token subjects (``sub``) the tests admit, as a pattern (``*`` when they pin none)."""

    def find(claim: str, op: str) -> str | None:
        return next((v for k, o, v in claims if k == claim and o == op), None)

    sub = find("assertion.sub", "==")
    if sub is not None:
        return sub
    prefix = find("assertion.sub", "startsWith")
    if prefix is not None:
        return f"{prefix}*"
    if issuer.rstrip("/") == GITHUB_ISSUER:
        repository = find("assertion.repository", "==")
        if repository is not None:
            return f"repo:{repository}:*"
        owner = find("assertion.repository_owner", "==")
        if owner is not None:
            return f"repo:{owner}/*"
        prefix = find("assertion.repository", "startsWith")
        if prefix is not None:
            return f"repo:{prefix}*"
    return "*"


def _aws_source(account: str, claims: Sequence[tuple[str, str, str]]) -> str | None:
    """The AWS principal a provider trusting ``account`` admits under the tests: an assumed role
    or user the tests name, else the account (any of its principals); None when they name another
    account."""
    for key, _, value in claims:
        if key == "assertion.account" and value != account:
            return None
    for _, _, value in claims:
        role = ASSUMED_ROLE.match(value)
        if role:
            return f"arn:aws:iam::{account}:role/{role.group('role')}" if role.group("account") == account else None
        user = AWS_USER.match(value)
        if user:
            return f"arn:aws:iam::{account}:user/{user.group('path')}" if user.group("account") == account else None
    return f"arn:aws:iam::{account}:root"


# --- targets ---------------------------------------------------------------------------------------


def _accounts(index: GcpIndex) -> list[_Account]:
    """The snapshot's service accounts that can hold credentials, with their resource names."""
    out = []
    for p in index.principals.values():
        if p.kind is not PrincipalKind.GCP_SERVICE_ACCOUNT or principal_disabled(p):
            continue
        email = p.id.partition(":")[2]
        if not p.id.startswith("serviceAccount:") or "@" not in email or gke_identity(p.id) is not None:
            continue  # a GKE member, not a service account
        project = index.sa_project(p.id) or (p.scope_id if p.scope_id.startswith("projects/") else None)
        if project is None:
            continue  # where it lives is not known: no resource name to ask about
        resource = f"//iam.googleapis.com/projects/{project.removeprefix('projects/')}/serviceAccounts/{email}"
        out.append(_Account(member=p.id, resource=resource, project=project))
    return out


# --- who-can, in bulk ------------------------------------------------------------------------------


class _WhoCan:
    """Who-can over many resources (the module docstring): candidates from the bindings, each
    asked with ``estate.can``."""

    def __init__(self, estate: Estate, index: GcpIndex) -> None:
        self.estate = estate
        self.index = index
        self._memo: dict[tuple[str, str], tuple[Answer, ...]] = {}
        self._answers: dict[tuple[str, str, str], Answer] = {}
        self._admitted: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = {}
        self._on_node: dict[tuple[str, str], tuple[str, ...]] = {}
        self._domains: dict[str, list[str]] | None = None
        self._pools: dict[str, list[str]] | None = None
        self._deny_named: set[str] | None = None
        self._stands_for: dict[str, bool] = {}

    def can(self, principal: str, permission: str, resource: str) -> Answer:
        """The engine's answer (cached: the edge kinds ask many of the same questions again)."""
        key = (principal, permission, resource)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self.estate.can(self.estate.ask(principal, permission, resource))
        return answer

    def admitted(self, target: Target, permission: str) -> tuple[str, ...]:
        """Members of the bindings on the target's ancestry whose role grants ``permission`` or is
        not in the snapshot (a disabled role grants nothing)."""
        key = (target.nodes, permission)
        if key not in self._admitted:
            out: dict[str, None] = {}
            for node in target.nodes:
                out.update(dict.fromkeys(self._admitted_on(node, permission)))
            self._admitted[key] = tuple(out)
        return self._admitted[key]

    def _admitted_on(self, node: str, permission: str) -> tuple[str, ...]:
        key = (node, permission)
        if key not in self._on_node:
            index = self.index
            out: dict[str, None] = {}
            for b in _bindings(index, node):
                role = str(b.get("role", ""))
                if role not in index.disabled_roles and (role not in index.roles or permission in index.roles[role]):
                    out.update(dict.fromkeys(str(m) for m in b.get("members") or ()))
            self._on_node[key] = tuple(out)
        return self._on_node[key]

    def one(self, resource: str, permission: str) -> tuple[Answer, ...]:
        """The engine's who-can answer for (``permission``, ``resource``): allowed and unknown."""
        key = (resource, permission)
        if key not in self._memo:
            self._memo[key] = self._ask(resource, permission, None)
        return self._memo[key]

    def among(self, resource: str, permission: str, principals: set[str]) -> tuple[Answer, ...]:
        """``one`` restricted to ``principals`` (only those are asked)."""
        return self._ask(resource, permission, principals)

    def _ask(self, resource: str, permission: str, only: set[str] | None) -> tuple[Answer, ...]:
        target = self.index.resolve_resource(resource)
        admitted = self.admitted(target, permission)
        if not admitted:
            return ()  # no binding can include anyone: the engine lists no one
        candidates = self._candidates(admitted)
        try:
            if candidates is None:
                raise QueryError("a member form the candidates are not read from")
            if only is not None:
                candidates = [c for c in candidates if c in only]
            answers = [self.can(c, permission, resource) for c in candidates]
        except QueryError:
            full = self.estate.who_can(self.estate.ask(None, permission, resource))
            return tuple(a for a in full if only is None or a.principal in only)
        return self._as_listed(answers)

    def _as_listed(self, answers: Sequence[Answer]) -> tuple[Answer, ...]:
        """The engine's who-can rules over answers: allowed and unknown ones, less those allowed
        only as one of allUsers / allAuthenticatedUsers (which are listed); a group whose members
        are not known stands for any of them."""
        listed = [a for a in answers if a.decision in LISTED]
        open_to = {a.principal for a in listed if a.principal in PUBLIC and a.decision is Decision.ALLOWED}
        out = []
        for a in listed:
            if (
                open_to
                and a.principal not in PUBLIC
                and a.decision is Decision.ALLOWED
                and all(r.member in open_to for r in a.reasons if r.kind is ReasonKind.BINDING)
            ):
                continue
            if a.principal.startswith("group:") and a.principal not in self.index.known_groups:
                a = a.with_notes([f"the members of {a.principal} are not known: this stands for any of them"])
            out.append(a)
        return tuple(sorted(out, key=lambda a: a.decision is not Decision.ALLOWED))

    def _candidates(self, admitted: Sequence[str]) -> list[str] | None:
        """Every principal a binding with these members could include, or None when a member's
        form is not read here. A domain's users that nothing else here names are left to the
        domain (see :meth:`stands_for`)."""
        index = self.index
        out: dict[str, None] = {}
        for raw in admitted:
            if raw.startswith("deleted:"):
                continue
            member = _canonical(raw)
            pool = WIF_MEMBER.fullmatch(member)
            if member.startswith("group:"):
                inside = sorted(index.members.get(member, ()))
                if member not in index.known_groups:
                    # the group itself stands for its members; those the snapshot lists are asked too
                    out[member] = None
                    inside = [m for m in inside if not m.startswith("group:")]
                out.update(dict.fromkeys(inside))
            elif member.startswith(("user:", "serviceAccount:")):
                out[member] = None
                ident = gke_identity(member)
                if ident is not None:
                    out.update(dict.fromkeys(self._pool_members(f"{ident[0]}.svc.id.goog")))
            elif member.startswith("domain:"):
                out[member] = None
                # the users it stands for are asked as the domain; those a binding here names (or
                # their groups) are candidates already
                out.update(
                    dict.fromkeys(p for p in self._domain(member.removeprefix("domain:")) if not self.stands_for(p))
                )
            elif member in PUBLIC:
                out[member] = None
            elif pool is not None:
                out[member] = None
                out.update(dict.fromkeys(self._pool_members(pool.group("pool"))))
                if pool.group("name").endswith(".svc.id.goog"):
                    out.update(dict.fromkeys(self._pool_members(pool.group("name"))))
            elif SA_SET.fullmatch(member):
                out[member] = None
                out.update(
                    dict.fromkeys(
                        p.id for p in index.principals.values() if p.kind is PrincipalKind.GCP_SERVICE_ACCOUNT
                    )
                )
            else:
                return None
        return list(out)

    def stands_for(self, member: str) -> bool:
        """Whether ``domain:D`` stands for ``member``, a user of D: every answer about the domain
        holds for the user as long as nothing but the domain names it. A user is more than the
        domain where a binding names it or its groups (it is then asked itself); it is less only
        where a deny rule names it or its groups, or when it is disabled: such users are always
        asked themselves. Service accounts are always asked (their project's gaps are their own)."""
        if member not in self._stands_for:
            p = self.index.principals.get(member)
            if self._deny_named is None:
                self._deny_named = _deny_named(self.index)
            named = self._deny_named
            self._stands_for[member] = (
                p is not None
                and p.kind is PrincipalKind.GCP_USER
                and not principal_disabled(p)
                and member not in named
                and not any(_canonical(g) in named for g in p.member_of)
            )
        return self._stands_for[member]

    def domain_users(self, domain: str) -> list[str]:
        """The users of ``domain`` it stands for."""
        return [p for p in self._domain(domain) if self.stands_for(p)]

    def _domain(self, domain: str) -> list[str]:
        if self._domains is None:
            self._domains = {}
            for p in self.index.principals.values():
                if p.kind in (PrincipalKind.GCP_USER, PrincipalKind.GCP_SERVICE_ACCOUNT) and "@" in p.id:
                    self._domains.setdefault(p.id.rpartition("@")[2].lower(), []).append(p.id)
        return self._domains.get(domain.lower(), [])

    def _pool_members(self, key: str) -> list[str]:
        """Principals of a workload identity pool (by pool name) or of a GKE workload pool
        (``P.svc.id.goog``), in either spelling."""
        if self._pools is None:
            self._pools = {}
            for p in self.index.principals.values():
                m = WIF_MEMBER.fullmatch(p.id)
                if m is not None and "/subject/" in p.id:
                    self._pools.setdefault(m.group("pool"), []).append(p.id)
                ident = gke_identity(p.id)
                if ident is not None:
                    self._pools.setdefault(f"{ident[0]}.svc.id.goog", []).append(p.id)
        return self._pools.get(key, [])

    def each(self, accounts: Iterable[_Account], permission: str) -> dict[_Account, tuple[Answer, ...]]:
        """``one`` for each account; accounts that cannot differ share the first one's answers."""
        out: dict[_Account, tuple[Answer, ...]] = {}
        alike: dict[tuple[object, ...], list[_Account]] = {}
        for account in accounts:
            target = self.index.resolve_resource(account.resource)
            if not self.admitted(target, permission):
                out[account] = ()
                continue
            key = _alike(self.index, target)
            if key is None:
                out[account] = self.one(account.resource, permission)
            else:
                alike.setdefault(key, []).append(account)
        for group in alike.values():
            first, *others = group
            answers = self.one(first.resource, permission)
            out[first] = answers
            for account in others:
                out[account] = tuple(a.said_of(account.resource) for a in answers)
        return out


def _deny_named(index: GcpIndex) -> set[str]:
    """The users, groups and service accounts a deny rule names (denied or excepted)."""
    uids = {p.native_id: p.id for p in index.principals.values() if p.native_id}
    out: set[str] = set()
    for policy in index.policies.values():
        if policy.kind is not PolicyKind.GCP_DENY:
            continue
        for wrapper in policy.document.get("rules") or ():
            rule = wrapper.get("denyRule") if isinstance(wrapper, dict) else None
            if not isinstance(rule, dict):
                continue
            for entry in (*(rule.get("deniedPrincipals") or ()), *(rule.get("exceptionPrincipals") or ())):
                text = str(entry)
                if text.startswith("principal://goog/subject/"):
                    out.add("user:" + text.removeprefix("principal://goog/subject/").lower())
                elif text.startswith("principalSet://goog/group/"):
                    out.add("group:" + text.removeprefix("principalSet://goog/group/").lower())
                elif "/serviceAccounts/" in text:
                    ident = text.rsplit("/", 1)[1]
                    out.add(uids.get(ident, "serviceAccount:" + ident.lower()))
    return out


def _membership_edges(g: _Estate, edges: Sequence[Edge]) -> list[Edge]:
    """``USER -> domain:D`` for the users a domain that is the source of an edge stands for."""
    out: list[Edge] = []
    for domain in sorted({e.source for e in edges if e.source.startswith("domain:")}):
        for user in g.asker.domain_users(domain.removeprefix("domain:")):
            fact = Fact(
                what=f"{user} is a user of {domain}: it is granted what {domain} is (no deny rule names it)",
                source=f"snapshot {g.estate.snapshot.id}: principal {user}",
            )
            out.append(Edge(source=user, target=domain, cloud=Cloud.GCP, mechanism=MEMBER_OF, facts=(fact,)))
    return out


def _alike(index: GcpIndex, target: Target) -> tuple[object, ...] | None:
    """What decides every answer about a service account with no policy of its own: its
    ancestry, the gaps and notes about it and its request attributes (None: it has a policy)."""
    own = target.nodes[0]
    if index.attached.get((own, AttachmentKind.BINDING)) or index.attached.get((own, AttachmentKind.DENY)):
        return None
    return (target.nodes[1:], target.gaps, target.notes, target.name, target.type, target.service)


def _bindings(index: GcpIndex, node: str) -> Iterable[Mapping[str, Any]]:
    for pid in index.attached.get((node, AttachmentKind.BINDING), ()):
        yield from index.policies[pid].document.get("bindings") or ()


def _canonical(member: str) -> str:
    """A member string with its email or domain part lower-cased (as IAM compares them)."""
    prefix, sep, value = member.partition(":")
    if sep and prefix in ("user", "group", "serviceAccount", "domain"):
        return f"{prefix}:{value.lower()}"
    return member


__all__ = ["find_admins", "find_edges"]

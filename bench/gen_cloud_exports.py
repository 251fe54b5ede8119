"""Generate large Google Cloud and Azure export sets for benchmarks (deterministic, seeded).

``python bench/gen_cloud_exports.py OUT_DIR`` writes OUT_DIR/gcp/ and OUT_DIR/azure/ in the export-file formats
of the demo estates (fixtures/demo/gcp, fixtures/demo/azure; formats 1 and 3-18 of the iamdrift export contract):
each file is what one ``gcloud ... --format=json`` / ``az ... -o json`` invocation prints.

What the counts mean:

- ``projects``: projects in ``projects-list.json``, spread over folders (two levels) under one organization.
- ``service_accounts``: service accounts over all ``service-accounts list`` files; the first ``projects`` of them
  are the projects' default compute service accounts. About 30% have a ``keys list`` file (one system-managed key
  and one or two user-managed keys, most never expiring); the others have no keys file.
- ``bindings``: binding entries (one role, its members, an optional condition) over all IAM policies in the Cloud
  Asset export: ~90% on projects, ~7% on folders, ~1% on the organization, ~2% on service accounts' own policies;
  ~5% carry a condition (more where one policy has more bindings than there are roles: each
  (role, condition) pair is unique in a policy). Each role in use has a ``roles describe`` file; a few deny policies.
- ``subscriptions``: subscriptions in ``accounts.json``, spread over management groups.
- ``assignments``: distinct role assignment ids over all ``role assignment list --all`` files (~1% at management
  group scope, which every subscription below lists again; ~10% subscription, ~55% resource group, the rest
  resource scope; ~3% ABAC-conditional).

Role permissions come from the shared iam-dataset snapshot (``../shared/data`` or $IAMDRIFT_SHARED_DATA), read
at generation time (the repository does not copy it). Generation takes a few seconds at the default size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("IAMDRIFT_SHARED_DATA", REPO.parent / "shared" / "data"))
NEVER = "9999-12-31T23:59:59Z"
GITHUB = "https://token.actions.githubusercontent.com"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
ORG = "900000000001"
TENANT = "0b6c4f9e-5d2a-4c1b-8e7f-3a9d2c1b0e4f"
DOMAIN = "bench.example.com"
AUTH = "providers/Microsoft.Authorization"
UAI = "Microsoft.ManagedIdentity/userAssignedIdentities"
EVERYONE = "00000000-0000-0000-0000-000000000000"
GCP_ROLES = """storage.objectViewer storage.objectCreator storage.objectAdmin storage.admin storage.legacyBucketReader
    bigquery.dataViewer bigquery.dataEditor bigquery.jobUser bigquery.user bigquery.dataOwner pubsub.publisher
    pubsub.subscriber pubsub.viewer pubsub.editor logging.viewer logging.logWriter monitoring.viewer
    monitoring.metricWriter secretmanager.secretAccessor secretmanager.viewer cloudkms.cryptoKeyEncrypterDecrypter
    cloudkms.viewer cloudsql.client cloudsql.viewer run.invoker run.viewer run.developer cloudfunctions.invoker
    cloudfunctions.viewer artifactregistry.reader artifactregistry.writer iam.serviceAccountUser
    iam.serviceAccountTokenCreator iam.workloadIdentityUser iam.serviceAccountKeyAdmin iam.roleViewer
    resourcemanager.projectIamAdmin resourcemanager.folderViewer browser dataflow.worker dataflow.viewer
    errorreporting.writer cloudtrace.agent datastore.user datastore.viewer spanner.databaseReader dns.reader
    cloudscheduler.viewer cloudtasks.enqueuer compute.osLogin"""
SA_ROLES = ["roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser"]
DENIED = [
    "iam.googleapis.com/serviceAccountKeys.create",
    "iam.googleapis.com/serviceAccounts.delete",
    "cloudresourcemanager.googleapis.com/projects.delete",
    "storage.googleapis.com/buckets.delete",
]
RESOURCE_TYPES = [
    ("Microsoft.Compute/virtualMachines", None),
    ("Microsoft.Web/sites", "app,linux"),
    ("Microsoft.Web/sites", "functionapp,linux"),
    ("Microsoft.Storage/storageAccounts", "StorageV2"),
    ("Microsoft.KeyVault/vaults", None),
    ("Microsoft.Sql/servers", "v12.0"),
]
BLOB_CONDITION = (
    "((!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'}})) OR "
    "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '{}'))"
)

Json = dict[str, Any]


def dump(path: Path, content: Any) -> None:
    """What gcloud --format=json and az -o json print: sorted keys, two-space indent."""
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def day(rng: random.Random, first: int = 2019, last: int = 2025) -> str:
    return f"{rng.randint(first, last)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def clock(rng: random.Random, when: str) -> str:
    return f"{when}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def split(total: int, shares: list[float]) -> list[int]:
    """Split total into parts by shares (the last part takes the rest); every part >= 0."""
    parts = [int(total * s) for s in shares[:-1]]
    return [*parts, total - sum(parts)]


def spread(total: int, buckets: int) -> list[int]:
    """total items over buckets, as evenly as possible."""
    return [total // buckets + (1 if i < total % buckets else 0) for i in range(buckets)]


# --------------------------------------------------------------------------- role data


AZURE_ROLES = [
    "Owner", "Contributor", "Reader", "User Access Administrator", "Role Based Access Control Administrator",
    "Storage Blob Data Reader", "Storage Blob Data Contributor", "Storage Blob Data Owner",
    "Storage Account Contributor", "Key Vault Secrets User", "Key Vault Secrets Officer", "Key Vault Reader",
    "Website Contributor", "Managed Identity Operator", "Managed Identity Contributor", "Monitoring Reader",
    "Log Analytics Reader", "AcrPull", "AcrPush", "Network Contributor",
]  # fmt: skip


def _shared(name: str) -> Any:
    path = DATA / name
    if not path.exists():
        raise SystemExit(f"{path} not found: set IAMDRIFT_SHARED_DATA to the directory holding the iam-dataset files")
    with gzip.open(path, "rt") as f:
        return json.load(f)


def gcp_roles() -> dict[str, Json]:
    """Predefined roles in use: role name -> {"title", "stage", "includedPermissions"}."""
    dataset = _shared("gcp-predefined-roles.json.gz")
    return {f"roles/{n}": dataset[f"roles/{n}"] for n in GCP_ROLES.split()}


def azure_roles() -> list[Json]:
    """The built-in role definitions in use, as `az role definition list` prints them (without "id")."""
    by_name = {r["roleName"]: r for r in _shared("azure-built-in-roles.json.gz")}
    return [by_name[name] for name in AZURE_ROLES]


# --------------------------------------------------------------------------- Google Cloud


class GcpEstate:
    """The organization's hierarchy and service accounts, built once and shared by the writers."""

    def __init__(self, rng: random.Random, projects: int, service_accounts: int) -> None:
        self.rng = rng
        n_folders = max(2, projects // 20)
        n_top = max(1, n_folders // 3)
        self.folders = [str(300000000000 + k) for k in range(n_folders)]
        self.folder_parent = {
            f: f"organizations/{ORG}" if k < n_top else f"folders/{self.folders[k % n_top]}"
            for k, f in enumerate(self.folders)
        }
        self.projects = [f"bench-p{p:05d}" for p in range(projects)]
        self.numbers = {pid: str(400000000000 + p) for p, pid in enumerate(self.projects)}
        self.project_folder = {pid: self.folders[p % n_folders] for p, pid in enumerate(self.projects)}
        self.sas: dict[str, list[str]] = {pid: [] for pid in self.projects}
        self.unique: dict[str, str] = {}
        self.project_of: dict[str, str] = {}
        for i in range(service_accounts):
            pid = self.projects[i % projects]
            if i < projects:
                email = f"{self.numbers[pid]}-compute@developer.gserviceaccount.com"
            else:
                email = f"sa-{i}@{pid}.iam.gserviceaccount.com"
            self.sas[pid].append(email)
            self.unique[email] = str(100000000000000000000 + i)
            self.project_of[email] = pid
        self.pools = {pid: "github" for p, pid in enumerate(self.projects) if p % 25 == 0}
        self.pools |= {pid: "aws" for p, pid in enumerate(self.projects) if p % 50 == 10}

    def ancestors_of_folder(self, folder: str) -> list[str]:
        chain = [f"folders/{folder}"]
        while (parent := self.folder_parent[chain[-1].split("/")[1]]).startswith("folders/"):
            chain.append(parent)
        return [*chain, f"organizations/{ORG}"]

    def ancestors(self, pid: str) -> list[str]:
        return [f"projects/{self.numbers[pid]}", *self.ancestors_of_folder(self.project_folder[pid])]

    def pool_set(self, pid: str) -> str:
        pool = f"projects/{self.numbers[pid]}/locations/global/workloadIdentityPools/{self.pools[pid]}"
        return f"principalSet://iam.googleapis.com/{pool}/*"


def gcp_member(rng: random.Random, estate: GcpEstate, pid: str) -> str:
    r = rng.random()
    if r < 0.60:
        return "serviceAccount:" + rng.choice(estate.sas[pid])
    if r < 0.85:
        return f"user:user{rng.randrange(2000)}@{DOMAIN}"
    if r < 0.95:
        return f"group:group{rng.randrange(200)}@{DOMAIN}"
    if r < 0.99:
        return "serviceAccount:" + rng.choice(estate.sas[rng.choice(estate.projects)])
    return rng.choice([f"domain:{DOMAIN}", "allAuthenticatedUsers", "allUsers"])


def gcp_condition(rng: random.Random, j: int) -> Json:
    kind = rng.randrange(3)
    if kind == 0:
        expression = f'request.time < timestamp("{rng.randint(2024, 2027)}-{rng.randint(1, 12):02d}-01T00:00:00Z")'
    elif kind == 1:
        expression = f'resource.name.startsWith("projects/_/buckets/bucket-{rng.randrange(1000)}/objects/")'
    else:
        expression = 'resource.type == "storage.googleapis.com/Bucket"'
    return {"title": f"cond-{j}", "expression": expression}


def gcp_policy(rng: random.Random, roles: list[str], count: int, members: Any) -> Json:
    """count bindings with distinct (role, condition): beyond len(roles) bindings, each gets a condition."""
    offset = rng.randrange(len(roles))
    bindings = []
    for j in range(count):
        b: Json = {"role": roles[(offset + j) % len(roles)], "members": sorted({members() for _ in range(3)})}
        b["members"] = b["members"][: rng.randint(1, len(b["members"]))]
        if j >= len(roles) or rng.random() < 0.05:
            b["condition"] = gcp_condition(rng, j)
        bindings.append(b)
    version = 3 if any("condition" in b for b in bindings) else 1
    return {"version": version, "bindings": bindings, "etag": "Bw" + format(rng.getrandbits(40), "010x")}


def generate_gcp(out: Path, rng: random.Random, projects: int, service_accounts: int, bindings: int) -> str:
    """Write the organization's files into out; returns the first project's scope id (for a who-can question)."""
    out.mkdir(parents=True, exist_ok=True)
    estate = GcpEstate(rng, projects, service_accounts)
    predefined = gcp_roles()
    custom = {
        f"organizations/{ORG}/roles/benchRole{k}": sorted(
            rng.sample(sorted({p for r in predefined.values() for p in r["includedPermissions"]}), 12)
        )
        for k in range(5)
    }
    scope_roles = [r for r in [*predefined, *custom] if r not in SA_ROLES]
    n_org, n_folder, n_sa, n_project = split(bindings, [0.01, 0.07, 0.02, 0.90])
    rm = "//cloudresourcemanager.googleapis.com"
    assets: list[Json] = []

    def add(name: str, asset_type: str, ancestors: list[str], policy: Json) -> None:
        assets.append({"name": name, "assetType": asset_type, "iamPolicy": policy, "ancestors": ancestors})

    any_project = lambda: rng.choice(estate.projects)  # noqa: E731
    org_members = lambda: gcp_member(rng, estate, any_project())  # noqa: E731
    org_ancestors = [f"organizations/{ORG}"]
    add(
        f"{rm}/organizations/{ORG}",
        "cloudresourcemanager.googleapis.com/Organization",
        org_ancestors,
        gcp_policy(rng, scope_roles, n_org, org_members),
    )
    for folder, count in zip(estate.folders, spread(n_folder, len(estate.folders)), strict=True):
        policy = gcp_policy(rng, scope_roles, count, org_members)
        add(
            f"{rm}/folders/{folder}",
            "cloudresourcemanager.googleapis.com/Folder",
            estate.ancestors_of_folder(folder),
            policy,
        )
    for pid, count in zip(estate.projects, spread(n_project, projects), strict=True):
        policy = gcp_policy(rng, scope_roles, count, lambda pid=pid: gcp_member(rng, estate, pid))
        add(
            f"{rm}/projects/{estate.numbers[pid]}",
            "cloudresourcemanager.googleapis.com/Project",
            estate.ancestors(pid),
            policy,
        )
    own = [e for pid in estate.projects for e in estate.sas[pid][1:]] or [e for s in estate.sas.values() for e in s]
    holders = rng.sample(own, min(len(own), -(-n_sa // len(SA_ROLES)))) if n_sa else []
    for email, count in zip(holders, spread(n_sa, len(holders)) if holders else [], strict=True):
        pid = estate.project_of[email]
        pool = estate.pool_set(pid) if pid in estate.pools else None

        def sa_member(pid: str = pid, pool: str | None = pool) -> str:
            return pool if pool and rng.random() < 0.3 else gcp_member(rng, estate, pid)

        add(
            f"//iam.googleapis.com/projects/{pid}/serviceAccounts/{estate.unique[email]}",
            "iam.googleapis.com/ServiceAccount",
            estate.ancestors(pid),
            gcp_policy(rng, SA_ROLES, count, sa_member),
        )
    with (out / f"organization-{ORG}-iam-policy-export.ndjson").open("w") as f:
        for asset in assets:
            asset["updateTime"] = clock(rng, day(rng, 2024, 2025))
            f.write(json.dumps(asset, sort_keys=True, separators=(",", ":")) + "\n")

    used = sorted({b["role"] for a in assets for b in a["iamPolicy"]["bindings"]})
    for role in used:
        if role in custom:
            described = {
                "name": role,
                "title": role.rsplit("/", 1)[1],
                "stage": "GA",
                "includedPermissions": custom[role],
            }
        else:
            described = {
                "name": role,
                **predefined[role],
                "includedPermissions": sorted(predefined[role]["includedPermissions"]),
            }
        dump(out / f"role-{role.replace('/', '_')}.json", {**described, "etag": "AA=="})

    dump(
        out / "organizations-list.json",
        [
            {
                "name": f"organizations/{ORG}",
                "displayName": DOMAIN,
                "lifecycleState": "ACTIVE",
                "owner": {"directoryCustomerId": "C0bench00"},
            }
        ],
    )
    parents = sorted(set(estate.folder_parent.values()))
    for parent in parents:
        listed = [
            {"name": f"folders/{f}", "displayName": f"folder-{f[-4:]}", "parent": parent, "lifecycleState": "ACTIVE"}
            for f in estate.folders
            if estate.folder_parent[f] == parent
        ]
        dump(out / f"folders-list-{parent.replace('/', '-')}.json", listed)
    dump(
        out / "projects-list.json",
        [
            {
                "projectId": pid,
                "projectNumber": estate.numbers[pid],
                "name": pid,
                "lifecycleState": "ACTIVE",
                "parent": {"type": "folder", "id": estate.project_folder[pid]},
            }
            for pid in estate.projects
        ],
    )

    for pid in estate.projects:
        listed = []
        for email in estate.sas[pid]:
            entry = {
                "name": f"projects/{pid}/serviceAccounts/{email}",
                "projectId": pid,
                "email": email,
                "uniqueId": estate.unique[email],
                "displayName": email.split("@")[0],
                "etag": "MDEwMjE5MjA=",
            }
            if rng.random() < 0.02:
                entry["disabled"] = True
            listed.append(entry)
            if rng.random() < 0.30:
                dump(out / f"keys-{email}.json", gcp_keys(rng, pid, email))
        dump(out / f"{pid}-service-accounts.json", listed)
        vms = []
        for v in range(rng.randint(1, 3)):
            zone = f"https://www.googleapis.com/compute/v1/projects/{pid}/zones/us-central1-{'abc'[v % 3]}"
            account = estate.sas[pid][0] if rng.random() < 0.5 else rng.choice(estate.sas[pid])
            vms.append(
                {
                    "name": f"vm-{v}",
                    "id": str(rng.getrandbits(63)),
                    "zone": zone,
                    "status": "RUNNING",
                    "selfLink": f"{zone}/instances/vm-{v}",
                    "kind": "compute#instance",
                    "serviceAccounts": [{"email": account, "scopes": [CLOUD_PLATFORM]}],
                }
            )
        dump(out / f"{pid}-compute-instances.json", vms)
        if pid in estate.pools:
            write_pool(out, estate, pid, rng)

    targets = [f"organizations%2F{ORG}", *(f"folders%2F{f}" for f in estate.folders)]
    for k in range(max(1, projects // 100)):
        target = targets[k % len(targets)]
        rule = {
            "deniedPrincipals": ["principalSet://goog/public:all"],
            "exceptionPrincipals": [f"principalSet://goog/group/break-glass@{DOMAIN}"],
            "deniedPermissions": [DENIED[k % len(DENIED)]],
        }
        if k % 2:
            rule["denialCondition"] = {"expression": "resource.matchTag('bench/env', 'prod')", "title": "prod only"}
        dump(
            out / f"deny-policy-{k}.json",
            {
                "name": f"policies/cloudresourcemanager.googleapis.com%2F{target}/denypolicies/bench-deny-{k}",
                "uid": guid(rng),
                "kind": "DenyPolicy",
                "displayName": f"bench deny {k}",
                "etag": "ZZ==",
                "createTime": clock(rng, day(rng, 2024, 2025)),
                "rules": [{"denyRule": rule}],
            },
        )
    return f"projects/{estate.projects[0]}"


def gcp_keys(rng: random.Random, pid: str, email: str) -> list[Json]:
    prefix = f"projects/{pid}/serviceAccounts/{email}/keys/"
    after = clock(rng, day(rng, 2025, 2025))
    keys = [
        {
            "name": prefix + format(rng.getrandbits(160), "040x"),
            "keyType": "SYSTEM_MANAGED",
            "keyAlgorithm": "KEY_ALG_RSA_2048",
            "keyOrigin": "GOOGLE_PROVIDED",
            "validAfterTime": after,
            "validBeforeTime": str(int(after[:4]) + 2) + after[4:],
        }
    ]
    for _ in range(rng.randint(1, 2)):
        created = day(rng)
        expires = NEVER if rng.random() < 0.7 else clock(rng, f"{int(created[:4]) + 1}{created[4:]}")
        key = {
            "name": prefix + format(rng.getrandbits(160), "040x"),
            "keyType": "USER_MANAGED",
            "keyAlgorithm": "KEY_ALG_RSA_2048",
            "keyOrigin": "GOOGLE_PROVIDED",
            "validAfterTime": clock(rng, created),
            "validBeforeTime": expires,
        }
        if rng.random() < 0.1:
            key["disabled"] = True
        keys.append(key)
    return keys


def write_pool(out: Path, estate: GcpEstate, pid: str, rng: random.Random) -> None:
    pool = f"projects/{estate.numbers[pid]}/locations/global/workloadIdentityPools/{estate.pools[pid]}"
    dump(
        out / f"{pid}-workload-identity-pools.json",
        [{"name": pool, "state": "ACTIVE", "displayName": estate.pools[pid]}],
    )
    if estate.pools[pid] == "github":
        provider = {
            "name": f"{pool}/providers/github",
            "state": "ACTIVE",
            "oidc": {"issuerUri": GITHUB},
            "attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
        }
        if rng.random() < 0.7:
            provider["attributeCondition"] = f"assertion.repository == 'bench/repo-{rng.randrange(100)}'"
    else:
        provider = {
            "name": f"{pool}/providers/aws",
            "state": "ACTIVE",
            "aws": {"accountId": f"{rng.randrange(10**12):012d}"},
            "attributeMapping": {"google.subject": "assertion.arn"},
        }
    dump(out / f"{pid}-{estate.pools[pid]}-providers.json", [provider])


# --------------------------------------------------------------------------- Azure


class AzureEstate:
    """Management groups, subscriptions, resource groups, resources, identities and principals."""

    def __init__(self, rng: random.Random, subscriptions: int, assignments: int) -> None:
        self.rng = rng
        self.mgs = [f"bench-mg-{k}" for k in range(max(1, subscriptions // 10))]
        self.subs = [(f"bench-sub-{s:03d}", guid(rng)) for s in range(subscriptions)]
        self.sub_mg = {sid: self.mgs[s % len(self.mgs)] for s, (_, sid) in enumerate(self.subs)}
        self.groups = {sid: [f"rg-{s}-{r}" for r in range(5)] for s, (_, sid) in enumerate(self.subs)}
        self.identities: dict[str, list[Json]] = {}
        self.resources: dict[str, list[Json]] = {}
        self.principals: list[tuple[str, str, str]] = []  # (object id, principalType, name)
        self.managed: list[Json] = []  # service principal entries of managed identities
        for name, sid in self.subs:
            self.build_subscription(name, sid)
        self.users = [(guid(rng), "User", f"user{u}@{DOMAIN}") for u in range(max(10, assignments // 40))]
        self.aad_groups = [(guid(rng), "Group", f"group-{g}") for g in range(max(5, assignments // 200))]
        self.apps = [(guid(rng), "ServicePrincipal", f"app-{a}") for a in range(max(5, assignments // 100))]

    def build_subscription(self, name: str, sid: str) -> None:
        rng, rgs = self.rng, self.groups[sid]
        idents = []
        for i in range(4):
            rid = f"/subscriptions/{sid}/resourceGroups/{rgs[0]}/providers/{UAI}/id-{name}-{i}"
            ident = {
                "id": rid,
                "name": f"id-{name}-{i}",
                "type": UAI,
                "location": "eastus",
                "resourceGroup": rgs[0],
                "principalId": guid(rng),
                "clientId": guid(rng),
                "tenantId": TENANT,
            }
            idents.append(ident)
            self.managed.append(self.managed_sp(ident["principalId"], ident["clientId"], ident["name"], rid, True))
        self.identities[sid] = idents
        resources = [resource(sid, rgs[0], UAI, i["name"], None, None) for i in idents]
        for r in range(40):
            rtype, kind = RESOURCE_TYPES[r % len(RESOURCE_TYPES)]
            rg = rgs[r % len(rgs)]
            rname = f"{rtype.split('/')[1][:4].lower()}-{name}-{r}"
            identity = None
            system, user = rng.random() < 0.4, rng.random() < 0.2
            if system or user:
                identity = {"type": ", ".join(["SystemAssigned"] * system + ["UserAssigned"] * user)}
                if system:
                    identity |= {"principalId": guid(rng), "tenantId": TENANT}
                if user:
                    chosen = rng.choice(idents)
                    identity["userAssignedIdentities"] = {
                        chosen["id"]: {"principalId": chosen["principalId"], "clientId": chosen["clientId"]}
                    }
            res = resource(sid, rg, rtype, rname, kind, identity)
            resources.append(res)
            if system:
                self.managed.append(self.managed_sp(identity["principalId"], guid(rng), rname, res["id"], False))
        self.resources[sid] = resources

    def managed_sp(self, object_id: str, app_id: str, name: str, rid: str, explicit: bool) -> Json:
        self.principals.append((object_id, "ServicePrincipal", name))
        return sp(object_id, app_id, name, "ManagedIdentity", [f"isExplicit={explicit}", rid], [], [])


def resource(sid: str, rg: str, rtype: str, name: str, kind: str | None, identity: Json | None) -> Json:
    return {
        "id": f"/subscriptions/{sid}/resourceGroups/{rg}/providers/{rtype}/{name}",
        "name": name,
        "type": rtype,
        "kind": kind,
        "location": "eastus",
        "resourceGroup": rg,
        "identity": identity,
        "tags": {},
    }


def sp(object_id: str, app_id: str, name: str, sp_type: str, alt: list[str], pw: list[Json], kc: list[Json]) -> Json:
    return {
        "id": object_id,
        "appId": app_id,
        "displayName": name,
        "servicePrincipalType": sp_type,
        "appOwnerOrganizationId": TENANT if sp_type == "Application" else None,
        "alternativeNames": alt,
        "accountEnabled": True,
        "passwordCredentials": pw,
        "keyCredentials": kc,
    }


def app_credentials(rng: random.Random, name: str) -> tuple[list[Json], list[Json]]:
    pw, kc = [], []
    if rng.random() < 0.5:
        start = day(rng, 2020, 2025)
        end = "2299-12-31T00:00:00Z" if rng.random() < 0.1 else clock(rng, f"{int(start[:4]) + 2}{start[4:]}")
        pw.append(
            {
                "keyId": guid(rng),
                "displayName": f"{name}-secret",
                "hint": name[:3],
                "startDateTime": clock(rng, start),
                "endDateTime": end,
                "customKeyIdentifier": None,
            }
        )
    if rng.random() < 0.3:
        start = day(rng, 2020, 2025)
        kc.append(
            {
                "keyId": guid(rng),
                "displayName": f"CN={name}",
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "startDateTime": clock(rng, start),
                "endDateTime": clock(rng, f"{int(start[:4]) + 1}{start[4:]}"),
                "customKeyIdentifier": format(rng.getrandbits(160), "040X"),
                "key": None,
            }
        )
    return pw, kc


def generate_azure(out: Path, rng: random.Random, subscriptions: int, assignments: int) -> str:
    """Write the tenant's files into out; returns a storage account's ARM id (for a who-can question)."""
    out.mkdir(parents=True, exist_ok=True)
    estate = AzureEstate(rng, subscriptions, assignments)
    builtins = azure_roles()
    custom = [
        {
            "roleName": f"Bench Custom {k}",
            "name": guid(rng),
            "roleType": "CustomRole",
            "type": "Microsoft.Authorization/roleDefinitions",
            "description": f"bench custom role {k}",
            "assignableScopes": [f"/subscriptions/{sid}" for _, sid in estate.subs],
            "permissions": [
                {
                    "actions": [f"Microsoft.Web/sites/{verb}" for verb in ("read", "write")][: 1 + k % 2],
                    "notActions": [],
                    "dataActions": [],
                    "notDataActions": [],
                    "condition": None,
                    "conditionVersion": None,
                }
            ],
        }
        for k in range(3)
    ]
    first = estate.subs[0][1]
    dump(
        out / "role-definitions.json",
        [{**r, "id": f"/subscriptions/{first}/{AUTH}/roleDefinitions/{r['name']}"} for r in [*builtins, *custom]],
    )
    reader = next(r for r in builtins if r["roleName"] == "Storage Blob Data Reader")
    people = estate.users + estate.aad_groups + estate.apps + estate.principals
    by_scope: dict[str, list[Json]] = {sid: [] for _, sid in estate.subs}
    inherited: dict[str, list[Json]] = {mg: [] for mg in estate.mgs}
    n_mg, n_sub, n_rg, n_res = split(assignments, [0.01, 0.10, 0.55, 0.34])
    kinds = ["mg"] * n_mg + ["sub"] * n_sub + ["rg"] * n_rg + ["res"] * n_res
    for kind in kinds:
        sid = rng.choice(estate.subs)[1]
        if kind == "mg":
            scope = f"/providers/Microsoft.Management/managementGroups/{estate.sub_mg[sid]}"
        elif kind == "sub":
            scope = f"/subscriptions/{sid}"
        elif kind == "rg":
            scope = f"/subscriptions/{sid}/resourceGroups/{rng.choice(estate.groups[sid])}"
        else:
            scope = rng.choice(estate.resources[sid])["id"]
        role = rng.choice(custom) if kind != "mg" and rng.random() < 0.05 else rng.choice(builtins)
        condition = None
        if kind == "res" and "Microsoft.Storage/storageAccounts/" in scope and rng.random() < 0.15:
            role, condition = reader, BLOB_CONDITION.format(f"container-{rng.randrange(50)}")
        principal, ptype, pname = rng.choice(people)
        name = guid(rng)
        entry = {
            "id": f"{scope}/{AUTH}/roleAssignments/{name}",
            "name": name,
            "principalId": principal,
            "principalName": pname,
            "principalType": ptype,
            "roleDefinitionName": role["roleName"],
            "roleDefinitionId": f"/{AUTH}/roleDefinitions/{role['name']}",
            "scope": scope,
            "condition": condition,
            "conditionVersion": "2.0" if condition else None,
            "type": "Microsoft.Authorization/roleAssignments",
        }
        (inherited[estate.sub_mg[sid]] if kind == "mg" else by_scope[sid]).append(entry)
    for name, sid in estate.subs:
        listed = [
            {**a, "roleDefinitionId": f"/subscriptions/{sid}{a['roleDefinitionId']}"}
            for a in inherited[estate.sub_mg[sid]] + by_scope[sid]
        ]
        dump(out / f"{name}-role-assignments.json", listed)
        dump(
            out / f"{name}-resource-groups.json",
            [
                {
                    "id": f"/subscriptions/{sid}/resourceGroups/{rg}",
                    "name": rg,
                    "location": "eastus",
                    "type": "Microsoft.Resources/resourceGroups",
                    "properties": {"provisioningState": "Succeeded"},
                }
                for rg in estate.groups[sid]
            ],
        )
        dump(out / f"{name}-resources.json", estate.resources[sid])
        dump(out / f"{name}-identities.json", estate.identities[sid])
        for i, ident in enumerate(estate.identities[sid]):
            if i % 2 == 0:
                subject = f"repo:bench/repo-{rng.randrange(100)}:ref:refs/heads/main"
                if rng.random() < 0.1:
                    subject = f"repo:bench/repo-{rng.randrange(100)}:pull_request"
                dump(
                    out / f"federated-credentials-{ident['name']}.json",
                    [
                        {
                            "id": f"{ident['id']}/federatedIdentityCredentials/github",
                            "name": "github",
                            "issuer": GITHUB,
                            "subject": subject,
                            "audiences": ["api://AzureADTokenExchange"],
                            "resourceGroup": ident["resourceGroup"],
                            "type": f"{UAI}/federatedIdentityCredentials",
                        }
                    ],
                )
        if int(name.rsplit("-", 1)[1]) % 10 == 0:
            deny = guid(rng)
            props = {
                "denyAssignmentName": f"bench deny {name}",
                "scope": f"/subscriptions/{sid}",
                "permissions": [
                    {
                        "actions": ["Microsoft.Storage/storageAccounts/delete"],
                        "notActions": [],
                        "dataActions": [],
                        "notDataActions": [],
                    }
                ],
                "principals": [{"id": EVERYONE, "type": "SystemDefined"}],
                "excludePrincipals": [{"id": estate.apps[0][0], "type": "ServicePrincipal"}],
                "doNotApplyToChildScopes": False,
                "isSystemProtected": True,
            }
            dump(
                out / f"{name}-deny-assignments.json",
                {
                    "value": [
                        {
                            "id": f"/subscriptions/{sid}/{AUTH}/denyAssignments/{deny}",
                            "name": deny,
                            "type": "Microsoft.Authorization/denyAssignments",
                            "properties": props,
                        }
                    ]
                },
            )
    apps = [sp(oid, guid(rng), name, "Application", [], *app_credentials(rng, name)) for oid, _, name in estate.apps]
    dump(out / "service-principals.json", apps + estate.managed)
    dump(
        out / "accounts.json",
        [
            {
                "id": sid,
                "name": name,
                "tenantId": TENANT,
                "homeTenantId": TENANT,
                "state": "Enabled",
                "isDefault": sid == first,
                "cloudName": "AzureCloud",
            }
            for name, sid in estate.subs
        ],
    )
    mg_type = "Microsoft.Management/managementGroups"
    children = [
        {
            "id": f"/providers/Microsoft.Management/managementGroups/{mg}",
            "name": mg,
            "displayName": mg,
            "type": mg_type,
            "children": [
                {
                    "id": f"/subscriptions/{sid}",
                    "name": sid,
                    "displayName": name,
                    "type": "/subscriptions",
                    "children": None,
                }
                for name, sid in estate.subs
                if estate.sub_mg[sid] == mg
            ]
            or None,
        }
        for mg in estate.mgs
    ]
    dump(
        out / "management-groups.json",
        {
            "id": f"/providers/Microsoft.Management/managementGroups/{TENANT}",
            "name": TENANT,
            "tenantId": TENANT,
            "displayName": "Tenant Root Group",
            "type": mg_type,
            "children": children,
        },
    )
    storage = (r["id"] for rs in estate.resources.values() for r in rs if r["type"] == RESOURCE_TYPES[3][0])
    return next(storage)


# --------------------------------------------------------------------------- entry points


def generate(
    out_dir: Path | str,
    projects: int = 500,
    service_accounts: int = 5000,
    bindings: int = 20000,
    subscriptions: int = 50,
    assignments: int = 20000,
    seed: int = 0,
) -> dict[str, Any]:
    """Write OUT_DIR/gcp/ and OUT_DIR/azure/ (see the module docstring for what the counts mean).

    Returns the counts asked for and, under "who_can", one question per cloud for a benchmark:
    cloud -> (permission, resource): a project scope id for Google Cloud, a storage account's ARM id for Azure."""
    if projects < 1 or service_accounts < projects or subscriptions < 1 or bindings < 0 or assignments < 0:
        raise ValueError("need projects >= 1, service_accounts >= projects, subscriptions >= 1")
    out = Path(out_dir)
    project = generate_gcp(out / "gcp", random.Random(f"gcp-{seed}"), projects, service_accounts, bindings)
    storage = generate_azure(out / "azure", random.Random(f"azure-{seed}"), subscriptions, assignments)
    counts = {"projects": projects, "service_accounts": service_accounts, "bindings": bindings}
    counts |= {"subscriptions": subscriptions, "assignments": assignments}
    who_can = {"gcp": ("storage.buckets.get", project), "azure": ("Microsoft.Storage/storageAccounts/read", storage)}
    return {**counts, "who_can": who_can}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--service-accounts", type=int, default=5000)
    parser.add_argument("--bindings", type=int, default=20000)
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--assignments", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(
        args.out, args.projects, args.service_accounts, args.bindings, args.subscriptions, args.assignments, args.seed
    )


if __name__ == "__main__":
    main()

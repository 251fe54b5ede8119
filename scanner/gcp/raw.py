"""Raw Google Cloud answers, in the JSON shapes gcloud prints with ``--format=json``, before normalization.

Export files and the live collector both produce a :class:`GcpRaw`, so one normalizer serves both. The
live collector converts API messages into the same camelCase JSON (``MessageToDict``), and Resource
Manager v3 projects into the ``gcloud projects list`` shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import CoverageEntry

JsonObject = dict[str, Any]


@dataclass(kw_only=True)
class GcpRaw:
    """Everything one Google Cloud read saw.

    - ``organizations`` / ``folders`` / ``projects``: ``gcloud organizations list``, ``gcloud
      resource-manager folders list``, ``gcloud projects list`` items (projects carry ``projectId``,
      ``projectNumber`` and ``parent: {"type", "id"}``).
    - ``ancestors``: Cloud Asset Inventory ``ancestors`` lists, keyed by their first element
      (``projects/<number>``, ``folders/<n>``): nearest first, ending at the organization.
    - ``ancestor_sets``: every ancestor of a project or folder (folders and the organization) when
      the input named them but not their order (``search-all-iam-policies`` lists a resource's
      ``folders`` as a set), keyed like ``ancestors``.
    - ``project_numbers``: project number -> project id learned from inputs other than project lists
      (``search-all-iam-policies`` names both).
    - ``iam_policies``: allow policies (IAM Policy JSON) keyed by the scope as the input named it:
      ``organizations/<n>``, ``folders/<n>``, ``projects/<id>`` or ``projects/<number>``.
    - ``resource_policies``: allow policies of resources below projects, as CAI assets
      ``{"name": "//storage.googleapis.com/b", "assetType", "iamPolicy", "ancestors"}``.
    - ``service_accounts``: ``gcloud iam service-accounts list`` items; ``keys``: key metadata per SA
      email (never ``privateKeyData``: readers drop it); ``sa_policies``: each SA's own IAM policy.
    - ``roles``: Role JSON by role name; only roles whose ``includedPermissions`` are known.
      ``listed_roles``: roles seen only without their permissions (``gcloud iam roles list`` without
      ``--view=FULL``), by name, with the file that listed them.
    - ``deny_policies``: IAM v2 deny policies (``name`` encodes the attachment point).
    - ``pools`` / ``providers``: workload identity pools and providers; ``instances``: Compute Engine;
      ``run_services``: Cloud Run services (Admin API v2 JSON, or the Knative ``serving.knative.dev/v1``
      objects ``gcloud run services list`` prints); ``functions``: Cloud Functions (v2 JSON, 1st gen
      functions included, or v1 JSON).
    - ``build_accounts``: Cloud Build default service account settings (``gcloud builds
      get-default-service-account``: ``name`` ``projects/<p>/locations/<l>/defaultServiceAccount``,
      ``serviceAccountEmail`` ``projects/<p>/serviceAccounts/<email>``, empty when builds run as none).
    - ``scheduler_jobs``: Cloud Scheduler jobs (``gcloud scheduler jobs list``: ``name``
      ``projects/<p>/locations/<l>/jobs/<j>``, ``httpTarget.oidcToken`` / ``httpTarget.oauthToken``).
    - ``composer_environments``: Cloud Composer environments (``gcloud composer environments list``:
      ``name`` ``projects/<p>/locations/<l>/environments/<e>``, ``config.nodeConfig.serviceAccount``).
    - ``clusters``: GKE clusters (``gcloud container clusters list``: ``selfLink``, ``location``,
      ``nodePools[].config.serviceAccount`` and ``oauthScopes``).
    - ``groups``: Cloud Identity groups (``gcloud identity groups describe`` objects: ``name``
      ``groups/<id>``, ``groupKey.id`` the email); ``memberships``: each group's direct memberships
      (``gcloud identity groups memberships list``), by group ``name``.
    - ``coverage``: every read (file or API call) as a :class:`CoverageEntry`; a gap is an entry whose
      status is not ``ok``.
    - ``source``: ``file`` or ``api`` (the source of coverage entries the normalizer adds).
    """

    organizations: list[JsonObject] = field(default_factory=list)
    folders: list[JsonObject] = field(default_factory=list)
    projects: list[JsonObject] = field(default_factory=list)
    ancestors: dict[str, list[str]] = field(default_factory=dict)
    ancestor_sets: dict[str, list[str]] = field(default_factory=dict)
    project_numbers: dict[str, str] = field(default_factory=dict)
    iam_policies: dict[str, JsonObject] = field(default_factory=dict)
    resource_policies: list[JsonObject] = field(default_factory=list)
    service_accounts: list[JsonObject] = field(default_factory=list)
    keys: dict[str, list[JsonObject]] = field(default_factory=dict)
    sa_policies: dict[str, JsonObject] = field(default_factory=dict)
    roles: dict[str, JsonObject] = field(default_factory=dict)
    listed_roles: dict[str, str] = field(default_factory=dict)
    deny_policies: list[JsonObject] = field(default_factory=list)
    pools: list[JsonObject] = field(default_factory=list)
    providers: list[JsonObject] = field(default_factory=list)
    instances: list[JsonObject] = field(default_factory=list)
    run_services: list[JsonObject] = field(default_factory=list)
    functions: list[JsonObject] = field(default_factory=list)
    build_accounts: list[JsonObject] = field(default_factory=list)
    scheduler_jobs: list[JsonObject] = field(default_factory=list)
    composer_environments: list[JsonObject] = field(default_factory=list)
    clusters: list[JsonObject] = field(default_factory=list)
    groups: list[JsonObject] = field(default_factory=list)
    memberships: dict[str, list[JsonObject]] = field(default_factory=dict)
    coverage: list[CoverageEntry] = field(default_factory=list)
    source: str = "file"

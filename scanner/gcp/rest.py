"""Reads of Google Cloud REST APIs that have no client library here: workload identity pools and
providers (IAM v1), Compute Engine instances, Cloud Run services (Admin API v2) and Cloud Functions
(v2, which lists 1st and 2nd gen functions), Cloud Build's default service account, Cloud Scheduler
jobs, Cloud Composer environments, GKE clusters, Cloud Identity group memberships and Cloud Asset
IAM policy and resource search, through an authorized ``requests`` session.

Answers are the REST JSON itself (the shapes gcloud prints). Error answers become the same
``google.api_core`` exceptions the client libraries raise, so the recorder classifies them alike.
Only GET is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from google.api_core import exceptions as api

from scanner.gcp.raw import JsonObject

IAM_ENDPOINT = "https://iam.googleapis.com"
COMPUTE_ENDPOINT = "https://compute.googleapis.com"
RUN_ENDPOINT = "https://run.googleapis.com"
FUNCTIONS_ENDPOINT = "https://cloudfunctions.googleapis.com"
IDENTITY_ENDPOINT = "https://cloudidentity.googleapis.com"
ASSET_ENDPOINT = "https://cloudasset.googleapis.com"
BUILD_ENDPOINT = "https://cloudbuild.googleapis.com"
SCHEDULER_ENDPOINT = "https://cloudscheduler.googleapis.com"
COMPOSER_ENDPOINT = "https://composer.googleapis.com"
CONTAINER_ENDPOINT = "https://container.googleapis.com"
COMPOSER_ASSET_TYPE = "composer.googleapis.com/Environment"
POLICYANALYZER_ENDPOINT = "https://policyanalyzer.googleapis.com"  # Activity Analyzer (scanner/gcp/usage.py)


@dataclass
class RestReader:
    """GETs against the REST endpoints above with ``session`` (an ``AuthorizedSession``)."""

    session: requests.Session
    iam_endpoint: str = IAM_ENDPOINT
    compute_endpoint: str = COMPUTE_ENDPOINT
    run_endpoint: str = RUN_ENDPOINT
    functions_endpoint: str = FUNCTIONS_ENDPOINT
    identity_endpoint: str = IDENTITY_ENDPOINT
    asset_endpoint: str = ASSET_ENDPOINT
    build_endpoint: str = BUILD_ENDPOINT
    scheduler_endpoint: str = SCHEDULER_ENDPOINT
    composer_endpoint: str = COMPOSER_ENDPOINT
    container_endpoint: str = CONTAINER_ENDPOINT
    policyanalyzer_endpoint: str = POLICYANALYZER_ENDPOINT
    timeout: float = 60.0

    def iam_policies(self, scope: str) -> list[JsonObject]:
        """Cloud Asset ``searchAllIamPolicies`` under ``scope`` (``organizations/N`` or
        ``projects/P``): every allow policy the caller may see, with the ``project``, ``folders``
        and ``organization`` it belongs to (the shape ``gcloud asset search-all-iam-policies`` prints)."""
        return self.pages(f"{self.asset_endpoint}/v1/{scope}:searchAllIamPolicies", "results")

    def pools(self, project: str) -> list[JsonObject]:
        """``projects.locations.workloadIdentityPools.list`` (global location)."""
        url = f"{self.iam_endpoint}/v1/projects/{project}/locations/global/workloadIdentityPools"
        return self.pages(url, "workloadIdentityPools")

    def providers(self, pool_name: str) -> list[JsonObject]:
        """``projects.locations.workloadIdentityPools.providers.list``."""
        return self.pages(f"{self.iam_endpoint}/v1/{pool_name}/providers", "workloadIdentityPoolProviders")

    def instances(self, project: str) -> list[JsonObject]:
        """``instances.aggregatedList``: every zone's instances of one project."""
        url = f"{self.compute_endpoint}/compute/v1/projects/{project}/aggregated/instances"
        out: list[JsonObject] = []
        for page in self.each_page(url, {"returnPartialSuccess": "true"}):
            for scoped in (page.get("items") or {}).values():
                out.extend(scoped.get("instances") or [])
            if page.get("unreachables"):
                raise api.ServiceUnavailable(f"{url}: unreachable zones {page['unreachables']}")  # type: ignore[no-untyped-call]
        return out

    def run_services(self, project: str) -> list[JsonObject]:
        """``projects.locations.services.list`` in every location (``locations/-``)."""
        return self.pages(f"{self.run_endpoint}/v2/projects/{project}/locations/-/services", "services")

    def functions(self, project: str) -> list[JsonObject]:
        """``projects.locations.functions.list`` in every location (``locations/-``); locations that
        could not be reached make the read fail rather than look empty."""
        url = f"{self.functions_endpoint}/v2/projects/{project}/locations/-/functions"
        out: list[JsonObject] = []
        for page in self.each_page(url, {}):
            out.extend(page.get("functions") or [])
            if page.get("unreachable"):
                raise api.ServiceUnavailable(f"{url}: unreachable locations {page['unreachable']}")  # type: ignore[no-untyped-call]
        return out

    def build_default_account(self, project: str) -> JsonObject:
        """Cloud Build ``projects.locations.getDefaultServiceAccount`` (location ``global``, as gcloud
        asks by default): ``{"name", "serviceAccountEmail"}``."""
        url = f"{self.build_endpoint}/v1/projects/{project}/locations/global/defaultServiceAccount"
        return self.get(url, {})

    def scheduler_locations(self, project: str) -> list[str]:
        """Cloud Scheduler ``projects.locations.list``: the names (``projects/P/locations/L``) of the
        locations where the project may hold jobs (``jobs.list`` takes one location at a time)."""
        listed = self.pages(f"{self.scheduler_endpoint}/v1/projects/{project}/locations", "locations")
        names = [str(loc.get("name") or "") for loc in listed]
        if not all(names):
            raise api.InternalServerError(f"locations.list {project}: a location has no name")  # type: ignore[no-untyped-call]
        return names

    def scheduler_jobs(self, location: str) -> list[JsonObject]:
        """Cloud Scheduler ``projects.locations.jobs.list`` in ``location`` (``projects/P/locations/L``)."""
        return self.pages(f"{self.scheduler_endpoint}/v1/{location}/jobs", "jobs")

    def composer_locations(self, scope: str) -> list[JsonObject]:
        """Cloud Asset ``searchAllResources`` of Composer environments under ``scope``: where they are
        (Composer's own API lists one location at a time and has no locations list)."""
        url = f"{self.asset_endpoint}/v1/{scope}:searchAllResources"
        return [
            item
            for page in self.each_page(url, {"assetTypes": COMPOSER_ASSET_TYPE})
            for item in page.get("results") or []
        ]

    def composer_environments(self, location: str) -> list[JsonObject]:
        """Cloud Composer ``projects.locations.environments.list`` in ``location`` (``projects/P/locations/L``)."""
        return self.pages(f"{self.composer_endpoint}/v1/{location}/environments", "environments")

    def clusters(self, project: str) -> list[JsonObject]:
        """GKE ``projects.locations.clusters.list`` in every location (``locations/-``), node pools
        included; zones the answer names as missing make the read fail rather than look empty."""
        url = f"{self.container_endpoint}/v1/projects/{project}/locations/-/clusters"
        answer = self.get(url, {})
        if answer.get("missingZones"):
            raise api.ServiceUnavailable(f"{url}: missing zones {answer['missingZones']}")  # type: ignore[no-untyped-call]
        return list(answer.get("clusters") or [])

    def group(self, email: str) -> JsonObject:
        """``groups.lookup`` by email, as ``gcloud identity groups describe`` names it."""
        found = self.get(f"{self.identity_endpoint}/v1/groups:lookup", {"groupKey.id": email})
        name = found.get("name")
        if not isinstance(name, str) or not name.startswith("groups/"):
            raise api.InternalServerError(f"groups.lookup {email}: the answer names no group")  # type: ignore[no-untyped-call]
        return {"name": name, "groupKey": {"id": email}}

    def memberships(self, group_name: str) -> list[JsonObject]:
        """``groups.memberships.list`` (direct members, with their types)."""
        url = f"{self.identity_endpoint}/v1/{group_name}/memberships"
        return [m for page in self.each_page(url, {"view": "FULL"}) for m in page.get("memberships") or []]

    def pages(self, url: str, key: str) -> list[JsonObject]:
        return [item for page in self.each_page(url, {}) for item in page.get(key) or []]

    def each_page(self, url: str, params: dict[str, str]) -> list[JsonObject]:
        pages: list[JsonObject] = []
        token = ""
        while True:
            query = {**params, **({"pageToken": token} if token else {})}
            pages.append(self.get(url, query))
            token = str(pages[-1].get("nextPageToken") or "")
            if not token:
                return pages

    def get(self, url: str, params: dict[str, str]) -> JsonObject:
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise api.ServiceUnavailable(f"cannot reach {url}: {exc}") from exc  # type: ignore[no-untyped-call]
        if response.status_code >= 400:
            raise api.from_http_response(response)  # type: ignore[no-untyped-call]
        data: Any = response.json()
        if not isinstance(data, dict):
            raise api.InternalServerError(f"{url}: the answer is not a JSON object")  # type: ignore[no-untyped-call]
        return data

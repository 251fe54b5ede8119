"""Which cloud a question is about, read from how its resource is written.

- Google Cloud: a full resource name (``//cloudresourcemanager.googleapis.com/projects/p``,
  ``//iam.googleapis.com/projects/p/serviceAccounts/EMAIL``, ``//storage.googleapis.com/...``) or a
  scope name (``projects/p``, ``folders/1``, ``organizations/1``).
- Azure: an ARM id (``/subscriptions/...``, ``/providers/Microsoft.Management/managementGroups/...``).
- AWS: an ARN, or ``*`` (any resource the action takes).
"""

from __future__ import annotations

from models import Cloud

GCP_PREFIXES = ("//", "projects/", "folders/", "organizations/")
AZURE_PREFIXES = ("/subscriptions/", "/providers/")


class UnknownCloud(ValueError):
    """The resource is written in no cloud's form."""


def cloud_of(resource: str) -> Cloud:
    if resource.startswith(GCP_PREFIXES):
        return Cloud.GCP
    if resource.lower().startswith(AZURE_PREFIXES) or resource == "/":
        return Cloud.AZURE
    if resource.startswith("arn:") or resource == "*":
        return Cloud.AWS
    raise UnknownCloud(
        f"{resource!r} is no resource iamdrift can place: give an AWS ARN, a Google Cloud resource name "
        "(//SERVICE.googleapis.com/..., projects/ID, folders/N, organizations/N) or an Azure resource id "
        "(/subscriptions/..., /providers/Microsoft.Management/managementGroups/...)"
    )

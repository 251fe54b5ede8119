"""Which cloud a ``can`` / ``who-can`` question is about, read from how its resource is written.

- Google Cloud: a full resource name (``//cloudresourcemanager.googleapis.com/projects/p``,
  ``//iam.googleapis.com/projects/p/serviceAccounts/EMAIL``, ``//storage.googleapis.com/...``) or a
  scope name (``projects/p``, ``folders/1``, ``organizations/1``).
- Azure: an ARM id (``/subscriptions/...``, ``/providers/Microsoft.Management/managementGroups/...``).
- AWS: an ARN, or ``*``.
"""

from __future__ import annotations

from typing import Any

GCP_PREFIXES = ("//", "projects/", "folders/", "organizations/")
AZURE_PREFIXES = ("/subscriptions/", "/providers/")


class UnknownCloud(ValueError):
    """The resource is written in no cloud's form."""


def cloud_of(resource: str) -> str:
    if resource.startswith(GCP_PREFIXES):
        return "gcp"
    if resource.lower().startswith(AZURE_PREFIXES) or resource == "/":
        return "azure"
    if resource.startswith("arn:") or resource == "*":
        return "aws"
    raise UnknownCloud(
        f"{resource!r} is no resource iamdrift can place: give an AWS ARN, a Google Cloud resource name "
        "(//SERVICE.googleapis.com/..., projects/ID, folders/N, organizations/N) or an Azure resource id "
        "(/subscriptions/..., /providers/Microsoft.Management/managementGroups/...)"
    )


def single_values(context: dict[str, list[str]]) -> dict[str, Any]:
    """``--context`` values as Google Cloud and Azure take them: one string per key, a list only
    when the key was given several times."""
    return {key: values[0] if len(values) == 1 else values for key, values in context.items()}

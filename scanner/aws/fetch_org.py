"""Organizations reads: the tree, the accounts, SCPs and RCPs with their targets.

Returns an ``iamdrift.aws.organization/1`` document, or ``None`` where the organization is not
readable from these credentials (the recorder holds the reason: not in use, or denied).
"""

from __future__ import annotations

from typing import Any

from scanner.aws.clients import paginate_all
from scanner.aws.raw import ORGANIZATION_FORMAT
from scanner.aws.recorder import Recorder

POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


def fetch_organization(org: Any, rec: Recorder) -> dict[str, Any] | None:
    described = rec.call("organizations", "DescribeOrganization", org.describe_organization)
    if described is None:
        return None
    roots = rec.call("organizations", "ListRoots", lambda: paginate_all(org, "list_roots", "Roots"), count=len)
    if roots is None:
        return None
    units: list[dict[str, Any]] = []
    pending = [root["Id"] for root in roots]
    while pending:
        parent = pending.pop()
        children = rec.call(
            "organizations",
            "ListOrganizationalUnitsForParent",
            lambda p=parent: paginate_all(
                org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=p
            ),
            count=len,
        )
        for unit in children or []:
            units.append({"Id": unit["Id"], "Arn": unit.get("Arn"), "Name": unit.get("Name"), "ParentId": parent})
            pending.append(unit["Id"])
    accounts = (
        rec.call("organizations", "ListAccounts", lambda: paginate_all(org, "list_accounts", "Accounts"), count=len)
        or []
    )
    for account in accounts:
        parents = rec.call(
            "organizations",
            "ListParents",
            lambda a=account: paginate_all(org, "list_parents", "Parents", ChildId=a["Id"]),
        )
        account["ParentId"] = parents[0]["Id"] if parents else None
    policies = []
    for policy_type in POLICY_TYPES:
        listed = rec.call(
            "organizations",
            f"ListPolicies:{policy_type}",
            lambda t=policy_type: paginate_all(org, "list_policies", "Policies", Filter=t),
            count=len,
        )
        for summary in listed or []:
            detail = rec.call(
                "organizations", "DescribePolicy", lambda s=summary: org.describe_policy(PolicyId=s["Id"])
            )
            targets = rec.call(
                "organizations",
                "ListTargetsForPolicy",
                lambda s=summary: paginate_all(org, "list_targets_for_policy", "Targets", PolicyId=s["Id"]),
                count=len,
            )
            if detail is None or targets is None:
                continue
            policies.append({"PolicySummary": summary, "Content": detail["Policy"]["Content"], "Targets": targets})
    return {
        "Format": ORGANIZATION_FORMAT,
        "Organization": described["Organization"],
        "Roots": roots,
        "OrganizationalUnits": units,
        "Accounts": accounts,
        "Policies": policies,
    }

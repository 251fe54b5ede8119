"""IAM reads for one account: authorization details, credential report, access keys, identity
providers. Each function calls the API and returns its answers as AWS shapes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from models import CoverageStatus
from scanner.aws.clients import AwsClients
from scanner.aws.credential_report import decode_report_content
from scanner.aws.recorder import Recorder

AUTH_DETAILS_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def authorization_details(iam: Any, rec: Recorder) -> dict[str, Any] | None:
    """``GetAccountAuthorizationDetails``, every page merged as the AWS CLI prints it."""

    def fetch() -> dict[str, Any]:
        merged: dict[str, list[Any]] = {key: [] for key in AUTH_DETAILS_LISTS}
        for page in iam.get_paginator("get_account_authorization_details").paginate():
            for key in AUTH_DETAILS_LISTS:
                merged[key].extend(page.get(key, []))
        return merged

    return rec.call("iam", "GetAccountAuthorizationDetails", fetch, count=lambda d: sum(len(v) for v in d.values()))


def credential_report(
    iam: Any, rec: Recorder, *, wait_seconds: float = 60.0, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """Ask IAM to generate the credential report, wait for it, and return its CSV."""
    deadline = wait_seconds
    while True:
        state = rec.call("iam", "GenerateCredentialReport", iam.generate_credential_report)
        if state is None:
            return None
        if state.get("State") == "COMPLETE":
            break
        if deadline <= 0:
            rec.gap("iam", "GetCredentialReport", CoverageStatus.ERROR, f"report not ready after {wait_seconds:.0f}s")
            return None
        sleep(2.0)
        deadline -= 2.0
    answer = rec.call("iam", "GetCredentialReport", iam.get_credential_report)
    return None if answer is None else decode_report_content(answer["Content"])


def access_keys(iam: Any, rec: Recorder, user_names: list[str], *, with_last_used: bool) -> list[dict[str, Any]]:
    """Every user's access key metadata (never a secret). Last use is asked per key only when the
    credential report, which has it for all keys at once, was not readable."""
    keys: list[dict[str, Any]] = []
    for user in user_names:
        pages = rec.call(
            "iam",
            "ListAccessKeys",
            lambda u=user: [
                k
                for page in iam.get_paginator("list_access_keys").paginate(UserName=u)
                for k in page["AccessKeyMetadata"]
            ],
            absent=frozenset({"NoSuchEntity"}),
            count=len,
        )
        for key in pages or []:
            item = {
                "UserName": key["UserName"],
                "AccessKeyId": key["AccessKeyId"],
                "Status": key["Status"],
                "CreateDate": key["CreateDate"],
                "LastUsedDate": None,
                "LastUsedService": None,
                "LastUsedRegion": None,
            }
            if with_last_used:
                used = rec.call(
                    "iam",
                    "GetAccessKeyLastUsed",
                    lambda k=key: iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"]),
                )
                last = (used or {}).get("AccessKeyLastUsed", {})
                item["LastUsedDate"] = last.get("LastUsedDate")
                service = last.get("ServiceName")
                item["LastUsedService"] = None if service in (None, "N/A") else service
                region = last.get("Region")
                item["LastUsedRegion"] = None if region in (None, "N/A") else region
            keys.append(item)
    return keys


def oidc_providers(iam: Any, rec: Recorder) -> list[dict[str, Any]]:
    listed = rec.call(
        "iam",
        "ListOpenIDConnectProviders",
        iam.list_open_id_connect_providers,
        count=lambda r: len(r["OpenIDConnectProviderList"]),
    )
    found = []
    for entry in (listed or {}).get("OpenIDConnectProviderList", []):
        arn = entry["Arn"]
        detail = rec.call(
            "iam",
            "GetOpenIDConnectProvider",
            lambda a=arn: iam.get_open_id_connect_provider(OpenIDConnectProviderArn=a),
            absent=frozenset({"NoSuchEntity"}),
        )
        if detail is not None:
            found.append(
                {
                    "Arn": arn,
                    "Url": detail.get("Url"),
                    "ClientIDList": detail.get("ClientIDList", []),
                    "ThumbprintList": detail.get("ThumbprintList", []),
                    "CreateDate": detail.get("CreateDate"),
                }
            )
    return found


def saml_providers(iam: Any, rec: Recorder) -> list[dict[str, Any]]:
    listed = rec.call("iam", "ListSAMLProviders", iam.list_saml_providers, count=lambda r: len(r["SAMLProviderList"]))
    return [
        {"Arn": p["Arn"], "ValidUntil": p.get("ValidUntil"), "CreateDate": p.get("CreateDate")}
        for p in (listed or {}).get("SAMLProviderList", [])
    ]


def fetch_account_iam(clients: AwsClients, rec: Recorder) -> tuple[dict[str, Any] | None, str | None, dict[str, Any]]:
    """(authorization details, credential report CSV, the IAM part of the extras)."""
    iam = clients.client("iam")
    details = authorization_details(iam, rec)
    report = credential_report(iam, rec)
    users = [u["UserName"] for u in (details or {}).get("UserDetailList", [])]
    extras = {
        "OpenIDConnectProviders": oidc_providers(iam, rec),
        "SAMLProviders": saml_providers(iam, rec),
        "AccessKeys": access_keys(iam, rec, users, with_last_used=report is None),
    }
    return details, report, extras

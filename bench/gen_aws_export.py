"""Generate a large AWS account export for benchmarks (deterministic).

``python bench/gen_aws_export.py OUT_DIR --roles 2000`` writes OUT_DIR/<account>-authorization-details.json
(the shape of ``aws iam get-account-authorization-details``) and a credential report: roles with trust
policies, inline and attached policies, users in groups with access keys, and customer managed
policies with several versions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ACCOUNT = "555566667777"
SERVICES = ["s3", "ec2", "dynamodb", "sqs", "sns", "kms", "lambda", "logs", "cloudwatch", "secretsmanager"]


def statement(i: int, effect: str = "Allow") -> dict:
    service = SERVICES[i % len(SERVICES)]
    return {
        "Sid": f"S{i}",
        "Effect": effect,
        "Action": [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"],
        "Resource": [f"arn:aws:{service}:us-east-1:{ACCOUNT}:thing/team-{i % 37}/*"],
        "Condition": {"StringEquals": {"aws:ResourceTag/team": f"team-{i % 37}"}},
    }


def document(i: int, size: int) -> dict:
    return {"Version": "2012-10-17", "Statement": [statement(i + k) for k in range(size)]}


def generate(out: Path, roles: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    created = "2023-05-01T12:00:00+00:00"
    n_policies, n_groups, n_users = max(10, roles // 7), max(5, roles // 40), max(10, roles // 10)
    policies = [
        {
            "PolicyName": f"policy-{p}",
            "PolicyId": f"ANPA{p:016d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/policy-{p}",
            "Path": "/",
            "DefaultVersionId": "v3",
            "AttachmentCount": 3,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": created,
            "UpdateDate": created,
            "PolicyVersionList": [
                {
                    "Document": document(p + v, 3),
                    "VersionId": f"v{v}",
                    "IsDefaultVersion": v == 3,
                    "CreateDate": created,
                }
                for v in (1, 2, 3)
            ],
        }
        for p in range(n_policies)
    ]

    def attached(i: int) -> list[dict]:
        return [
            {"PolicyName": f"policy-{(i + k) % n_policies}", "PolicyArn": policies[(i + k) % n_policies]["Arn"]}
            for k in range(2)
        ]

    groups = [
        {
            "Path": "/",
            "GroupName": f"group-{g}",
            "GroupId": f"AGPA{g:016d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/group-{g}",
            "CreateDate": created,
            "GroupPolicyList": [{"PolicyName": "inline", "PolicyDocument": document(g, 2)}],
            "AttachedManagedPolicies": attached(g),
        }
        for g in range(n_groups)
    ]
    users = [
        {
            "Path": "/",
            "UserName": f"user-{u}",
            "UserId": f"AIDA{u:016d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/user-{u}",
            "CreateDate": created,
            "UserPolicyList": [],
            "GroupList": [f"group-{u % n_groups}", f"group-{(u + 1) % n_groups}"],
            "AttachedManagedPolicies": attached(u)[:1],
            "Tags": [{"Key": "team", "Value": f"team-{u % 37}"}],
        }
        for u in range(n_users)
    ]
    role_list = []
    for r in range(roles):
        trust = {"Effect": "Allow", "Action": "sts:AssumeRole"}
        if r % 3 == 0:
            trust["Principal"] = {"Service": "lambda.amazonaws.com"}
        elif r % 3 == 1:
            trust["Principal"] = {"AWS": f"arn:aws:iam::{100000000000 + r}:root"}
            trust["Condition"] = {"StringEquals": {"sts:ExternalId": f"ext-{r}"}}
        else:
            trust["Principal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/role-{(r + 1) % roles}"}
        role_list.append(
            {
                "Path": "/app/",
                "RoleName": f"role-{r}",
                "RoleId": f"AROA{r:016d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:role/app/role-{r}",
                "CreateDate": created,
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                "InstanceProfileList": [],
                "RolePolicyList": [{"PolicyName": f"inline-{r}", "PolicyDocument": document(r, 4)}],
                "AttachedManagedPolicies": attached(r),
                "Tags": [{"Key": "owner", "Value": f"team-{r % 37}"}],
                "RoleLastUsed": {"LastUsedDate": "2025-01-01T00:00:00+00:00", "Region": "us-east-1"} if r % 2 else {},
            }
        )
    details = {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": role_list, "Policies": policies}
    (out / f"{ACCOUNT}-authorization-details.json").write_text(json.dumps(details, indent=2))
    header = (
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
        "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"
        "access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
        "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,"
        "cert_2_last_rotated"
    )
    rows = [header]
    for u in users:
        rows.append(
            f"{u['UserName']},{u['Arn']},{created},true,{created},{created},N/A,false,true,{created},{created},us-east-1,s3,"
            "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
        )
    (out / f"{ACCOUNT}-credential-report.csv").write_text("\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--roles", type=int, default=2000)
    args = parser.parse_args()
    generate(args.out, args.roles)


if __name__ == "__main__":
    main()

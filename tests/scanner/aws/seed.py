"""A realistic AWS account, created through boto3 (against moto in tests).

What it plants, so tests can assert on it: a GitHub OIDC provider and two CI roles (one pinned
to a repository, one open to any), a cross-account role with ExternalId and one without, an app
role shared by an EC2 instance profile, a Lambda function and an ECS task definition, a user
with a console password and two access keys, a permission boundary, a customer managed policy
with two versions, and resource policies on S3, KMS, SQS, SNS, Secrets Manager and Lambda.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
GITHUB = "token.actions.githubusercontent.com"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal: dict[str, Any], action: str = "sts:AssumeRole", condition: dict | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return doc(statement)


def seed_account(session: boto3.Session) -> dict[str, str]:
    """Create the account's contents; return the ARNs tests refer to."""
    iam = session.client("iam")
    arns: dict[str, str] = {}
    oidc = iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB}",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
    )["OpenIDConnectProviderArn"]
    arns["oidc"] = oidc
    iam.create_saml_provider(
        Name="Okta", SAMLMetadataDocument="<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>"
    )

    boundary = iam.create_policy(
        PolicyName="DeveloperBoundary",
        PolicyDocument=doc({"Effect": "Allow", "Action": ["s3:*", "logs:*"], "Resource": "*"}),
    )["Policy"]["Arn"]
    arns["boundary"] = boundary
    app_policy = iam.create_policy(
        PolicyName="AppAccess",
        PolicyDocument=doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::app-data/*"}),
    )["Policy"]["Arn"]
    iam.create_policy_version(
        PolicyArn=app_policy,
        PolicyDocument=doc(
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::app-data/*"}
        ),
        SetAsDefault=True,
    )
    arns["app_policy"] = app_policy

    def role(name: str, trust_doc: str, **kwargs: Any) -> str:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, **kwargs)["Role"]["Arn"]
        arns[name] = arn
        return arn

    role(
        "github-deploy",
        trust(
            {"Federated": oidc},
            "sts:AssumeRoleWithWebIdentity",
            {
                "StringEquals": {
                    f"{GITHUB}:aud": "sts.amazonaws.com",
                    f"{GITHUB}:sub": "repo:acme/app:ref:refs/heads/main",
                }
            },
        ),
    )
    role(
        "github-any-repo",
        trust(
            {"Federated": oidc},
            "sts:AssumeRoleWithWebIdentity",
            {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}, "StringLike": {f"{GITHUB}:sub": "repo:*"}},
        ),
    )
    role(
        "audit",
        trust({"AWS": "arn:aws:iam::210987654321:root"}, condition={"StringEquals": {"sts:ExternalId": "s3cr3t-ext"}}),
    )
    role("vendor", trust({"AWS": "arn:aws:iam::999988887777:root"}))
    role("app", trust({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]}))
    role("dev", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), PermissionsBoundary=boundary)
    iam.attach_role_policy(RoleName="app", PolicyArn=app_policy)
    iam.attach_role_policy(RoleName="github-deploy", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_role_policy(
        RoleName="dev",
        PolicyName="dev-inline",
        PolicyDocument=doc({"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction"], "Resource": "*"}),
    )
    profile = iam.create_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    arns["profile"] = profile

    iam.create_group(GroupName="developers")
    iam.attach_group_policy(GroupName="developers", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    for name in ("alice", "legacy-batch"):
        extra = {"PermissionsBoundary": boundary} if name == "alice" else {}
        arns[name] = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "core"}], **extra)["User"]["Arn"]
        iam.add_user_to_group(GroupName="developers", UserName=name)
    iam.create_login_profile(UserName="legacy-batch", Password="Not-a-real-password-1!")
    arns["key1"] = iam.create_access_key(UserName="legacy-batch")["AccessKey"]["AccessKeyId"]
    arns["key2"] = iam.create_access_key(UserName="legacy-batch")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="legacy-batch", AccessKeyId=arns["key2"], Status="Inactive")

    s3 = session.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="public-assets")
    s3.put_bucket_policy(
        Bucket="public-assets",
        Policy=doc(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-assets/*"}
        ),
    )
    s3.create_bucket(Bucket="no-policy")

    kms = session.client("kms", region_name=REGION)
    key = kms.create_key(
        Policy=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            },
        )
    )["KeyMetadata"]
    arns["kms"] = key["Arn"]

    sqs = session.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "Policy": doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                }
            )
        },
    )
    arns["queue"] = queue_arn
    sns = session.client("sns", region_name=REGION)
    arns["topic"] = sns.create_topic(Name="alerts")["TopicArn"]
    secrets = session.client("secretsmanager", region_name=REGION)
    secret = secrets.create_secret(Name="db-password", SecretString="placeholder")["ARN"]
    secrets.put_resource_policy(
        SecretId=secret,
        ResourcePolicy=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": arns["app"]},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    )
    arns["secret"] = secret

    lam = session.client("lambda", region_name=REGION)
    fn = lam.create_function(
        FunctionName="worker",
        Runtime="python3.12",
        Role=arns["app"],
        Handler="index.handler",
        Code={"ZipFile": _zip_bytes()},
    )["FunctionArn"]
    lam.add_permission(
        FunctionName="worker", StatementId="events", Action="lambda:InvokeFunction", Principal="events.amazonaws.com"
    )
    arns["function"] = fn

    ec2 = session.client("ec2", region_name=REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instances = []
    for index in range(3):  # one call each: moto attaches a profile only to the first instance of a batch
        reservation = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            IamInstanceProfile={"Arn": profile},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"web-{index}"}]}],
        )
        instances.append(reservation["Instances"][0]["InstanceId"])
    arns["instances"] = ",".join(instances)
    ecs = session.client("ecs", region_name=REGION)
    task = ecs.register_task_definition(
        family="api",
        taskRoleArn=arns["app"],
        executionRoleArn=arns["app"],
        containerDefinitions=[{"name": "api", "image": "nginx", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    arns["task"] = task
    return arns


def _zip_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()

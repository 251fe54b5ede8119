"""Resource policies and workloads in one account and region.

Resource policies: S3 bucket policies, KMS key policies, SQS queue and SNS topic policies,
Secrets Manager resource policies, Lambda function policies (and CodeBuild project policies, read
with the projects in scanner/aws/fetch_services.py). Workloads: EC2 instances with an
instance profile, Lambda functions (execution role); the others (ECS, launch templates, Glue,
CloudFormation, CodeBuild, SageMaker, App Runner, Step Functions, Bedrock agents) are read by
scanner/aws/fetch_workloads.py.
"""

from __future__ import annotations

from typing import Any

from scanner.aws.clients import AwsClients, paginate_all
from scanner.aws.fetch_workloads import region_workloads
from scanner.aws.recorder import Recorder


def bucket_region(location: dict[str, Any]) -> str:
    """GetBucketLocation answers None for us-east-1 and 'EU' for the oldest eu-west-1 buckets."""
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def s3_policies(clients: AwsClients, rec: Recorder, regions: set[str], partition: str) -> list[dict[str, Any]]:
    s3 = clients.client("s3")
    buckets = rec.call("s3", "ListBuckets", lambda: s3.list_buckets()["Buckets"], count=len)
    found = []
    for bucket in buckets or []:
        name = bucket["Name"]
        location = rec.call("s3", "GetBucketLocation", lambda n=name: s3.get_bucket_location(Bucket=n))
        if location is None:
            continue
        region = bucket_region(location)
        if region not in regions:
            continue
        regional = clients.client("s3", region)
        policy = rec.call(
            "s3",
            "GetBucketPolicy",
            lambda n=name, c=regional: c.get_bucket_policy(Bucket=n)["Policy"],
            region=region,
            absent=frozenset({"NoSuchBucketPolicy"}),
        )
        found.append(
            {"Service": "s3", "Region": region, "Arn": f"arn:{partition}:s3:::{name}", "Name": name, "Policy": policy}
        )
    return found


def regional_policies(clients: AwsClients, rec: Recorder, region: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(service: str, arn: str, policy: Any, name: str | None = None) -> None:
        found.append({"Service": service, "Region": region, "Arn": arn, "Name": name, "Policy": policy})

    kms = clients.client("kms", region)
    for key in (
        rec.call("kms", "ListKeys", lambda: paginate_all(kms, "list_keys", "Keys"), region=region, count=len) or []
    ):
        policy = rec.call(
            "kms",
            "GetKeyPolicy",
            lambda k=key: kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"],
            region=region,
            absent=frozenset({"NotFoundException"}),
        )
        add("kms", key["KeyArn"], policy, key["KeyId"])

    sqs = clients.client("sqs", region)
    urls = rec.call(
        "sqs", "ListQueues", lambda: paginate_all(sqs, "list_queues", "QueueUrls"), region=region, count=len
    )
    for url in urls or []:
        attrs = rec.call(
            "sqs",
            "GetQueueAttributes",
            lambda u=url: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["Policy", "QueueArn"])["Attributes"],
            region=region,
            absent=frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}),
        )
        if attrs:
            add("sqs", attrs["QueueArn"], attrs.get("Policy"), url.rsplit("/", 1)[-1])

    sns = clients.client("sns", region)
    for topic in (
        rec.call("sns", "ListTopics", lambda: paginate_all(sns, "list_topics", "Topics"), region=region, count=len)
        or []
    ):
        arn = topic["TopicArn"]
        attrs = rec.call(
            "sns",
            "GetTopicAttributes",
            lambda a=arn: sns.get_topic_attributes(TopicArn=a)["Attributes"],
            region=region,
            absent=frozenset({"NotFound"}),
        )
        if attrs is not None:
            add("sns", arn, attrs.get("Policy"))

    secrets = clients.client("secretsmanager", region)
    listed = rec.call(
        "secretsmanager",
        "ListSecrets",
        lambda: paginate_all(secrets, "list_secrets", "SecretList"),
        region=region,
        count=len,
    )
    for secret in listed or []:
        answer = rec.call(
            "secretsmanager",
            "GetResourcePolicy",
            lambda s=secret: secrets.get_resource_policy(SecretId=s["ARN"]),
            region=region,
            absent=frozenset({"ResourceNotFoundException"}),
        )
        add("secretsmanager", secret["ARN"], (answer or {}).get("ResourcePolicy"), secret.get("Name"))
    return found


def lambda_functions(
    clients: AwsClients, rec: Recorder, region: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resource policies, workloads) of the region's Lambda functions."""
    client = clients.client("lambda", region)
    functions = rec.call(
        "lambda", "ListFunctions", lambda: paginate_all(client, "list_functions", "Functions"), region=region, count=len
    )
    policies, workloads = [], []
    for fn in functions or []:
        arn = fn["FunctionArn"]
        policy = rec.call(
            "lambda",
            "GetPolicy",
            lambda a=arn: client.get_policy(FunctionName=a)["Policy"],
            region=region,
            absent=frozenset({"ResourceNotFoundException"}),
        )
        policies.append(
            {"Service": "lambda", "Region": region, "Arn": arn, "Name": fn["FunctionName"], "Policy": policy}
        )
        workloads.append(
            {
                "Service": "lambda",
                "Kind": "lambda_function",
                "Region": region,
                "Arn": arn,
                "Name": fn["FunctionName"],
                "RoleArns": [fn["Role"]],
            }
        )
    return policies, workloads


def ec2_instances(
    clients: AwsClients, rec: Recorder, region: str, account: str, partition: str
) -> list[dict[str, Any]]:
    ec2 = clients.client("ec2", region)
    reservations = rec.call(
        "ec2",
        "DescribeInstances",
        lambda: paginate_all(ec2, "describe_instances", "Reservations"),
        region=region,
        count=len,
    )
    found = []
    for reservation in reservations or []:
        for instance in reservation.get("Instances", []):
            profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
            if not profile or instance.get("State", {}).get("Name") == "terminated":
                continue
            name = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), instance["InstanceId"])
            found.append(
                {
                    "Service": "ec2",
                    "Kind": "ec2_instance",
                    "Region": region,
                    "Arn": f"arn:{partition}:ec2:{region}:{account}:instance/{instance['InstanceId']}",
                    "Name": name,
                    "InstanceProfileArn": profile,
                    "RoleArns": [],
                }
            )
    return found


def fetch_region(
    clients: AwsClients, rec: Recorder, region: str, account: str, partition: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resource policies, workloads) of one region."""
    policies = regional_policies(clients, rec, region)
    fn_policies, workloads = lambda_functions(clients, rec, region)
    policies.extend(fn_policies)
    workloads.extend(ec2_instances(clients, rec, region, account, partition))
    more_policies, more_workloads = region_workloads(clients, rec, region, account, partition)
    policies.extend(more_policies)
    workloads.extend(more_workloads)
    return policies, workloads

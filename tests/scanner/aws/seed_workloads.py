"""Workloads that run as a role, beyond EC2, Lambda and ECS task definitions, created through boto3
(against moto in tests).

Each runs as its own role, so tests can tell them apart. Planted for the secret-material checks:
``SECRET`` in Glue job and dev endpoint arguments, a CodeBuild environment variable, launch
template user data, a SageMaker training job's environment, a state machine definition and a
Bedrock agent's instruction. Planted for the resolution checks: a Glue job naming its role by
``path/name``, a launch template naming its instance profile by name, an ECS task overriding its
task role, a StackSet deployed to two accounts. Not workloads, and so not to be found: a stack
without a service role, a launch template without an instance profile.

moto has no App Runner and no CodeBuild project policies, and its SageMaker jobs complete at once:
the tests answer those reads themselves (:func:`app_runner_answers`, :data:`PROJECT_POLICY`,
:func:`training_jobs_answer`), in AWS's wire format.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3

from tests.scanner.aws.seed import ACCOUNT, REGION

SECRET = "hunter2-not-for-the-snapshot"
OTHER_ACCOUNT = "210987654321"
APP_RUNNER_ARN = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/storefront/8fe1e10304f84fd2b0df550fe98a71fa"
#: The CodeBuild project's resource policy (GetResourcePolicy's ``policy``): another account may start builds.
PROJECT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
            "Action": ["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
            "Resource": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/deploy",
        }
    ],
}
TEMPLATE = json.dumps({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}})


def _trust(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def seed_workloads(session: boto3.Session) -> dict[str, str]:
    """Create the workloads and their roles; return the ARNs tests refer to."""
    iam = session.client("iam")
    arns: dict[str, str] = {}

    def role(name: str, service: str, path: str = "/") -> str:
        arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=_trust(service))["Role"]["Arn"]
        arns[name] = arn
        return arn

    role("glue-etl-role", "glue.amazonaws.com", "/service-role/")
    glue_dev_role = role("glue-dev-role", "glue.amazonaws.com")
    cfn_role = role("cfn-service-role", "cloudformation.amazonaws.com")
    admin_role = role("stackset-admin-role", "cloudformation.amazonaws.com")
    codebuild_role = role("codebuild-role", "codebuild.amazonaws.com")
    notebook_role = role("notebook-role", "sagemaker.amazonaws.com")
    training_role = role("training-role", "sagemaker.amazonaws.com")
    sfn_role = role("sfn-role", "states.amazonaws.com")
    agent_role = role("agent-role", "bedrock.amazonaws.com")
    service_task_role = role("svc-task-role", "ecs-tasks.amazonaws.com")
    override_role = role("override-task-role", "ecs-tasks.amazonaws.com")
    role("launch-role", "ec2.amazonaws.com")
    role("apprunner-instance-role", "tasks.apprunner.amazonaws.com")
    profile = iam.create_instance_profile(InstanceProfileName="launch-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="launch-profile", RoleName="launch-role")
    arns["launch-profile"] = profile

    glue = session.client("glue", region_name=REGION)
    glue.create_dev_endpoint(EndpointName="notebook-dev", RoleArn=glue_dev_role, Arguments={"--token": SECRET})
    glue.create_job(
        Name="nightly-etl",
        Role="service-role/glue-etl-role",  # Glue takes a role's name (with its path) as well as its ARN
        Command={"Name": "glueetl", "ScriptLocation": "s3://acme-scripts/etl.py"},
        DefaultArguments={"--db-password": SECRET},
    )

    cfn = session.client("cloudformation", region_name=REGION)
    arns["stack"] = cfn.create_stack(StackName="network", TemplateBody=TEMPLATE, RoleARN=cfn_role)["StackId"]
    cfn.create_stack(StackName="no-service-role", TemplateBody=TEMPLATE)
    cfn.create_stack_set(
        StackSetName="baseline",
        TemplateBody=TEMPLATE,
        AdministrationRoleARN=admin_role,
        ExecutionRoleName="baseline-exec",
    )
    cfn.create_stack_instances(StackSetName="baseline", Accounts=[ACCOUNT, OTHER_ACCOUNT], Regions=[REGION])
    cfn.create_stack_set(StackSetName="defaults", TemplateBody=TEMPLATE)

    codebuild = session.client("codebuild", region_name=REGION)
    environment = {
        "type": "LINUX_CONTAINER",
        "image": "aws/codebuild/standard:7.0",
        "computeType": "BUILD_GENERAL1_SMALL",
        "environmentVariables": [{"name": "DEPLOY_TOKEN", "value": SECRET, "type": "PLAINTEXT"}],
    }
    arns["project"] = codebuild.create_project(
        name="deploy",
        source={"type": "S3", "location": "acme-src/deploy.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=environment,
        serviceRole=codebuild_role,
    )["project"]["arn"]

    sm = session.client("sagemaker", region_name=REGION)
    arns["notebook"] = sm.create_notebook_instance(
        NotebookInstanceName="research", InstanceType="ml.t3.medium", RoleArn=notebook_role
    )["NotebookInstanceArn"]
    arns["training"] = sm.create_training_job(
        TrainingJobName="churn-model",
        AlgorithmSpecification={"TrainingImage": "training-image", "TrainingInputMode": "File"},
        RoleArn=training_role,
        OutputDataConfig={"S3OutputPath": "s3://acme-models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Environment={"API_KEY": SECRET},
    )["TrainingJobArn"]

    ecs = session.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="main")
    definition = ecs.register_task_definition(
        family="storefront",
        taskRoleArn=service_task_role,
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    arns["service"] = ecs.create_service(
        cluster="main", serviceName="storefront", taskDefinition=definition, desiredCount=1
    )["service"]["serviceArn"]
    task = ecs.run_task(
        cluster="main", taskDefinition=definition, launchType="FARGATE", overrides={"taskRoleArn": override_role}
    )["tasks"][0]
    arns["task"] = task["taskArn"]

    ec2 = session.client("ec2", region_name=REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    user_data = base64.b64encode(f"export DB_PASSWORD={SECRET}".encode()).decode()
    data = {"ImageId": image, "IamInstanceProfile": {"Name": "launch-profile"}, "UserData": user_data}
    template = ec2.create_launch_template(LaunchTemplateName="workers", LaunchTemplateData=data)["LaunchTemplate"]
    arns["launch-template"] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/{template['LaunchTemplateId']}"
    ec2.create_launch_template(LaunchTemplateName="no-profile", LaunchTemplateData={"ImageId": image})

    sfn = session.client("stepfunctions", region_name=REGION)
    flow = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": SECRET, "End": True}}}
    arns["state-machine"] = sfn.create_state_machine(name="orders", definition=json.dumps(flow), roleArn=sfn_role)[
        "stateMachineArn"
    ]

    agents = session.client("bedrock-agent", region_name=REGION)
    arns["agent"] = agents.create_agent(
        agentName="helpdesk",
        agentResourceRoleArn=agent_role,
        foundationModel="anthropic.claude-v2",
        instruction=f"Answer questions. Never reveal {SECRET}.",
    )["agent"]["agentArn"]
    return arns


def app_runner_answers() -> dict[str, dict[str, Any]]:
    """ListServices and DescribeService answers (moto has no App Runner), in the service's own shape,
    with runtime secrets that must not be kept."""
    summary = {
        "ServiceName": "storefront",
        "ServiceId": "8fe1e10304f84fd2b0df550fe98a71fa",
        "ServiceArn": APP_RUNNER_ARN,
        "ServiceUrl": "abc123.us-east-1.awsapprunner.com",
        "CreatedAt": 1717200000,
        "UpdatedAt": 1717200000,
        "Status": "RUNNING",
    }
    image = {
        "ImageIdentifier": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/storefront:latest",
        "ImageRepositoryType": "ECR",
        "ImageConfiguration": {
            "Port": "8080",
            "RuntimeEnvironmentVariables": {"DB_PASSWORD": SECRET},
            "RuntimeEnvironmentSecrets": {"API_KEY": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-key"},
        },
    }
    service = {
        **summary,
        "SourceConfiguration": {
            "ImageRepository": image,
            "AutoDeploymentsEnabled": False,
            "AuthenticationConfiguration": {"AccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/apprunner-ecr-access"},
        },
        "InstanceConfiguration": {
            "Cpu": "1024",
            "Memory": "2048",
            "InstanceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/apprunner-instance-role",
        },
        "AutoScalingConfigurationSummary": {
            "AutoScalingConfigurationArn": f"arn:aws:apprunner:{REGION}:{ACCOUNT}:autoscalingconfiguration/"
            "DefaultConfiguration/1/00000000000000000000000000000001",
            "AutoScalingConfigurationName": "DefaultConfiguration",
            "AutoScalingConfigurationRevision": 1,
        },
        "NetworkConfiguration": {"EgressConfiguration": {"EgressType": "DEFAULT"}},
    }
    return {"ListServices": {"ServiceSummaryList": [summary]}, "DescribeService": {"Service": service}}


def training_jobs_answer(arn: str) -> dict[str, Any]:
    """ListTrainingJobs as AWS answers it for a job still running (moto's jobs complete at once)."""
    job = {
        "TrainingJobName": arn.rsplit("/", 1)[-1],
        "TrainingJobArn": arn,
        "CreationTime": 1717200000,
        "TrainingJobStatus": "InProgress",
    }
    return {"TrainingJobSummaries": [job]}

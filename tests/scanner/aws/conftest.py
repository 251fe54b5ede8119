from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from models import Snapshot
from scanner.aws import AwsClients, scan_live
from tests.scanner.aws import wire
from tests.scanner.aws.seed import REGION, seed_account
from tests.scanner.aws.seed_workloads import PROJECT_POLICY, app_runner_answers, seed_workloads, training_jobs_answer

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


class LiveScan:
    """One live scan of the seeded moto account, with every operation it called and its parameters.

    moto has no App Runner and no CodeBuild project policies, and completes SageMaker jobs at once,
    so those reads are answered here, in AWS's wire format (the job listed is one moto holds, so
    DescribeTrainingJob is moto's).
    """

    def __init__(self, session: boto3.Session, arns: dict[str, str], raw_dir: Path) -> None:
        self.session = session
        self.arns = arns
        self.raw_dir = raw_dir
        self.calls: list[tuple[str, str]] = []
        self.params: list[tuple[str, str, dict[str, Any]]] = []

        def record(model: Any, **_: Any) -> None:
            self.calls.append((model.service_model.service_name, model.name))

        def record_params(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.params.append((model.service_model.service_name, model.name, dict(params)))

        app_runner = app_runner_answers()
        hooks = [
            ("before-call", record),
            ("before-parameter-build", record_params),
            *(
                (f"before-send.apprunner.{op}", wire.answer(lambda body=body: wire.json_answer(body)))
                for op, body in app_runner.items()
            ),
            ("before-call.codebuild.GetResourcePolicy", wire.answered(lambda: {"policy": json.dumps(PROJECT_POLICY)})),
            ("before-call.sagemaker.ListTrainingJobs", wire.answered(lambda: training_jobs_answer(arns["training"]))),
        ]
        clients = AwsClients(session=session, hooks=hooks)
        self.snapshot: Snapshot = scan_live(clients, regions=[REGION], save_raw=raw_dir)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveScan]:
    """Moto seeded with a realistic account (module-wide: seeding loads AWS's managed policies)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FAKE_ENV.items():
            mp.setenv(key, value)
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            arns = seed_account(session)
            arns.update(seed_workloads(session))
            yield LiveScan(session, arns, tmp_path_factory.mktemp("raw"))


@pytest.fixture
def small_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto account with one role and one queue: for failure modes, where speed matters."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("iam").create_role(
            RoleName="only", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
        )
        session.client("sqs").create_queue(QueueName="q")
        yield session

"""boto3 clients for a scan, made in one place so tests and callers can hook every one of them.

Retries use botocore's adaptive mode (client-side rate limiting plus exponential backoff), so
throttling is absorbed up to ``max_attempts``; what is still throttled after that becomes a gap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

#: (event name, handler) pairs registered first on every client made, e.g. ("before-call", fn).
Hook = tuple[str, Callable[..., Any]]


@dataclass
class AwsClients:
    """Makes clients from one boto3 session; :meth:`assume` makes one for another account."""

    session: boto3.Session
    default_region: str = "us-east-1"
    max_attempts: int = 10
    hooks: list[Hook] = field(default_factory=list)
    # boto3 sessions are not safe to make clients from concurrently; clients themselves are.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_profile(cls, profile: str | None = None, region: str | None = None, **kwargs: Any) -> AwsClients:
        session = boto3.Session(profile_name=profile, region_name=region)
        return cls(session=session, default_region=region or session.region_name or "us-east-1", **kwargs)

    def client(self, service: str, region: str | None = None) -> Any:
        config = Config(
            retries={"mode": "adaptive", "max_attempts": self.max_attempts},
            user_agent_extra="iamdrift",
            connect_timeout=10,
            read_timeout=60,
        )
        with self._lock:
            client = self.session.client(service, region_name=region or self.default_region, config=config)
        for event, handler in self.hooks:
            client.meta.events.register_first(event, handler)
        return client

    def offers(self, service: str, region: str) -> bool:
        """Whether ``service`` is offered in ``region``, by botocore's endpoint data: False only
        when that data knows the region (it lists EC2 there) and lists the service in other
        regions but not this one. Services it has no region list for, and regions newer than it,
        count as offered, so a stale botocore never hides a region from a scan."""
        with self._lock:
            partitions = self.session.get_available_partitions()
            known = {r for p in partitions for r in self.session.get_available_regions("ec2", p)}
            offered = {r for p in partitions for r in self.session.get_available_regions(service, p)}
        return not offered or region not in known or region in offered

    def assume(self, role_arn: str, session_name: str = "iamdrift-scan") -> AwsClients:
        """Clients acting as ``role_arn`` (sts:AssumeRole), with the same hooks and settings."""
        answer = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        creds = answer["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.default_region,
        )
        return AwsClients(
            session=session, default_region=self.default_region, max_attempts=self.max_attempts, hooks=self.hooks
        )


def paginate_all(client: Any, method: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across all pages of ``method``."""
    return [item for page in client.get_paginator(method).paginate(**kwargs) for item in page.get(key, [])]

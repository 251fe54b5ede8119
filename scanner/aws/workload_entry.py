"""Account-extras ``Workloads`` entries, and the small call helpers the workload readers share.

An entry: ``Service``, ``Kind`` (a :class:`models.WorkloadKind` value), ``Region``, ``Arn``,
``Name``; ``RoleArns``, the roles it runs as, as the API names them (a Glue job may name its role
by name; the normalizer resolves names); ``InstanceProfileArn`` (an EC2 instance) or
``InstanceProfiles`` (``[{"Arn": ...} | {"Name": ...}]``, as a launch template names them), whose
roles it runs as; ``Attributes``, short non-secret facts as strings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from models import WorkloadKind
from scanner.aws.clients import AwsClients, paginate_all
from scanner.aws.recorder import Recorder

Entry = dict[str, Any]


def workload(
    service: str,
    kind: WorkloadKind,
    region: str,
    arn: str,
    name: str,
    roles: Iterable[str | None],
    *,
    attributes: dict[str, Any] | None = None,
    profiles: Iterable[dict[str, str]] = (),
) -> Entry:
    """One ``Workloads`` entry; empty roles and attributes are left out, duplicates dropped."""
    entry: Entry = {
        "Service": service,
        "Kind": str(kind),
        "Region": region,
        "Arn": arn,
        "Name": name,
        "RoleArns": list(dict.fromkeys(r for r in roles if r)),
    }
    listed = [dict(p) for p in profiles]
    if listed:
        entry["InstanceProfiles"] = listed
    kept = {k: _text(v) for k, v in (attributes or {}).items() if v not in (None, "", [], {})}
    if kept:
        entry["Attributes"] = kept
    return entry


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def get(fn: Callable[..., Any], key: str | None = None, **kwargs: Any) -> Callable[[], Any]:
    """A call of ``fn(**kwargs)``, answering its ``key`` member (or the whole answer)."""

    def call() -> Any:
        answer = fn(**kwargs)
        return answer[key] if key else answer

    return call


def every(client: Any, method: str, key: str, **kwargs: Any) -> Callable[[], list[Any]]:
    """A call of every page of ``method``, answering the items under ``key``."""
    return lambda: paginate_all(client, method, key, **kwargs)


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def skip_unoffered(clients: AwsClients, rec: Recorder, service: str, operation: str, region: str) -> bool:
    """True (and an empty, successful read recorded) where botocore's endpoint data says the
    service is not offered in the region, so the scan does not wait on an endpoint that is not there."""
    if clients.offers(service, region):
        return False
    rec.nothing_there(service, operation, region, f"{service} is not offered in {region} (botocore endpoint data)")
    return True

"""``iamdrift.toml``: one scheduled run — what to scan, the thresholds, the suppressions, the
baseline and the reports to write — read and checked before anything is scanned.

The file (TOML; every table optional but ``[scan]``)::

    label = "nightly"                      # stored with the snapshot

    [scan]
    from = ["exports/aws"]                 # export files / directories (instead of live reads), or:
    aws = { profile = "audit", regions = ["us-east-1"], assume_role = "OrganizationAccountAccessRole",
            accounts = ["222222222222"] }
    gcp = { organization = "584739201946", projects = ["shop-prod"] }
    azure = { subscriptions = ["..."], all_subscriptions = false }

    [thresholds]                           # simulator.findings.Settings
    key_max_age_days = 90
    unused_days = 90
    secret_max_lifetime_days = 730
    shared_workloads = 2
    many_trusted = 5
    owner_keys = ["owner", "team"]

    [findings]
    suppressions = "suppressions.json"
    fail_on = "high"                       # exit 1 when an unsuppressed finding is this severe or more
    outputs = [{ format = "sarif", path = "out/iamdrift.sarif" }, { format = "markdown", path = "out/findings.md" }]

    [drift]
    against = "baseline"                   # or "previous" (the snapshot before this one)
    fail_on = "new-admin-path"             # or "new-access" (exit 1 when the drift shows it)
    outputs = [{ format = "json", path = "out/drift.json" }]

Relative paths are relative to the file's directory. Unknown keys are an error (a typo must not
silently turn a check off).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from simulator.findings import Settings, Severity

FINDING_FORMATS = ("table", "json", "sarif", "markdown", "html")
DRIFT_FORMATS = ("json",)
DRIFT_FAIL_ON = ("new-admin-path", "new-access")

_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}


def _outputs(formats: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["format", "path"],
            "properties": {"format": {"enum": list(formats)}, "path": {"type": "string", "minLength": 1}},
        },
    }


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["scan"],
    "properties": {
        "label": {"type": "string"},
        "scan": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "from": _STRINGS,
                "aws": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "profile": {"type": "string"},
                        "regions": _STRINGS,
                        "assume_role": {"type": "string"},
                        "accounts": _STRINGS,
                        "parallel": {"type": "integer", "minimum": 1, "maximum": 32},
                    },
                },
                "gcp": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"organization": {"type": "string"}, "projects": _STRINGS},
                },
                "azure": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"subscriptions": _STRINGS, "all_subscriptions": {"type": "boolean"}},
                },
            },
        },
        "thresholds": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "key_max_age_days": {"type": "integer", "minimum": 1},
                "unused_days": {"type": "integer", "minimum": 1},
                "secret_max_lifetime_days": {"type": "integer", "minimum": 1},
                "shared_workloads": {"type": "integer", "minimum": 2},
                "many_trusted": {"type": "integer", "minimum": 2},
                "owner_keys": _STRINGS,
            },
        },
        "findings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "suppressions": {"type": "string", "minLength": 1},
                "fail_on": {"enum": [s.value for s in Severity]},
                "outputs": _outputs(FINDING_FORMATS),
            },
        },
        "drift": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "against": {"enum": ["baseline", "previous"]},
                "fail_on": {"enum": list(DRIFT_FAIL_ON)},
                "outputs": _outputs(DRIFT_FORMATS),
            },
        },
    },
}


class ConfigError(ValueError):
    """The config file cannot be used: the message names the file and the key."""


@dataclass(frozen=True, kw_only=True)
class Output:
    format: str
    path: Path


@dataclass(frozen=True, kw_only=True)
class ScanTargets:
    """What ``scan`` reads: export files (``from_paths``) or the clouds live."""

    from_paths: tuple[Path, ...] = ()
    profile: str | None = None
    regions: tuple[str, ...] = ()
    assume_role: str | None = None
    accounts: tuple[str, ...] = ()
    parallel: int = 4
    gcp_organization: str | None = None
    gcp_projects: tuple[str, ...] = ()
    azure_subscriptions: tuple[str, ...] = ()
    azure_all_subscriptions: bool = False


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """One scheduled run (see the module docstring)."""

    path: Path
    label: str = ""
    scan: ScanTargets = field(default_factory=ScanTargets)
    settings: Settings = field(default_factory=Settings)
    suppressions: Path | None = None
    fail_on: Severity | None = None
    finding_outputs: tuple[Output, ...] = ()
    drift_against: str | None = None
    drift_fail_on: str | None = None
    drift_outputs: tuple[Output, ...] = ()


def load_config(path: Path) -> RunConfig:
    """The run ``path`` describes, checked against :data:`SCHEMA`; :class:`ConfigError` otherwise."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such config file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{path}: {where}: {first.message}{more}")
    base = path.resolve().parent

    def at(raw: str) -> Path:
        given = Path(raw).expanduser()
        return given if given.is_absolute() else base / given

    scan = data["scan"]
    aws, gcp, azure = scan.get("aws", {}), scan.get("gcp", {}), scan.get("azure", {})
    if scan.get("from") and (aws or gcp or azure):
        raise ConfigError(f"{path}: scan: give `from` (export files) or live targets (aws / gcp / azure), not both")
    targets = ScanTargets(
        from_paths=tuple(at(p) for p in scan.get("from", ())),
        profile=aws.get("profile"),
        regions=tuple(aws.get("regions", ())),
        assume_role=aws.get("assume_role"),
        accounts=tuple(aws.get("accounts", ())),
        parallel=aws.get("parallel", 4),
        gcp_organization=gcp.get("organization"),
        gcp_projects=tuple(gcp.get("projects", ())),
        azure_subscriptions=tuple(azure.get("subscriptions", ())),
        azure_all_subscriptions=bool(azure.get("all_subscriptions", False)),
    )
    thresholds = dict(data.get("thresholds", {}))
    if "owner_keys" in thresholds:
        thresholds["owner_keys"] = tuple(thresholds["owner_keys"])
    findings = data.get("findings", {})
    drift = data.get("drift", {})
    return RunConfig(
        path=path,
        label=data.get("label", ""),
        scan=targets,
        settings=Settings(**thresholds),
        suppressions=at(findings["suppressions"]) if "suppressions" in findings else None,
        fail_on=Severity(findings["fail_on"]) if "fail_on" in findings else None,
        finding_outputs=tuple(Output(format=o["format"], path=at(o["path"])) for o in findings.get("outputs", ())),
        drift_against=drift.get("against") if drift else None,
        drift_fail_on=drift.get("fail_on"),
        drift_outputs=tuple(Output(format=o["format"], path=at(o["path"])) for o in drift.get("outputs", ())),
    )


__all__ = ["SCHEMA", "ConfigError", "Output", "RunConfig", "ScanTargets", "load_config"]

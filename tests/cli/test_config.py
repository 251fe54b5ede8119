"""``iamdrift.toml``: what it says is what the run does, and a mistake in it stops the run before
anything is scanned, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from iamdrift.config import ConfigError, load_config
from simulator.findings import Severity

FULL = """
label = "nightly"

[scan]
from = ["exports/aws", "/abs/gcp"]

[thresholds]
key_max_age_days = 30
owner_keys = ["team", "owner"]

[findings]
suppressions = "suppressions.json"
fail_on = "high"
outputs = [{ format = "sarif", path = "out/iamdrift.sarif" }, { format = "markdown", path = "out/f.md" }]

[drift]
against = "baseline"
fail_on = "new-admin-path"
outputs = [{ format = "json", path = "out/drift.json" }]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "iamdrift.toml"
    path.write_text(text)
    return path


def test_a_full_config_is_read_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.label == "nightly"
    assert config.scan.from_paths == (tmp_path / "exports/aws", Path("/abs/gcp"))
    assert config.settings.key_max_age_days == 30
    assert config.settings.unused_days == 90  # not given: the default
    assert config.settings.owner_keys == ("team", "owner")
    assert config.suppressions == tmp_path / "suppressions.json"
    assert config.fail_on is Severity.HIGH
    assert [(o.format, o.path) for o in config.finding_outputs] == [
        ("sarif", tmp_path / "out/iamdrift.sarif"),
        ("markdown", tmp_path / "out/f.md"),
    ]
    assert config.drift_against == "baseline" and config.drift_fail_on == "new-admin-path"


def test_live_targets(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[scan]\naws = { profile = "audit", regions = ["us-east-1"] }\ngcp = { projects = ["p1"] }\n'
            "azure = { all_subscriptions = true }\n",
        )
    )
    assert config.scan.profile == "audit" and config.scan.regions == ("us-east-1",)
    assert config.scan.gcp_projects == ("p1",) and config.scan.azure_all_subscriptions
    assert config.finding_outputs == () and config.drift_against is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[scan]\nfrom = ["x"]\n[thresholds]\nkey_max_age_dayz = 3\n', "Additional properties"),
        ('[scan]\nfrom = ["x"]\n[findings]\nfail_on = "severe"\n', "findings.fail_on"),
        ('[scan]\nfrom = ["x"]\n[findings]\noutputs = [{ format = "pdf", path = "a" }]\n', "findings.outputs.0.format"),
        ("[thresholds]\nunused_days = 5\n", "'scan' is a required property"),
        ('[scan]\nfrom = ["x"]\naws = { profile = "p" }\n', "not both"),
        ("[scan\n", "not valid TOML"),
    ],
)
def test_a_mistake_is_one_error_naming_the_file_and_the_key(tmp_path: Path, text: str, said: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path)) and said in str(caught.value)


def test_a_missing_file_is_said(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")

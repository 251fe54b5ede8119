"""``graph``, ``paths --to-admin``, ``reach`` and who-can's chains on the demo estate, as scripts
use them: the JSON shapes the README documents, the planted chains, the kept graph, refusals."""

from __future__ import annotations

import json
import sqlite3
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import run

PROD = "222222222222"
ADMIN_EXEC = f"arn:aws:iam::{PROD}:role/admin-lambda-exec"
DEPLOYER = f"arn:aws:iam::{PROD}:role/lambda-deployer"
ANY_REPO_ROLE = f"arn:aws:iam::{PROD}:role/github-ci-any-repo"
BRIDGE = f"arn:aws:iam::{PROD}:role/gcp-deployer-bridge"
GITHUB = "https://token.actions.githubusercontent.com"
SHOP_REPO = f"{GITHUB}|repo:example/shop:*"
CI_RUNNER = "serviceAccount:ci-runner@shop-dev.iam.gserviceaccount.com"
PAYMENTS_API = "serviceAccount:payments-api@shop-prod.iam.gserviceaccount.com"
PASSROLE_LAMBDA = "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction"
EDGE_KEYS = {"from", "to", "mechanism", "status", "witness", "condition"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('graph') / 'demo.db'}"
    assert run("demo", "--json", db=url).returncode == 0
    built = run("graph", "--json", db=url)
    assert built.returncode == 0, built.stderr
    return url


def json_of(*args: str, db: str) -> dict[str, Any]:
    result = run(*args, "--json", db=db)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def assert_chain(entry: dict[str, Any]) -> None:
    """A chain's edges join up from its start to its end, and a proven edge shows its witnesses."""
    edges = entry["edges"]
    assert edges and edges[0]["from"] == entry["from"] and edges[-1]["to"] == entry["to"]
    assert all(a["to"] == b["from"] for a, b in pairwise(edges))
    for edge in edges:
        assert set(edge) >= EDGE_KEYS
        assert edge["status"] in ("proven", "unknown")
        if edge["status"] == "proven" and edge["mechanism"] != "token-match":
            assert edge["witness"] or edge.get("facts"), edge
    assert entry["status"] == ("proven" if all(e["status"] == "proven" for e in edges) else "unknown")


def test_paths_to_admin_lists_the_planted_chains_each_explained(demo_db: str) -> None:
    data = json_of("paths", "--to-admin", db=demo_db)
    admins = {a["id"]: a for a in data["admins"]}
    assert ADMIN_EXEC in admins and {"id", "cloud", "scope", "why"} <= set(admins[ADMIN_EXEC])
    assert DEPLOYER not in admins
    paths = {p["from"]: p for p in data["paths"]}
    for path in data["paths"]:
        assert_chain(path)
        assert path["from"] not in admins
    deployer = paths[DEPLOYER]
    assert deployer["status"] == "proven" and deployer["to"] == ADMIN_EXEC
    assert [e["mechanism"] for e in deployer["edges"]] == [PASSROLE_LAMBDA]
    steps = deployer["edges"][0]["witness"]
    assert {w["action"] for w in steps} >= {"iam:PassRole", "lambda:CreateFunction"}
    any_repo = paths[f"{GITHUB}|repo:*"]
    assert [e["to"] for e in any_repo["edges"]] == [ANY_REPO_ROLE, DEPLOYER, ADMIN_EXEC]
    assert any_repo["edges"][0]["mechanism"] == "sts:AssumeRoleWithWebIdentity"
    assert "repo:*" in any_repo["edges"][0]["condition"]
    statuses = [p["status"] for p in data["paths"]]
    assert statuses == sorted(statuses, key=lambda s: s != "proven")  # proven chains first


def test_paths_from_one_start_and_a_depth_bound(demo_db: str) -> None:
    one = json_of("paths", "--to-admin", "--from", ANY_REPO_ROLE, db=demo_db)["paths"]
    assert [p["from"] for p in one] == [ANY_REPO_ROLE] and len(one[0]["edges"]) == 2
    assert json_of("paths", "--to-admin", "--from", ANY_REPO_ROLE, "--max-depth", "1", db=demo_db)["paths"] == []


def test_reach_crosses_from_github_through_google_cloud_into_aws(demo_db: str) -> None:
    data = json_of("reach", SHOP_REPO, db=demo_db)
    assert data["from"] == SHOP_REPO
    reaches = {r["to"]: r for r in data["reaches"]}
    bridge = reaches[BRIDGE]
    assert_chain({"from": SHOP_REPO, **bridge})
    mechanisms = [e["mechanism"] for e in bridge["edges"]]
    assert "iam.serviceAccounts.getOpenIdToken" in mechanisms and mechanisms[-1] == "sts:AssumeRoleWithWebIdentity"
    assert [e["cloud"] for e in bridge["edges"]][-1] == "aws" and "gcp" in {e["cloud"] for e in bridge["edges"]}
    id_token = next(e["to"] for e in bridge["edges"] if e["mechanism"] == "iam.serviceAccounts.getOpenIdToken")
    assert id_token.startswith("https://accounts.google.com|")  # an ID token, not the account itself


def test_reach_shows_the_dev_account_minting_a_prod_one(demo_db: str) -> None:
    reaches = {r["to"]: r for r in json_of("reach", CI_RUNNER, db=demo_db)["reaches"]}
    first = reaches[PAYMENTS_API]["edges"]
    assert reaches[PAYMENTS_API]["status"] == "proven" and len(first) == 1
    assert first[0]["mechanism"] == "iam.serviceAccounts.getAccessToken"


def test_azure_github_federated_credential_is_an_edge(demo_db: str) -> None:
    subject = f"{GITHUB}|repo:example/deploy:environment:dev"
    reaches = json_of("reach", subject, db=demo_db)["reaches"]
    federated = [r for r in reaches if r["edges"][0]["mechanism"] == "federated-credential"]
    assert federated and all(r["edges"][0]["cloud"] == "azure" for r in federated)
    assert all(r["edges"][0]["status"] == "proven" and r["edges"][0]["facts"] for r in federated)


def test_reach_names_the_groups_of_unread_membership_a_principal_may_be_in(demo_db: str) -> None:
    alice, security_team = "f02b8c5e-aa64-41d3-a881-38017bbaa9ef", "28ccefde-6145-4574-95cb-20a5f6a7b605"
    maybe = json_of("reach", alice, db=demo_db)["maybe_member_of"]
    assert security_team in maybe  # its members were not read, and it is the source of edges
    assert json_of("reach", security_team, db=demo_db)["maybe_member_of"] == []  # a group itself: none
    # Erin's Google groups were read (prod-oncall, developers): none is named for her.
    assert (
        "group:prod-oncall@example.com" not in json_of("reach", "user:erin@example.com", db=demo_db)["maybe_member_of"]
    )
    text = run("reach", alice, db=demo_db).stdout
    assert "not proven either way" in text and "Security Team" in text


def test_the_kept_graph_is_read_and_rebuilt_only_when_asked(demo_db: str) -> None:
    again = run("reach", DEPLOYER, db=demo_db)
    assert again.returncode == 0 and "built the mint graph" not in again.stderr
    assert "admin-lambda-exec ⇒ admin" in again.stdout
    rebuilt = run("reach", DEPLOYER, "--rebuild", db=demo_db)
    assert rebuilt.returncode == 0 and "built the mint graph" in rebuilt.stderr
    assert rebuilt.stdout == again.stdout


def test_text_paths_are_one_readable_chain_per_line(demo_db: str) -> None:
    result = run("paths", "--to-admin", db=demo_db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "admin-equivalent" in lines[0]
    chain = next(line for line in lines if line.startswith("proven  github:repo:*"))
    assert "→ github-ci-any-repo → lambda-deployer → admin-lambda-exec ⇒ admin" in chain
    assert "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction" in chain


def test_who_can_says_which_answers_are_direct_and_shows_chains(demo_db: str) -> None:
    args = ("who-can", "iam:PassRole", ADMIN_EXEC)
    both = json_of(*args, db=demo_db)["principals"]
    direct = json_of(*args, "--direct", db=demo_db)["principals"]
    assert {p["principal"] for p in both if p["direct"]} == {p["principal"] for p in direct}
    through = {p["principal"]: p for p in both if not p["direct"]}
    assert ANY_REPO_ROLE in through and DEPLOYER not in through
    assert through[ANY_REPO_ROLE]["via"] == DEPLOYER
    assert [e["to"] for e in through[ANY_REPO_ROLE]["chain"]] == [DEPLOYER]


def test_unknown_nodes_and_bad_options_are_refused(demo_db: str) -> None:
    missing = run("reach", "nobody", db=demo_db)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "is no identity, workload or node" in missing.stderr
    assert run("paths", "--to-admin", "--at", "yesterday", db=demo_db).returncode == 2
    assert run("paths", db=demo_db).returncode == 2  # --to-admin is the question it answers


@pytest.fixture
def own_copy(demo_db: str, tmp_path: Path) -> str:
    """A copy of the demo store this test may damage."""
    source = Path(demo_db.removeprefix("sqlite:///"))
    copied = tmp_path / "copy.db"
    with sqlite3.connect(source) as old, sqlite3.connect(copied) as new:
        old.backup(new)
    return f"sqlite:///{copied}"


def test_a_damaged_part_of_the_kept_graph_is_one_clear_error(own_copy: str) -> None:
    path = own_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE snapshot_artifact_parts SET payload = '[\"x\"' WHERE kind = 'graph'")
    for args in (("paths", "--to-admin", "--json"), ("reach", SHOP_REPO, "--json")):
        damaged = run(*args, db=own_copy)
        assert damaged.returncode == 1 and damaged.stderr.count("\n") == 1, damaged.stderr
        assert "of the stored graph cannot be read" in damaged.stderr and "rebuild it" in damaged.stderr
    assert run("graph", "--json", db=own_copy).returncode == 0  # rebuilding mends it
    assert json_of("paths", "--to-admin", db=own_copy)["paths"]


def test_a_graph_kept_in_an_older_format_is_built_again(own_copy: str) -> None:
    path = own_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE snapshot_artifacts SET payload = '{\"format\": \"iamdrift.graph/2\"}' WHERE kind = 'graph'"
        )
    again = run("paths", "--to-admin", "--json", db=own_copy)
    assert again.returncode == 0, again.stderr
    assert "format 'iamdrift.graph/2'" in again.stderr and "building it anew" in again.stderr
    assert {p["from"] for p in json.loads(again.stdout)["paths"]} == {
        p["from"] for p in json_of("paths", "--to-admin", db=own_copy)["paths"]
    }

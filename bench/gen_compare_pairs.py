"""Generated compare pairs of the hard kinds (issue 8 targets), deterministic for a seed.

Each pair is an identity policy and an edited copy whose statements use policy variables in
Resource and NotResource (resolving or not), NotAction / NotResource, ``...IfExists`` operators,
numeric, date and IP conditions (``aws:EpochTime`` as a number and as a date too) and wildcards.

Usage::

    python bench/gen_compare_pairs.py --out pairs.jsonl            # write 300 pairs (JSON lines)
    python bench/gen_compare_pairs.py --measure                    # compare each in-process, print figures
    python bench/gen_compare_pairs.py --measure --huge 5000        # also one 5,000-statement pair

``iamdrift compare --batch pairs.jsonl --json`` reads the written file. Targets: median <= 20 ms,
p99 <= 1 s, no pair past its deadline (timeout + 1 s), <= 1% unknown.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ACTIONS = [
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:Get*", "s3:*", "s3:Put*Tagging",
    "ec2:Describe*", "ec2:RunInstances", "ec2:*Instances", "iam:PassRole", "iam:Get*", "kms:Decrypt", "kms:*",
    "lambda:InvokeFunction", "dynamodb:GetItem", "dynamodb:*", "sqs:SendMessage", "sts:AssumeRole", "*",
]  # fmt: skip
RESOURCES = [
    "*", "arn:aws:s3:::data-bucket/*", "arn:aws:s3:::data-bucket", "arn:aws:s3:::logs-*/*",
    "arn:aws:s3:::team/${aws:username}/*", "arn:aws:s3:::*/home/${aws:username}/*",
    "arn:aws:s3:::shared/${aws:PrincipalTag/team}/*", "arn:aws:s3:::scratch/${aws:userid, 'anonymous'}/*",
    "arn:aws:iam::111111111111:role/${aws:PrincipalTag/app}-*", "arn:aws:kms:us-east-1:111111111111:key/*",
    "arn:aws:iam::111111111111:role/app-*", "arn:aws:dynamodb:*:111111111111:table/orders",
    "arn:aws:lambda:*:111111111111:function:worker-*", "arn:aws:sqs:us-east-1:111111111111:jobs",
    "arn:aws:ec2:*:*:instance/*",
]  # fmt: skip
CONDITIONS: list[dict[str, Any]] = [
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
    {"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}},
    {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}},
    {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
    {"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "900"}},
    {"NumericGreaterThanEquals": {"aws:EpochTime": "1735689600"}},
    {"NumericLessThan": {"aws:EpochTime": 1767225600}},
    {"DateLessThan": {"aws:EpochTime": "2026-01-01T00:00:00Z"}},
    {"DateGreaterThan": {"aws:CurrentTime": "2025-06-01T00:00:00Z"}},
    {"DateLessThanIfExists": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}},
    {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01"}, "DateLessThan": {"aws:CurrentTime": "2026-01-01"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "shared/*"]}},
    {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "${aws:username}"}},
    {"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:lambda:*:111111111111:function:*"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "team-*"}},
    {"Null": {"aws:ResourceTag/owner": "false"}},
]  # fmt: skip


def random_statement(rng: random.Random) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Deny" if rng.random() < 0.25 else "Allow",
        "Action" if rng.random() < 0.8 else "NotAction": rng.sample(ACTIONS, rng.randint(1, 4)),
        "Resource" if rng.random() < 0.7 else "NotResource": rng.sample(RESOURCES, rng.randint(1, 3)),
    }
    if rng.random() < 0.6:
        block: dict[str, Any] = {}
        for condition in rng.sample(CONDITIONS, rng.randint(1, 2)):
            for operator, keys in condition.items():
                block.setdefault(operator, {}).update(keys)
        statement["Condition"] = block
    return statement


def edit(policy: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A plausible next version: an action, resource or condition added, dropped or changed, an
    effect flipped, a statement added, or nothing changed."""
    new = copy.deepcopy(policy)
    statements = new["Statement"]
    target = rng.choice(statements)
    action_key = "Action" if "Action" in target else "NotAction"
    resource_key = "Resource" if "Resource" in target else "NotResource"
    choice = rng.randrange(9)
    if choice == 0:
        target[action_key] = sorted(set(target[action_key]) | {rng.choice(ACTIONS)})
    elif choice == 1 and len(target[action_key]) > 1:
        target[action_key] = target[action_key][:-1]
    elif choice == 2:
        target[resource_key] = sorted(set(target[resource_key]) | {rng.choice(RESOURCES)})
    elif choice == 3:
        target[resource_key] = [rng.choice(RESOURCES)]
    elif choice == 4:
        target["Condition"] = copy.deepcopy(rng.choice(CONDITIONS))
    elif choice == 5:
        target.pop("Condition", None)
    elif choice == 6:
        target["Effect"] = "Deny" if target["Effect"] == "Allow" else "Allow"
    elif choice == 7:
        statements.append(random_statement(rng))
    return new


def generate(count: int = 300, seed: int = 8) -> list[dict[str, Any]]:
    """``count`` pairs ``{"id", "old", "new"}`` (identity policies of 1-6 statements)."""
    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        old = {"Version": "2012-10-17", "Statement": [random_statement(rng) for _ in range(rng.randint(1, 6))]}
        pairs.append({"id": f"hard-{i}", "old": old, "new": edit(old, rng)})
    return pairs


def huge_pair(statements: int, seed: int = 9) -> dict[str, Any]:
    """One pair whose NEW has ``statements`` statements (far past AWS's policy size limits)."""
    rng = random.Random(seed)
    old = {"Version": "2012-10-17", "Statement": [random_statement(rng) for _ in range(statements)]}
    return {"id": f"huge-{statements}", "old": old, "new": edit(old, rng)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(pairs: list[dict[str, Any]], timeout_ms: int) -> dict[str, Any]:
    """Compare each pair in one process and one z3 session; timings per pair (parse included)."""
    from simulator.aws.catalog import load_catalog
    from simulator.aws.compare import compare
    from simulator.aws.encode import Z3Session
    from simulator.aws.policy import parse_policy

    load_catalog()
    session = Z3Session()
    timings: list[float] = []
    relations: dict[str, int] = {}
    unknown: list[dict[str, Any]] = []
    late: list[str] = []
    warnings = 0
    for pair in pairs:
        start = time.perf_counter()
        old = parse_policy(pair["old"], "old", kind="identity")
        new = parse_policy(pair["new"], "new", kind="identity")
        result = compare(old, new, timeout_ms=timeout_ms, session=session)
        elapsed = time.perf_counter() - start
        timings.append(elapsed)
        relations[result.relation] = relations.get(result.relation, 0) + 1
        warnings += bool(result.warnings)
        if result.relation == "unknown":
            unknown.append({"id": pair["id"], "reasons": result.reasons})
        if elapsed > timeout_ms / 1000 + 1:
            late.append(pair["id"])
    median, p99 = statistics.median(timings), percentile(timings, 0.99)
    return {
        "pairs": len(pairs),
        "timeout_ms": timeout_ms,
        "median_ms": round(median * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(max(timings) * 1000, 2),
        "relations": relations,
        "unknown": unknown,
        "past_deadline": late,
        "with_warnings": warnings,
        "targets": {"median_ms": 20, "p99_ms": 1000, "unknown_share": 0.01, "past_deadline": 0},
        "meets_targets": median <= 0.020 and p99 <= 1.0 and len(unknown) <= len(pairs) // 100 and not late,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, help="write the pairs here as JSON lines")
    parser.add_argument("--measure", action="store_true", help="compare every pair and print the figures (JSON)")
    parser.add_argument("--huge", type=int, default=0, help="also measure one pair of this many statements")
    parser.add_argument("--timeout", type=int, default=10_000, help="compare's timeout (ms)")
    args = parser.parse_args(argv)
    pairs = generate(args.count, args.seed)
    if args.out:
        args.out.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    if args.measure:
        figures: dict[str, Any] = {"generated": measure(pairs, args.timeout)}
        if args.huge:
            figures["huge"] = measure([huge_pair(args.huge)], args.timeout)
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

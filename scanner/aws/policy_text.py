"""Policy documents arrive as objects (AWS CLI, boto3 for IAM), JSON strings (S3, SQS, SNS, KMS,
Organizations) or URL-encoded JSON strings (the raw IAM API). All become JSON objects here."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote


class PolicyTextError(ValueError):
    pass


def parse_policy_document(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise PolicyTextError(f"a policy document must be a JSON object or string, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyTextError(f"policy document is not valid JSON ({exc.msg} at char {exc.pos})") from exc
    if not isinstance(doc, dict):
        raise PolicyTextError("a policy document must be a JSON object")
    return doc


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's statements as a list (``Statement`` may be a single object)."""
    raw = document.get("Statement", [])
    items = raw if isinstance(raw, list) else [raw]
    return [s for s in items if isinstance(s, dict)]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

"""The IAM credential report (``aws iam get-credential-report``), decoded from its CSV."""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime
from typing import Any

from scanner.aws.dates import parse_time

HEADER_START = "user,arn,user_creation_time"


def decode_report_content(content: Any) -> str:
    """``Content`` is bytes from boto3 and base64 text in the AWS CLI's JSON output."""
    if isinstance(content, bytes):
        return content.decode("utf-8")
    if isinstance(content, str):
        if content.lstrip().startswith(HEADER_START):
            return content
        return base64.b64decode(content, validate=True).decode("utf-8")
    raise ValueError(f"credential report Content has unexpected type {type(content).__name__}")


def report_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or reader.fieldnames[:3] != HEADER_START.split(","):
        raise ValueError("not an IAM credential report (the header must start with 'user,arn,user_creation_time')")
    return list(reader)


def report_time(value: str | None) -> datetime | None:
    """Report cells hold a date or one of N/A, not_supported, no_information."""
    if not value or value in ("N/A", "not_supported", "no_information"):
        return None
    return parse_time(value)


def report_value(value: str | None) -> str | None:
    if not value or value in ("N/A", "not_supported", "no_information"):
        return None
    return value

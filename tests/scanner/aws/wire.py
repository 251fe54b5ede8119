"""Error answers in AWS's own wire formats, for botocore's ``before-send`` event.

A handler returning one of these short-circuits the HTTP send; botocore then parses it, retries
and raises exactly as it would for the real service's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _response(status: int, body: str, content_type: str) -> AWSResponse:
    headers = {"Content-Type": content_type, "x-amzn-RequestId": "00000000-0000-0000-0000-000000000000"}
    return AWSResponse("https://fake.amazonaws.com/", status, headers, _Raw(body.encode()))


def json_error(code: str, message: str, status: int = 400) -> AWSResponse:
    """JSON-protocol services (KMS, Secrets Manager, ECS, ...)."""
    return _response(status, f'{{"__type":"{code}","message":"{message}"}}', "application/x-amz-json-1.1")


def query_error(code: str, message: str, status: int = 400) -> AWSResponse:
    """Query-protocol services (IAM, STS, SNS, EC2-style ErrorResponse)."""
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>00000000</RequestId></ErrorResponse>"
    )
    return _response(status, body, "text/xml")


def s3_error(code: str, message: str, status: int = 403) -> AWSResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return _response(status, body, "application/xml")


def answer(response: Callable[[], AWSResponse], counter: list[int] | None = None) -> Callable[..., AWSResponse]:
    """A before-send handler that always returns ``response()`` (and counts the attempts)."""

    def handler(**_: Any) -> AWSResponse:
        if counter is not None:
            counter.append(1)
        return response()

    return handler

"""Error answers in AWS's own wire formats, for botocore's ``before-send`` event.

A handler returning one of these short-circuits the HTTP send; botocore then parses it, retries
and raises exactly as it would for the real service's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser


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


def json_answer(body: dict[str, Any]) -> AWSResponse:
    """A successful answer of a JSON-protocol service (App Runner, SageMaker, ...)."""
    return _response(200, json.dumps(body), "application/x-amz-json-1.1")


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


def answered(body: Callable[[], dict[str, Any]]) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    """A before-call handler answering a JSON-protocol operation with ``body()``, parsed by botocore
    against the operation's output shape. For reads moto implements (or half-implements): moto
    answers at before-send, so a before-send handler would never be reached there."""

    def handler(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        text = json.dumps(body()).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "00000000"}
        parser = create_parser("json")  # the answer is written as JSON, whichever protocol the client speaks
        parsed = parser.parse({"status_code": 200, "headers": headers, "body": text}, model.output_shape)
        return _response(200, text.decode(), headers["Content-Type"]), parsed

    return handler


def refused(code: str, message: str, status: int = 403) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    """A before-call handler refusing the operation with ``code`` (for reads moto answers itself)."""

    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return _response(status, "", "application/x-amz-json-1.1"), parsed

    return handler

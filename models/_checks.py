"""Small validators shared by the model types' ``__post_init__`` checks."""

from __future__ import annotations

from datetime import datetime


class ModelError(ValueError):
    """A model object was built with a value it cannot hold."""


def require_text(owner: str, field: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ModelError(f"{owner}.{field} must be a non-empty string, got {value!r}")


def require_aware(owner: str, field: str, value: datetime | None) -> None:
    """Timestamps are compared across clouds and scans, so they must carry a time zone."""
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise ModelError(f"{owner}.{field} must be a timezone-aware datetime, got {value!r}")


def require_tuple(owner: str, field: str, value: object) -> None:
    if not isinstance(value, tuple):
        raise ModelError(f"{owner}.{field} must be a tuple, got {type(value).__name__}")

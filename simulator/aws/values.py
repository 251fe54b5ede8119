"""Value syntax shared by both engines: patterns with wildcards and policy variables, IP
addresses and CIDR blocks, dates, numbers, booleans. Parsing only; matching lives in each engine.

Patterns (Resource, NotResource, String* and Arn* condition values):

- ``*`` matches any run of characters, ``?`` any one character (only where wildcards apply:
  Resource, NotResource, ``StringLike``, ``ArnLike``/``ArnEquals``; elsewhere they are literal).
- ``${key}`` is the request-context value of ``key`` (case-insensitive), inserted literally;
  ``${key, 'default'}`` falls back to the default when the key is absent. ``${*}``, ``${?}``,
  ``${$}`` are the literal characters. A value whose variable is absent (and has no default)
  matches nothing. Variables only exist in documents with ``"Version": "2012-10-17"``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Star:
    pass


@dataclass(frozen=True)
class AnyChar:
    pass


@dataclass(frozen=True)
class Var:
    key: str  # lower-cased context key
    default: str | None = None


Part = Lit | Star | AnyChar | Var
Pattern = tuple[Part, ...]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def parse_pattern(text: str, *, wildcards: bool, variables: bool) -> Pattern:
    """Split ``text`` into literal runs, wildcards and variables (adjacent literals merged)."""
    parts: list[Part] = []

    def literal(chunk: str) -> None:
        if not chunk:
            return
        if wildcards:
            for piece in re.split(r"([*?])", chunk):
                if piece == "*":
                    parts.append(Star())
                elif piece == "?":
                    parts.append(AnyChar())
                elif piece:
                    _add_lit(parts, piece)
        else:
            _add_lit(parts, chunk)

    position = 0
    if variables:
        for match in _VARIABLE.finditer(text):
            literal(text[position : match.start()])
            inner = match.group(1)
            if inner in _SPECIAL:
                _add_lit(parts, _SPECIAL[inner])
            else:
                defaulted = _DEFAULT.match(inner)
                if defaulted:
                    parts.append(Var(defaulted.group(1).strip().lower(), defaulted.group(2)))
                else:
                    parts.append(Var(inner.strip().lower()))
            position = match.end()
    literal(text[position:])
    return tuple(parts)


def _add_lit(parts: list[Part], text: str) -> None:
    if parts and isinstance(parts[-1], Lit):
        parts[-1] = Lit(parts[-1].text + text)
    else:
        parts.append(Lit(text))


def pattern_variables(pattern: Pattern) -> set[str]:
    return {p.key for p in pattern if isinstance(p, Var)}


# --- Typed values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IpValue:
    """An address: ``version`` 4 or 6 and its integer value."""

    version: int
    value: int


@dataclass(frozen=True)
class CidrValue:
    version: int
    network: int
    prefix: int

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    def contains(self, ip: IpValue) -> bool:
        if ip.version != self.version:
            return False
        shift = self.bits - self.prefix
        return (ip.value >> shift) == (self.network >> shift)


def parse_ip(text: str) -> IpValue | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return IpValue(address.version, int(address))


def parse_cidr(text: str) -> CidrValue | None:
    """``10.0.0.0/8``, ``2001:db8::/32``, or a bare address (a /32 or /128). Host bits are ignored."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return CidrValue(network.version, int(network.network_address), network.prefixlen)


def parse_date(text: str) -> int | None:
    """Milliseconds since the epoch, from ISO 8601 (date, or date and time; a missing zone is
    UTC) or from epoch seconds."""
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return int(value) * 1000
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000) if parsed.microsecond == 0 else round(parsed.timestamp() * 1000)


def format_date(millis: int) -> str:
    seconds, ms = divmod(millis, 1000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ms:03d}Z" if ms else f"{base}Z"


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_number(text: str) -> Fraction | None:
    value = text.strip()
    if not _NUMBER.match(value):
        return None
    return Fraction(value)


def format_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return format(float(value), "f").rstrip("0").rstrip(".") if len(str(float(value))) < 20 else str(float(value))


def parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    return True if value == "true" else False if value == "false" else None


def format_ip(ip: IpValue) -> str:
    return str(ipaddress.ip_address(ip.value) if ip.version == 6 else ipaddress.IPv4Address(ip.value))

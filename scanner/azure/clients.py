"""Azure SDK clients for a live scan, built from one ``TokenCredential`` and injected into the collector.

``base_url`` is the Resource Manager endpoint, ``graph_url`` the Microsoft Graph endpoint;
``connection_verify`` is passed to the SDK's HTTP transport (``True``, ``False`` or a CA bundle
path). Tests point both endpoints at a local fake over https with a throw-away CA.

Without an injected credential the clients use ``DefaultAzureCredential``; when it can get no
token (nothing signed in, or every source it tried failed) the scan stops with one
:class:`~scanner.errors.ScanError` line saying how to sign in, as Google Cloud and AWS scans do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from azure.core import PipelineClient
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient

from scanner.errors import ScanError

ARM_URL = "https://management.azure.com"
GRAPH_URL = "https://graph.microsoft.com"
C = TypeVar("C")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
USER_AGENT = "iamdrift"
LOGIN_HINT = (
    "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal "
    "(--debug shows each source DefaultAzureCredential tried)"
)


def quiet_credential_logs() -> None:
    """Keep azure-identity's multi-line account of each credential source it tried off stderr
    (the scan's own error says it in one line). Call once per process, from the command line."""
    logging.getLogger("azure.identity").addHandler(logging.NullHandler())
    logging.getLogger("azure.identity").propagate = False


class DefaultCredential:
    """``DefaultAzureCredential``, whose failure to get any token is a :class:`ScanError`.

    ``DefaultAzureCredential`` raises ``ClientAuthenticationError`` both when nothing is signed in
    and when the first configured source fails; either way no request was sent to Azure, so the
    user's remedy is to sign in. (A token Azure then rejects is a 401, reported by the collector.)
    """

    def __init__(self) -> None:
        # az login, environment variables, workload or managed identity, ... in that family's order.
        from azure.identity import DefaultAzureCredential

        self._inner = DefaultAzureCredential()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            return self._inner.get_token(*scopes, **kwargs)
        except ClientAuthenticationError as exc:
            raise ScanError(f"no usable Azure credentials (DefaultAzureCredential got no token): {LOGIN_HINT}") from exc

    def close(self) -> None:
        self._inner.close()


@dataclass
class AzureClients:
    """Builds the SDK clients a scan uses; only their list/get operations are called.

    ``credential`` defaults to :class:`DefaultCredential` (``azure.identity.DefaultAzureCredential``).
    ``retry_total`` caps the SDK's retries (``None``: the SDK's default policy).
    """

    credential: TokenCredential | None = None
    base_url: str = ARM_URL
    graph_url: str = GRAPH_URL
    connection_verify: bool | str = True
    retry_total: int | None = None
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.credential is None:
            self.credential = DefaultCredential()

    @property
    def token_credential(self) -> TokenCredential:
        assert self.credential is not None
        return self.credential

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"connection_verify": self.connection_verify, "user_agent": USER_AGENT}
        if self.retry_total is not None:
            options["retry_total"] = self.retry_total
        return options

    def _cached(self, kind: str, key: str, build: Callable[[], C]) -> C:
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = build()
        return cast(C, self._cache[(kind, key)])

    def authorization(self, subscription_id: str) -> AuthorizationManagementClient:
        return self._cached(
            "authorization",
            subscription_id,
            lambda: AuthorizationManagementClient(
                self.token_credential, subscription_id, base_url=self.base_url, **self._options()
            ),
        )

    def msi(self, subscription_id: str) -> ManagedServiceIdentityClient:
        return self._cached(
            "msi",
            subscription_id,
            lambda: ManagedServiceIdentityClient(
                self.token_credential, subscription_id, base_url=self.base_url, **self._options()
            ),
        )

    def resources(self, subscription_id: str) -> ResourceManagementClient:
        return self._cached(
            "resources",
            subscription_id,
            lambda: ResourceManagementClient(
                self.token_credential, subscription_id, base_url=self.base_url, **self._options()
            ),
        )

    def management_groups(self) -> ManagementGroupsMgmtClient:
        return self._cached(
            "managementgroups",
            "",
            lambda: ManagementGroupsMgmtClient(self.token_credential, base_url=self.base_url, **self._options()),
        )

    def graph(self) -> PipelineClient[Any, Any]:
        """A plain azure-core pipeline to Microsoft Graph with a token for ``GRAPH_SCOPE``."""

        def build() -> PipelineClient[Any, Any]:
            retry = RetryPolicy(retry_total=self.retry_total) if self.retry_total is not None else RetryPolicy()
            return PipelineClient(
                self.graph_url,
                policies=[
                    HeadersPolicy({"Accept": "application/json"}),
                    UserAgentPolicy(USER_AGENT),
                    retry,
                    BearerTokenCredentialPolicy(self.token_credential, GRAPH_SCOPE),
                ],
                transport=RequestsTransport(connection_verify=self.connection_verify),
            )

        return self._cached("graph", "", build)

    def close(self) -> None:
        for client in self._cache.values():
            client.close()
        self._cache.clear()

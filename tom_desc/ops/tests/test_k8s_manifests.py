"""Every Kubernetes manifest renders with kustomize and validates strictly, and every workload
is locked down: non-root, resources set, no privilege escalation, ALL capabilities dropped."""

import re
import shutil

import pytest
import yaml

from ops.tests.deploytools import K8S_DIR, KUSTOMIZATIONS, documents, pod_specs, render, validate

# Capabilities NERSC Spin lets a container add back after dropping ALL.
SPIN_ALLOWED_CAPS = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"}
APP_IMAGE = re.compile(r"(^|/)tom-desc(:|$)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """name -> (path of the rendered YAML, its documents), for every kustomization."""
    out = tmp_path_factory.mktemp("rendered")
    result = {}
    for name, directory in KUSTOMIZATIONS.items():
        text = render(directory)
        path = out / f"{name}.yaml"
        path.write_text(text)
        result[name] = (path, documents(text))
    return result


def test_every_rendering_validates_strictly(rendered):
    paths = [path for path, _docs in rendered.values()]
    result = validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, (path, docs) in rendered.items():
        passed = [line for line in result.stdout.splitlines() if f"{path} passed for resource" in line]
        assert len(passed) == len(docs) > 10, f"{name}: {len(passed)} of {len(docs)} resources validated"


def test_the_validator_rejects_unknown_fields(tmp_path):
    """Control: the same validation call fails on a manifest with a misspelt field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}, "dataa": {}})
    )
    result = validate([bad])
    assert result.returncode != 0
    assert "dataa" in result.stdout + result.stderr


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_container_is_locked_down(rendered, name):
    _path, docs = rendered[name]
    workloads = list(pod_specs(docs))
    assert len(workloads) >= 9
    claim_templates = {
        f"StatefulSet/{doc['metadata']['name']}": doc["spec"].get("volumeClaimTemplates", [])
        for doc in docs
        if doc["kind"] == "StatefulSet"
    }
    for workload, template in workloads:
        spec = template["spec"]
        pod_sc = spec.get("securityContext", {})
        assert spec.get("automountServiceAccountToken") is False, workload
        assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", workload
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        volumes.update(
            {claim["metadata"]["name"]: {"persistentVolumeClaim": claim} for claim in claim_templates.get(workload, [])}
        )
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}: {workload}/{container['name']}"
            sc = container.get("securityContext", {})
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            assert isinstance(uid, int) and uid > 0, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            added = set(sc.get("capabilities", {}).get("add", []))
            if name == "spin_admin":
                assert added <= SPIN_ALLOWED_CAPS, where
            else:
                assert not added, where
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{where}: {kind}"
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, f"{where}: mount of unknown volume {mount['name']}"
            if APP_IMAGE.search(container["image"]):
                assert sc.get("readOnlyRootFilesystem") is True, where
                tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
                assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp must be an emptyDir"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_web_probes_and_rollout(rendered, name):
    _path, docs = rendered[name]
    web = next(doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "tom-desc-web")
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        headers = {h["name"]: h["value"] for h in container[probe]["httpGet"]["httpHeaders"]}
        assert headers == {"Host": "localhost"}
    config = next(
        doc for doc in docs if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("tom-desc-config")
    )
    assert "localhost" in config["data"]["ALLOWED_HOSTS"].split(","), "the probes' Host must be allowed"
    ingress = next(doc for doc in docs if doc["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    assert ingress["spec"]["rules"][0]["host"] in config["data"]["ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_references_resolve(rendered, name):
    """Names the workloads use exist in the same rendering (kustomize adds hash suffixes to
    ConfigMaps and must have rewritten every reference); the only Secrets are made outside."""
    _path, docs = rendered[name]
    configmaps = {doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc["kind"] == "ConfigMap"}
    claims = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "PersistentVolumeClaim"}
    services = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "Service"}
    template_labels = [template["metadata"]["labels"] for _w, template in pod_specs(docs)]
    for workload, template in pod_specs(docs):
        spec = template["spec"]
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, (workload, volume)
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, (workload, volume)
            if "secret" in volume:
                assert volume["secret"]["secretName"] == "tom-desc-secrets", (workload, volume)
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps, workload
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert env_key_exists(configmaps, ref), (workload, env)
    for doc in docs:
        if doc["kind"] == "Service":
            selector = doc["spec"]["selector"]
            assert any(selector.items() <= labels.items() for labels in template_labels), doc["metadata"]["name"]
        if doc["kind"] == "Ingress":
            for rule in doc["spec"]["rules"]:
                for path in rule["http"]["paths"]:
                    assert path["backend"]["service"]["name"] in services
        if doc["kind"] == "StatefulSet":
            assert doc["spec"]["serviceName"] in services


def env_key_exists(configmaps: dict, ref: dict) -> bool:
    return ref["key"] in configmaps.get(ref["name"], {})


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_no_secret_values_are_rendered(rendered, name):
    """The Secret template is local-config: `kubectl apply -k` never sends it, so it can never
    overwrite the real Secret. Any Secret that does appear must be an empty template."""
    _path, docs = rendered[name]
    for doc in docs:
        if doc["kind"] == "Secret":
            values = {**doc.get("data", {}), **doc.get("stringData", {})}
            assert all(value in ("", None) for value in values.values()), doc["metadata"]["name"]
    assert not [doc for doc in docs if doc["kind"] == "Secret"]


def test_required_objects_are_there(rendered):
    _path, docs = rendered["base"]
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in docs}
    for wanted in [
        ("Namespace", "tom-desc"),
        ("StatefulSet", "tom-desc-postgres"),
        ("Service", "tom-desc-postgres"),
        ("Deployment", "tom-desc-web"),
        ("Service", "tom-desc-web"),
        ("Ingress", "tom-desc"),
        ("Deployment", "tom-desc-brokerpoll"),
        ("Deployment", "tom-desc-long-query-runner"),
        ("CronJob", "tom-desc-send-alerts"),
        ("CronJob", "tom-desc-refresh-metrics"),
        ("CronJob", "tom-desc-prune-queries"),
        ("CronJob", "tom-desc-pg-backup"),
        ("Job", "tom-desc-migrate"),
        ("PersistentVolumeClaim", "tom-desc-backups"),
    ]:
        assert wanted in kinds, wanted
    commands = {name: template["spec"]["containers"][0].get("command") for name, template in pod_specs(docs)}
    assert commands["CronJob/tom-desc-send-alerts"][2:] == ["send_elasticc_alerts", "--added-days", "1", "--do"]
    assert commands["CronJob/tom-desc-prune-queries"][2:] == ["prune_queries", "--days", "30"]
    assert commands["CronJob/tom-desc-refresh-metrics"][2:] == ["refresh_metrics"]
    assert commands["Deployment/tom-desc-brokerpoll"][2:] == ["brokerpoll", "--config", "/etc/tom_desc/brokers.yaml"]
    assert commands["Job/tom-desc-migrate"][2:] == ["migrate", "--noinput"]
    assert commands["Deployment/tom-desc-web"] is None  # the image's gunicorn entrypoint


def test_spin_overlay_takes_the_identity_from_one_file(tmp_path):
    """Editing spin_admin/identity.yaml changes every tom_desc pod's uid/gid and nersc.gov/*
    annotations; postgres keeps its own uid; no Namespace is created."""
    shutil.copytree(K8S_DIR, tmp_path / "k8s")
    shutil.copytree(KUSTOMIZATIONS["spin_admin"], tmp_path / "spin_admin")
    identity = tmp_path / "spin_admin" / "identity.yaml"
    text = identity.read_text()
    text = text.replace('uid: "10001"', 'uid: "74321"').replace('gid: "10001"', 'gid: "71234"')
    text = text.replace("username: REPLACE_WITH_NERSC_USERNAME", "username: descuser")
    identity.write_text(text)
    docs = documents(render(tmp_path / "spin_admin"))
    assert not [doc for doc in docs if doc["kind"] == "Namespace"]
    assert not [doc for doc in docs if doc["metadata"]["name"] == "spin-identity"]
    app_pods = 0
    for workload, template in pod_specs(docs):
        sc = template["spec"]["securityContext"]
        image = template["spec"]["containers"][0]["image"]
        if APP_IMAGE.search(image):
            app_pods += 1
            assert (sc["runAsUser"], sc["runAsGroup"], sc["fsGroup"]) == (74321, 71234, 71234), workload
            annotations = template["metadata"]["annotations"]
            assert annotations["nersc.gov/uid"] == "74321" and annotations["nersc.gov/gid"] == "71234", workload
            assert annotations["nersc.gov/username"] == "descuser" and annotations["nersc.gov/roles"] == "user"
        else:
            assert sc["runAsUser"] == 999, workload  # postgres and its backup job
    assert app_pods == 7
    for doc in docs:
        if doc["kind"] == "PersistentVolumeClaim":
            assert doc["spec"]["storageClassName"] == "nfs-client"


def test_compose_and_kubernetes_share_one_postgres_init_script():
    """One file: the ConfigMap is generated from k8s/base/postgres-initdb.sh and compose mounts it."""
    import yaml

    compose = yaml.safe_load((K8S_DIR.parent / "docker-compose.yml").read_text())
    mounts = [v for service in compose["services"].values() for v in service.get("volumes", []) if isinstance(v, str)]
    assert "./k8s/base/postgres-initdb.sh:/docker-entrypoint-initdb.d/10-tom-desc.sh:ro" in mounts
    kustomization = yaml.safe_load((K8S_DIR / "base" / "kustomization.yaml").read_text())
    files = [f for gen in kustomization["configMapGenerator"] for f in gen.get("files", [])]
    assert "10-tom-desc.sh=postgres-initdb.sh" in files
    assert not (K8S_DIR.parent / "docker" / "postgres-initdb.sh").exists()

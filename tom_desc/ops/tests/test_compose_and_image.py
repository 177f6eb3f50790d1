"""docker-compose.yml passes `docker compose config -q` (the real Compose v2 binary), and the
Dockerfile passes hadolint and keeps the promises the manifests rely on."""

import json
import re

import pytest

from ops.tests.deploytools import REPO_DIR, compose_binary, run, tool

COMPOSE_FILE = REPO_DIR / "docker-compose.yml"
DOCKERFILE = REPO_DIR / "docker" / "Dockerfile"


def compose(*args: str, file=COMPOSE_FILE):
    return run([compose_binary(), "--project-directory", str(REPO_DIR), "-f", str(file), *args])


@pytest.mark.parametrize("profile", [[], ["--profile", "demo"]], ids=["default", "demo"])
def test_compose_config_is_valid(profile):
    result = compose(*profile, "config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_compose_rejects_a_broken_file(tmp_path):
    """Control: the binary's exit status really reports errors (the wheel's wrapper script does not)."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("condition: service_healthy", "condition: when_it_feels_like_it", 1)
    )
    result = compose("config", "-q", file=broken)
    assert result.returncode != 0
    assert "depends_on.postgres.condition" in result.stderr


def test_compose_services_and_order():
    result = compose("--profile", "demo", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    services = config["services"]
    assert set(services) == {
        "postgres",
        "kafka",
        "migrate",
        "web",
        "brokerpoll",
        "long_query_runner",
        "fakebroker",
        "alert_sender",
    }
    assert services["fakebroker"]["profiles"] == ["demo"] and services["alert_sender"]["profiles"] == ["demo"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("postgres:")
    assert any(volume["target"] == "/var/lib/postgresql" for volume in services["postgres"]["volumes"])
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "brokerpoll", "long_query_runner", "fakebroker", "alert_sender"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
    for name in ("migrate", "web", "brokerpoll", "long_query_runner", "fakebroker", "alert_sender"):
        service = services[name]
        assert service["user"] == "10001:10001" and service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert {s["source"] for s in service["secrets"]} >= {"django_secret_key", "db_password"}, name
        assert service["environment"]["DJANGO_SECRET_KEY_FILE"] == "/run/secrets/django_secret_key"
    assert services["brokerpoll"]["command"] == ["brokerpoll", "--config", "/etc/tom_desc/brokers.yaml"]
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]
    for name, secret in config["secrets"].items():
        assert secret["file"] == str(REPO_DIR / "secrets" / name)
        assert (REPO_DIR / "secrets" / f"{name}.template").exists(), name


def test_hadolint_passes():
    result = run([tool("hadolint"), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    """Control: hadolint's exit status fails on the classic mistakes."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN apt-get update && apt-get install -y curl\nCMD curl http://x\n")
    result = run([tool("hadolint"), "--no-color", str(bad)])
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # unpinned apt packages


def test_dockerfile_promises():
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)", text, flags=re.M)
    assert [name for _image, name in stages] == ["assets", "build", "runtime"]
    # The pages' npm packages are installed from the lock file and handed to collectstatic.
    assert "RUN npm ci --no-audit --no-fund --omit=dev" in text
    assert "COPY --from=assets /assets/node_modules /src/node_modules" in text
    assert "NODE_MODULES_DIR=/src/node_modules" in text
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    assert "tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']" in text
    assert "STATIC_MANIFEST=1" in text and "collectstatic --noinput" in text
    user = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert user == ["${APP_UID}:${APP_GID}"] and "ARG APP_UID=10001" in text
    assert re.search(r'^HEALTHCHECK .*\n\s+CMD \["python", "/app/docker/healthcheck.py"\]', text, flags=re.M)
    assert 'ENTRYPOINT ["gunicorn", "--config", "/app/docker/gunicorn.conf.py", "tom_desc.wsgi:application"]' in text
    # Only what the image needs goes into the build context.
    ignore = (REPO_DIR / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    for kept in (
        "!pyproject.toml",
        "!package.json",
        "!package-lock.json",
        "!tom_desc/",
        "!docker/gunicorn.conf.py",
        "!docker/healthcheck.py",
    ):
        assert kept in ignore


def test_image_assets_are_the_npm_packages_the_settings_serve():
    """Every vendor directory the settings serve comes from a package that npm ci installs."""
    from django.conf import settings

    packages = set(json.loads((REPO_DIR / "package.json").read_text())["dependencies"])
    vendor = [
        path
        for prefix, path in (d for d in settings.STATICFILES_DIRS if isinstance(d, tuple))
        if prefix.startswith("vendor/")
    ]
    assert vendor
    for path in vendor:
        relative = path.relative_to(settings.NODE_MODULES_DIR)
        package = "/".join(relative.parts[:2]) if relative.parts[0].startswith("@") else relative.parts[0]
        assert package in packages, f"{path} is not from a package in package.json"

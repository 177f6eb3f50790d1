"""The broker lists the deployments mount are valid brokerpoll configuration files."""

import pytest

from elasticc.stream.brokerconfig import load_broker_configs
from ops.tests.deploytools import K8S_DIR, REPO_DIR

SHIPPED = [REPO_DIR / "docker" / "brokers.yaml", *sorted(K8S_DIR.glob("**/brokers.yaml"))]


def test_every_deployment_ships_a_broker_list():
    assert {path.parent.name for path in SHIPPED} >= {"docker", "base", "dev", "prod"}


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(REPO_DIR)) for p in SHIPPED])
def test_broker_list_loads(path):
    configs = load_broker_configs(path)
    assert configs and all(config.topics and config.bootstrap_servers for config in configs)
    assert len({config.name for config in configs}) == len(configs)

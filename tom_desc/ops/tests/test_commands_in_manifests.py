"""Every `manage.py` command that docker-compose.yml and the Kubernetes manifests start exists,
and its arguments parse: a renamed command or option breaks this test, not a deployment."""

import re
import shlex

import pytest
import yaml
from django.core.management import get_commands, load_command_class

from ops.tests.deploytools import KUSTOMIZATIONS, REPO_DIR, documents, pod_specs, render


def _compose_invocations():
    compose = yaml.safe_load((REPO_DIR / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        entrypoint, command = service.get("entrypoint"), service.get("command")
        if entrypoint == ["python", "manage.py"]:
            yield f"compose:{name}", list(command)
        elif entrypoint == ["/bin/sh", "-c"]:
            for line in _shell_invocations(" ".join(command)):
                yield f"compose:{name}", line


def _shell_invocations(script: str):
    for match in re.finditer(r"python manage\.py ([^|;&\n]+)", script):
        yield shlex.split(match.group(1))


def _k8s_invocations():
    for overlay, directory in KUSTOMIZATIONS.items():
        for workload, template in pod_specs(documents(render(directory))):
            for container in template["spec"]["containers"]:
                command = container.get("command", []) + container.get("args", [])
                if command[:2] == ["python", "manage.py"]:
                    yield f"{overlay}:{workload}", command[2:]
                elif command[:2] == ["/bin/sh", "-c"]:
                    for line in _shell_invocations(" ".join(command[2:])):
                        yield f"{overlay}:{workload}", line


INVOCATIONS = sorted({(where, tuple(args)) for where, args in [*_compose_invocations(), *_k8s_invocations()]})


def test_the_manifests_start_the_expected_commands():
    started = {args[0] for _where, args in INVOCATIONS}
    assert {
        "migrate",
        "brokerpoll",
        "long_query_runner",
        "fakebroker",
        "send_elasticc_alerts",
        "refresh_metrics",
        "prune_queries",
    } <= started


@pytest.mark.parametrize("where,args", INVOCATIONS, ids=[f"{w}:{a[0]}" for w, a in INVOCATIONS])
def test_command_exists_and_its_arguments_parse(where, args):
    name, *options = args
    commands = get_commands()
    assert name in commands, f"{where} runs `manage.py {name}`, which does not exist"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(options)  # exits (SystemExit) on an unknown option or a bad value

"""Broker config files for brokerpoll: parsing, SASL/SSL settings, and what is refused."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from elasticc.stream.brokerconfig import BrokerConfig, ConfigError, load_broker_configs, topic_with_campaign

EXAMPLE = Path(__file__).resolve().parents[1] / "brokers.example.yaml"


def write(tmp_path, text, name="brokers.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_file_parses(monkeypatch):
    monkeypatch.setenv("PITT_KAFKA_PASSWORD", "s3cret")
    fake, pitt = load_broker_configs(EXAMPLE)
    assert (fake.name, fake.bootstrap_servers, fake.topics, fake.group_id) == (
        "fakebroker",
        "127.0.0.1:9092",
        ["elasticc-fakebroker", "elasticc2-fakebroker"],
        "tom_desc-brokerpoll",
    )
    assert fake.campaign_of("elasticc-fakebroker") == "elasticc"
    assert fake.campaign_of("elasticc2-fakebroker") == "elasticc2"
    assert pitt.topics == ["^elasticc-.*-classifications$"]
    assert pitt.campaign_of("elasticc-fink-classifications") == "elasticc"
    settings = pitt.consumer_settings()
    assert settings["security.protocol"] == "SASL_SSL"
    assert settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert settings["sasl.username"] == "tom_desc"
    assert settings["sasl.password"] == "s3cret"
    assert settings["ssl.ca.location"] == "/etc/ssl/certs/ca-certificates.crt"
    assert settings["session.timeout.ms"] == 30000
    # The exactly-once design owns these.
    assert settings["enable.auto.commit"] is False and settings["group.id"] == "tom_desc-brokerpoll-pitt"


def test_json_file_and_password_file(tmp_path):
    secret = write(tmp_path, "from-a-file\n", "password")
    path = write(
        tmp_path,
        json.dumps(
            {
                "brokers": [
                    {
                        "name": "b",
                        "bootstrap_servers": "k:9092",
                        "topic": "t1",
                        "group_id": "g",
                        "security": {
                            "protocol": "SASL_PLAINTEXT",
                            "sasl_mechanism": "PLAIN",
                            "sasl_username": "u",
                            "sasl_password_file": str(secret),
                        },
                    }
                ]
            }
        ),
        "brokers.json",
    )
    (config,) = load_broker_configs(path)
    assert config.topics == ["t1"]
    assert config.consumer_settings()["sasl.password"] == "from-a-file"


@pytest.mark.parametrize(
    "text, message",
    [
        ("brokers: []", "brokers"),
        ("brokers:\n  - name: a\n    bootstrap_servers: k\n    group_id: g\n", "topics"),
        ("brokers:\n  - name: a\n    topics: [t]\n    group_id: g\n", "bootstrap_servers"),
        ("brokers:\n  - name: a\n    bootstrap_servers: k\n    topics: [t]\n", "group_id"),
        (
            "brokers:\n  - name: a\n    bootstrap_servers: k\n    topics: [t]\n    group_id: g\n    colour: red\n",
            "colour",
        ),
        (
            "brokers:\n  - name: a\n    bootstrap_servers: k\n    topics: [t]\n    group_id: g\n"
            "    security: {sasl_password: hunter2}\n",
            "sasl_password_env",
        ),
        (
            "brokers:\n  - name: a\n    bootstrap_servers: k\n    topics: [t]\n    group_id: g\n"
            "    security: {sasl_password_env: NO_SUCH_VARIABLE_X}\n",
            "NO_SUCH_VARIABLE_X",
        ),
        (
            "brokers:\n  - name: a\n    bootstrap_servers: k\n    topics: [t]\n    group_id: g\n"
            "    consumer_config: {enable.auto.commit: true}\n",
            "enable.auto.commit",
        ),
        (
            "brokers:\n  - name: a\n    bootstrap_servers: k\n    topic_pattern: x.*\n    group_id: g\n    assign: true\n",
            "pattern",
        ),
        (
            "brokers:\n  - {name: a, bootstrap_servers: k, topics: [t], group_id: g}\n"
            "  - {name: a, bootstrap_servers: k, topics: [u], group_id: h}\n",
            "unique",
        ),
    ],
)
def test_bad_configs_are_refused_with_a_reason(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_broker_configs(write(tmp_path, text))


def test_topic_pattern_gets_its_caret(tmp_path):
    (config,) = load_broker_configs(
        write(tmp_path, "brokers:\n  - {name: a, bootstrap_servers: k, topic_pattern: 'elasticc-.*', group_id: g}\n")
    )
    assert config.topics == ["^elasticc-.*"]


def test_command_line_extras_cannot_override_offset_handling():
    config = BrokerConfig(name="x", bootstrap_servers="k", topics=["t"], group_id="g")
    assert config.consumer_settings({"session.timeout.ms": "2000"})["session.timeout.ms"] == "2000"
    with pytest.raises(ConfigError):
        config.consumer_settings({"enable.auto.commit": "true"})


def test_command_refuses_a_bad_config(tmp_path):
    with pytest.raises(CommandError, match="broker config"):
        call_command("brokerpoll", "--config", str(write(tmp_path, "brokers: 3")))
    with pytest.raises(CommandError, match="either"):
        call_command("brokerpoll", "--config", str(EXAMPLE), "--topic", "t")


def test_each_topic_names_its_campaign(tmp_path):
    text = (
        "brokers:\n"
        "  - name: a\n    bootstrap_servers: k\n    group_id: g\n    campaign: elasticc2\n"
        "    topics: [plain, {topic: old, campaign: elasticc}, {pattern: 'e2-.*', campaign: elasticc2}]\n"
        "  - {name: b, bootstrap_servers: k, group_id: h, topic_pattern: 'x-.*'}\n"
    )
    a, b = load_broker_configs(write(tmp_path, text))
    assert a.topics == ["plain", "old", "^e2-.*"]
    assert [a.campaign_of(t) for t in ("plain", "old", "e2-fink", "elsewhere")] == [
        "elasticc2",
        "elasticc",
        "elasticc2",
        "elasticc2",  # not configured: the broker's own campaign
    ]
    assert b.campaign_of("x-1") == "elasticc"  # no campaign anywhere: ELAsTiCC, as before


@pytest.mark.parametrize(
    "topics, message",
    [
        ("[{topic: t, campaign: elasticc3}]", "unknown campaign 'elasticc3'"),
        ("[{topic: t, pattern: u}]", "a topic entry is a name, or a mapping"),
        ("[{topic: t, colour: red}]", "a topic entry is a name, or a mapping"),
    ],
)
def test_bad_topic_entries_are_refused(tmp_path, topics, message):
    text = f"brokers:\n  - {{name: a, bootstrap_servers: k, group_id: g, topics: {topics}}}\n"
    with pytest.raises(ConfigError, match=message):
        load_broker_configs(write(tmp_path, text))


def test_command_line_topics_name_their_campaign():
    assert topic_with_campaign("elasticc2:elasticc2-fakebroker", "elasticc") == ("elasticc2-fakebroker", "elasticc2")
    assert topic_with_campaign("plain", "elasticc2") == ("plain", "elasticc2")
    assert topic_with_campaign("elasticc2:^e2-.*", "elasticc") == ("^e2-.*", "elasticc2")
    assert topic_with_campaign("^(?:a|b)", "elasticc") == ("^(?:a|b)", "elasticc")  # a pattern's own colon
    with pytest.raises(CommandError, match="invalid choice: 'elasticc3'"):
        call_command("brokerpoll", "--campaign", "elasticc3", "--topic", "t")

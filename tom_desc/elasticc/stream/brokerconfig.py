"""Which brokers to poll: a broker described in a YAML/JSON file or on the command line.

``BrokerConfig`` holds one broker (bootstrap servers, topics or a ``^pattern``, group id,
SASL/SSL options, schema) and turns it into librdkafka settings; ``load_broker_configs``
reads and checks a config file (format: docs/brokerpoll.md). Secrets come from the
environment or a mounted file, never from the config file itself, so config files can be
committed. Everything is checked when the file is read, not at the first poll.

Each topic names its campaign (``elasticc`` or ``elasticc2``: whose tables and taxonomy its
messages go to): a topic entry ``{topic: NAME, campaign: elasticc2}`` in a file, ``elasticc2:NAME``
on the command line, or the broker's ``campaign`` (default ``elasticc``) for a plain name. One
consumer, and so one brokerpoll process, can read both campaigns' topics.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticc.stream import brokertables

DEFAULT_SCHEMA = "elasticc.v0_9_1.brokerClassification"
DEFAULT_CAMPAIGN = "elasticc"

# Settings brokerpoll must own for its exactly-once design; a config file may not change them.
RESERVED_SETTINGS = {"enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers"}

SECURITY_KEYS = {
    # config key -> librdkafka setting
    "protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username",
    "ssl_ca_location": "ssl.ca.location",
    "ssl_certificate_location": "ssl.certificate.location",
    "ssl_key_location": "ssl.key.location",
    "ssl_endpoint_identification_algorithm": "ssl.endpoint.identification.algorithm",
}


class ConfigError(ValueError):
    """A broker config that cannot be used; the message names the broker and the key."""


@dataclass
class BrokerConfig:
    """One broker to poll. ``topics`` entries starting with ``^`` are regular expressions."""

    name: str
    bootstrap_servers: str
    topics: list[str]
    group_id: str
    schema: str = DEFAULT_SCHEMA
    security: dict[str, str] = field(default_factory=dict)
    consumer_config: dict[str, Any] = field(default_factory=dict)
    assign: bool = False  # read every partition without a consumer group (one poller only)
    campaign: str = DEFAULT_CAMPAIGN  # the campaign of topics that name none
    campaigns: dict[str, str] = field(default_factory=dict)  # topic entry (name or ^pattern) -> campaign

    def campaign_of(self, topic: str) -> str:
        """The campaign of a topic read from this broker: its own entry's, else the first
        pattern's it matches, else the broker's default."""
        if topic in self.campaigns:
            return self.campaigns[topic]
        for entry, campaign in self.campaigns.items():
            if entry.startswith("^") and re.match(entry, topic):
                return campaign
        return self.campaign

    def check_campaigns(self) -> None:
        """ConfigError for a campaign no app registered broker tables for."""
        for campaign in {self.campaign, *self.campaigns.values()}:
            if campaign not in brokertables.names():
                raise ConfigError(
                    f"broker {self.name!r}: unknown campaign {campaign!r} (known: {', '.join(brokertables.names())})"
                )

    def consumer_settings(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """librdkafka settings: safe defaults, then SASL/SSL, then the file's and caller's extras."""
        settings: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": self.group_id,
            "client.id": f"tom_desc-{self.name}-{socket.gethostname()}-{os.getpid()}",
            "enable.auto.commit": False,  # offsets live in the database
            "enable.auto.offset.store": False,
            # Every assigned partition is positioned explicitly (stored offset or beginning); an
            # out-of-range position is reported to the caller instead of silently moved.
            "auto.offset.reset": "error",
            "enable.partition.eof": False,
            "log.connection.close": False,
            "reconnect.backoff.ms": 200,
            "reconnect.backoff.max.ms": 10000,
            "topic.metadata.refresh.interval.ms": 30000,
        }
        settings.update(security_settings(self.security, self.name))
        for source in (self.consumer_config, extra or {}):
            reserved = RESERVED_SETTINGS & set(source)
            if reserved:
                raise ConfigError(f"broker {self.name!r}: {', '.join(sorted(reserved))} cannot be overridden")
            settings.update(source)
        return settings


def security_settings(security: dict[str, str], broker: str) -> dict[str, str]:
    """SASL/SSL options of a config file as librdkafka settings.

    The password is read from ``sasl_password_env`` (an environment variable name) or
    ``sasl_password_file`` (e.g. a mounted Kubernetes secret); a literal password in the
    file is refused so that config files can be committed safely.
    """
    out: dict[str, str] = {}
    for key, value in security.items():
        if key in SECURITY_KEYS:
            out[SECURITY_KEYS[key]] = str(value)
        elif key == "sasl_password_env":
            if str(value) not in os.environ:
                raise ConfigError(f"broker {broker!r}: environment variable {value} (sasl_password_env) is not set")
            out["sasl.password"] = os.environ[str(value)]
        elif key == "sasl_password_file":
            try:
                out["sasl.password"] = Path(value).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"broker {broker!r}: cannot read sasl_password_file: {exc}") from None
        elif key == "sasl_password":
            raise ConfigError(
                f"broker {broker!r}: put the password in sasl_password_env or "
                f"sasl_password_file, not in the config file"
            )
        else:
            raise ConfigError(
                f"broker {broker!r}: unknown security option {key!r} "
                f"(known: {', '.join(sorted([*SECURITY_KEYS, 'sasl_password_env', 'sasl_password_file']))})"
            )
    return out


def parse_consumer_options(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (brokerpoll --consumer-option) as librdkafka settings."""
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--consumer-option {item!r}: expected KEY=VALUE")
        extra[key.strip()] = value.strip()
    return extra


def topic_with_campaign(value: str, default: str) -> tuple[str, str]:
    """(topic, campaign) of a command-line topic: ``elasticc2:NAME`` or ``elasticc2:^pattern``
    names its campaign, a plain ``NAME`` takes `default`. (Kafka topic names cannot contain a
    colon, and a pattern's own colons come after its ``^``.)"""
    prefix, sep, rest = value.partition(":")
    if sep and prefix in brokertables.names():
        return rest, prefix
    return value, default


def _topic_entries(entry: dict, name: str, default: str) -> dict[str, str]:
    """{topic or ^pattern: campaign} of a broker entry's topics, topic and topic_pattern keys."""
    topics = entry.get("topics") or []
    if isinstance(topics, (str, dict)):
        topics = [topics]
    if entry.get("topic"):
        topics = [*topics, entry["topic"]]
    if entry.get("topic_pattern"):
        pattern = str(entry["topic_pattern"])
        topics = [*topics, pattern if pattern.startswith("^") else "^" + pattern]
    out: dict[str, str] = {}
    for item in topics:
        if isinstance(item, dict):
            unknown = set(item) - {"topic", "pattern", "campaign"}
            if unknown or ("topic" in item) == ("pattern" in item):
                raise ConfigError(
                    f"broker {name!r}: a topic entry is a name, or a mapping with topic (or pattern) and campaign"
                )
            topic = str(item.get("topic") or item["pattern"])
            if "pattern" in item and not topic.startswith("^"):
                topic = "^" + topic
            out[topic] = str(item.get("campaign") or default)
        else:
            out[str(item)] = default
    return out


def _parse_broker(entry: Any, index: int) -> BrokerConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"brokers[{index}] must be a mapping")
    known = {
        "name",
        "bootstrap_servers",
        "topics",
        "topic",
        "topic_pattern",
        "group_id",
        "schema",
        "security",
        "consumer_config",
        "assign",
        "campaign",
    }
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(f"brokers[{index}]: unknown keys {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"brokers[{index}]: name is required")
    default = str(entry.get("campaign") or DEFAULT_CAMPAIGN)
    campaigns = _topic_entries(entry, name, default)
    if not campaigns:
        raise ConfigError(f"broker {name!r}: give topics or topic_pattern")
    for key in ("bootstrap_servers", "group_id"):
        if not entry.get(key):
            raise ConfigError(f"broker {name!r}: {key} is required")
    security = entry.get("security") or {}
    consumer_config = entry.get("consumer_config") or {}
    if not isinstance(security, dict) or not isinstance(consumer_config, dict):
        raise ConfigError(f"broker {name!r}: security and consumer_config must be mappings")
    config = BrokerConfig(
        name=name,
        bootstrap_servers=str(entry["bootstrap_servers"]),
        topics=list(campaigns),
        group_id=str(entry["group_id"]),
        schema=str(entry.get("schema") or DEFAULT_SCHEMA),
        security={str(k): v for k, v in security.items()},
        consumer_config=dict(consumer_config),
        assign=bool(entry.get("assign", False)),
        campaign=default,
        campaigns=campaigns,
    )
    if config.assign and any(t.startswith("^") for t in config.topics):
        raise ConfigError(f"broker {name!r}: assign mode needs topic names, not a pattern")
    config.check_campaigns()
    config.consumer_settings()  # fail now, not at the first poll, on bad security options
    return config


def load_broker_configs(path: str | Path) -> list[BrokerConfig]:
    """Brokers from a YAML (.yaml/.yml) or JSON file: ``{"brokers": [ {...}, ... ]}``."""
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("brokers"), list) or not data["brokers"]:
        raise ConfigError(f"{path}: expected a top-level 'brokers' list")
    configs = [_parse_broker(entry, i) for i, entry in enumerate(data["brokers"])]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: broker names must be unique")
    return configs

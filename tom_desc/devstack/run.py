"""`make run`: the whole site on one machine, on embedded servers unless told otherwise.

1. start PostgreSQL (embedded, data in var/pg) unless DATABASE_URL or DB_HOST names one;
2. start the Kafka-protocol broker (tansu) unless KAFKA_BOOTSTRAP_SERVERS names one;
3. migrate, collect static files, make sure an administrator exists;
4. generate the demo sky the first time, and load it into both campaigns: the ELAsTiCC
   tables and the ELAsTiCC2 ppdb tables (a second load adds nothing);
5. run gunicorn and the workers, each with its log in var/log/, one of each serving both
   campaigns: brokerpoll (stores the classifications of both campaigns' fake-broker topics),
   fakebroker (classifies the alerts of both campaigns, for the demo), long_query_runner,
   and an "alert clock" that every TOM_ALERT_INTERVAL seconds sends one more simulated day
   of alerts of each campaign (send_elasticc_alerts / send_elasticc2_alerts --added-days 1
   --do) and then runs refresh_metrics;
6. on Ctrl-C (or SIGTERM) stop every child, then the broker and the database.
The next run reuses var/: the database keeps its data, the admin keeps its password.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import gunicorn

REPO_DIR = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO_DIR / "tom_desc"
VAR = Path(os.environ.get("TOM_VAR_DIR", REPO_DIR / "var"))
LOG_DIR = VAR / "log"

# The topics of both campaigns, named as the site's settings name them (docs/configuration.md).
TOPIC_DEFAULTS = {
    "ELASTICC_ALERT_TOPIC": "elasticc-alerts",
    "ELASTICC_FAKEBROKER_TOPIC": "elasticc-fakebroker",
    "ELASTICC2_ALERT_TOPIC": "elasticc2-alerts-wfd",
    "ELASTICC2_DDF_FULL_TOPIC": "elasticc2-alerts-ddf-full",
    "ELASTICC2_DDF_LIMITED_TOPIC": "elasticc2-alerts-ddf-limited",
    "ELASTICC2_FAKEBROKER_TOPIC": "elasticc2-fakebroker",
}

log = logging.getLogger("devstack")


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = field(default=None)

    @property
    def logfile(self) -> Path:
        return LOG_DIR / f"{self.name}.log"


def manage(*args: str, env: dict, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run a management command in the foreground."""
    cmd = [sys.executable, "manage.py", *args]
    log.info("manage.py %s", " ".join(args))
    kwargs = {"stdout": subprocess.DEVNULL} if quiet else {}
    return subprocess.run(cmd, cwd=PROJECT_DIR, env=env, check=check, **kwargs)


def secret_key_file() -> Path:
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path


class Stack:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ)
        self.children: list[Child] = []
        self.postgres = None
        self.kafka = None
        self.stopping = threading.Event()
        self.clock_process: subprocess.Popen | None = None
        self.clock_lock = threading.Lock()
        self.web: Child | None = None

    # -- servers ---------------------------------------------------------------------
    def start_postgres(self):
        if self.env.get("DATABASE_URL") or self.env.get("DB_HOST"):
            log.info("Using the database named by DATABASE_URL/DB_HOST")
            return
        from devstack.postgres import EmbeddedPostgres

        self.postgres = EmbeddedPostgres(VAR / "pg", int(self.env.get("TOM_PG_PORT", "54329")))
        self.postgres.start()
        self.postgres.ensure_database("tom_desc")
        self.env["DATABASE_URL"] = self.postgres.database_url("tom_desc")
        log.info("PostgreSQL (embedded) on 127.0.0.1:%s, data in %s", self.postgres.port, self.postgres.datadir)

    def topic(self, setting: str) -> str:
        return self.env.get(setting, TOPIC_DEFAULTS[setting])

    def start_kafka(self):
        if self.env.get("KAFKA_BOOTSTRAP_SERVERS"):
            log.info("Using the Kafka cluster at %s", self.env["KAFKA_BOOTSTRAP_SERVERS"])
            return
        from devstack.kafka import EmbeddedKafka

        self.kafka = EmbeddedKafka(int(self.env.get("TOM_KAFKA_PORT", "9092")), LOG_DIR / "tansu.log")
        self.kafka.start()
        self.env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap_servers
        # tansu keeps topics in memory: create them at every start.
        for setting in TOPIC_DEFAULTS:
            self.kafka.create_topic(self.topic(setting))
        log.info("Kafka-protocol broker (tansu, in memory) on %s", self.kafka.bootstrap_servers)

    # -- site ------------------------------------------------------------------------
    def prepare_site(self):
        self.env.setdefault("DJANGO_SECRET_KEY_FILE", str(secret_key_file()))
        self.env.setdefault("STATIC_ROOT", str(VAR / "static"))
        self.env.setdefault("CACHE_DIR", str(VAR / "cache"))
        self.env.setdefault("MEDIA_ROOT", str(VAR / "media"))
        manage("migrate", "--no-input", "--verbosity", "0", env=self.env)
        manage("collectstatic", "--no-input", "--verbosity", "0", env=self.env)
        manage("ensure_admin", env=self.env)

    def load_demo_data(self):
        if self.args.no_demo:
            return
        demo_dir = VAR / "demo-sky"
        if not (demo_dir / ".complete").exists():
            manage(
                "generate_demo_sky",
                "--objects",
                str(self.args.demo_objects),
                "--seed",
                "42",
                "--out",
                str(demo_dir),
                env=self.env,
            )
            (demo_dir / ".complete").touch()
        # Idempotent: a second run adds nothing.
        manage("load_snana_fits", str(demo_dir), env=self.env)
        manage("load_snana_fits", str(demo_dir), "--campaign", "elasticc2", env=self.env)

    # -- children ----------------------------------------------------------------------
    def plan_children(self):
        py = sys.executable
        manage_py = [py, "manage.py"]
        self.children.append(Child("long_query_runner", [*manage_py, "long_query_runner"]))
        if self.args.no_workers:
            return
        # One poller for both campaigns' classification topics, each topic naming its campaign.
        # The embedded broker forgets its topics and groups at every start, so the poller keeps
        # its offsets in the database under a group of its own.
        self.children.append(
            Child(
                "brokerpoll",
                [
                    *manage_py,
                    "brokerpoll",
                    "--name",
                    "fakebroker",
                    "--topic",
                    f"elasticc:{self.topic('ELASTICC_FAKEBROKER_TOPIC')}",
                    "--topic",
                    f"elasticc2:{self.topic('ELASTICC2_FAKEBROKER_TOPIC')}",
                    "--group",
                    "tom-desc-dev",
                    "--consumer-option",
                    "session.timeout.ms=6000",
                ],
            )
        )
        # One fake broker for both campaigns' alert topics (the settings name them).
        self.children.append(
            Child("fakebroker", [*manage_py, "fakebroker", "--campaign", "elasticc", "--campaign", "elasticc2"])
        )

    def start_alert_clock(self):
        """One more simulated day of each campaign's alerts every TOM_ALERT_INTERVAL seconds, then
        fresh metrics. (The demo sky is the same in both campaigns, so their clocks keep pace.)"""
        if self.args.no_workers or self.args.alert_interval <= 0:
            return
        steps = [
            ["send_elasticc_alerts", "--added-days", "1", "--do", "--no-progress"],
            ["send_elasticc2_alerts", "--added-days", "1", "--do", "--no-progress"],
            ["refresh_metrics", "--no-progress"],
        ]
        logfile = LOG_DIR / "alert_clock.log"

        def tick_forever():
            # The first day goes out at once, so a fresh site shows alerts leaving and
            # classifications arriving within a minute.
            while True:
                for step in steps:
                    with self.clock_lock, open(logfile, "ab") as out:
                        if self.stopping.is_set():
                            return
                        process = subprocess.Popen(
                            [sys.executable, "manage.py", *step],
                            cwd=PROJECT_DIR,
                            env=self.env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                        self.clock_process = process
                    if process.wait() != 0 and not self.stopping.is_set():
                        log.warning("alert clock: %s exited with %s; see %s", step[0], process.returncode, logfile)
                if self.stopping.wait(self.args.alert_interval):
                    return

        threading.Thread(target=tick_forever, name="alert-clock", daemon=True).start()
        log.info("alert clock: one simulated day every %ss, log %s", self.args.alert_interval, logfile)

    def start_web(self):
        """gunicorn, its worker timeout longer than the SQL endpoint's statement timeout, so a
        query that runs into it gets its JSON error instead of a killed worker (docs/sqlquery.md)."""
        timeout = int(float(self.env.get("SQLQUERY_STATEMENT_TIMEOUT", "300"))) + 30
        self.web = Child("web", [])
        self.web.process = gunicorn.start(
            self.args.port,
            self.env,
            self.web.logfile,
            workers=self.args.workers,
            timeout=timeout,
            extra_args=["--access-logfile", "-"],
            new_session=True,
        )
        self.children.insert(0, self.web)
        log.info("started %-18s pid %-7s log %s", "web", self.web.process.pid, self.web.logfile)

    def start_children(self):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for child in self.children:
            if child.process is not None:
                continue
            out = open(child.logfile, "ab")  # noqa: SIM115 (the child keeps it)
            # Own session: Ctrl-C reaches only this supervisor, which stops children in order.
            child.process = subprocess.Popen(
                child.argv, cwd=PROJECT_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.info("started %-18s pid %-7s log %s", child.name, child.process.pid, child.logfile)

    def wait_for_web(self, timeout: float = 180) -> None:
        """Print the URL only once gunicorn answers (or say why it never will)."""
        gunicorn.wait_until_serving(
            f"http://127.0.0.1:{self.args.port}",
            self.web.process,
            self.web.logfile,
            timeout=timeout,
            stopping=self.stopping.is_set,
        )

    STOP_GRACE = 20.0  # s for every child together to finish what it holds, before it is killed

    def stop(self):
        """SIGTERM to the alert clock's command and every child at once, so they finish their work in
        hand in parallel; whatever still runs after STOP_GRACE seconds is killed (and named in the
        log), then the broker and the database stop. Bounded, so Ctrl-C always returns."""
        with self.clock_lock:
            self.stopping.set()
        running = [("alert clock", self.clock_process)] if self.clock_process else []
        running += [(child.name, child.process) for child in reversed(self.children) if child.process]
        running = [(name, process) for name, process in running if process.poll() is None]
        if running:
            log.info("stopping %s", ", ".join(name for name, _ in running))
        for _, process in running:
            process.terminate()
        deadline = time.monotonic() + self.STOP_GRACE
        for name, process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s of SIGTERM; killing it", name, self.STOP_GRACE)
                process.kill()
                process.wait()
        if self.kafka:
            self.kafka.stop()
        if self.postgres:
            self.postgres.stop()
        log.info("stopped")

    def supervise(self):
        """Wait for a signal; report a child that dies (without restarting it in a loop)."""
        reported = set()
        while not self.stopping.wait(1.0):
            for child in self.children:
                if child.process and child.process.poll() is not None and child.name not in reported:
                    reported.add(child.name)
                    log.error("%s exited with %s; see %s", child.name, child.process.returncode, child.logfile)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("TOM_PORT", "8080")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("TOM_WEB_WORKERS", "3")))
    parser.add_argument("--demo-objects", type=int, default=int(os.environ.get("TOM_DEMO_OBJECTS", "300")))
    parser.add_argument("--no-demo", action="store_true", help="do not generate or load demo data")
    parser.add_argument(
        "--no-workers",
        action="store_true",
        help="run only the web server and long_query_runner (no brokerpoll, fakebroker, alert clock)",
    )
    parser.add_argument(
        "--alert-interval",
        type=float,
        default=float(os.environ.get("TOM_ALERT_INTERVAL", "60")),
        help="seconds between simulated days of alerts (default 60; 0 turns the clock off)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    VAR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    stack = Stack(args)
    signal.signal(signal.SIGTERM, lambda *_: stack.stopping.set())
    try:
        stack.start_postgres()
        stack.start_kafka()
        stack.prepare_site()
        stack.load_demo_data()
        stack.start_web()
        stack.plan_children()
        stack.start_children()
        stack.wait_for_web()
        stack.start_alert_clock()
        print(
            f"\n  tom_desc is running: http://127.0.0.1:{args.port}/elasticc/"
            f"  (summary: /elasticc/summary; logs in {LOG_DIR}; Ctrl-C stops everything)\n",
            flush=True,
        )
        stack.supervise()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    except subprocess.CalledProcessError as exc:
        log.error("%s failed with exit code %s", " ".join(map(str, exc.cmd[1:])), exc.returncode)
        return 1
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

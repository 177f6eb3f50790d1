"""Which migrations on disk the database has not applied yet."""

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader


def unapplied_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    """``app.name`` of every migration in the graph that django_migrations does not record.

    Stricter than `migrate`'s own plan, which looks only at each app's latest migration: a
    history with a hole (an older migration missing) also counts as not ready. The loader
    reads the migration modules (imported once per process, so later calls only rebuild the
    graph) and one query on django_migrations; squashed migrations count as applied when all
    the migrations they replace are (the loader resolves that).
    """
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = loader.applied_migrations
    pending: list[str] = []
    seen: set[tuple[str, str]] = set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                if key not in applied:
                    pending.append(f"{key[0]}.{key[1]}")
    return pending

"""Health endpoints for container probes.

- ``/healthz`` (liveness): the process answers HTTP. It never touches the database, so a
  database outage does not make Kubernetes restart every web pod at once.
- ``/readyz`` (readiness): the database answers and every migration on disk is applied.
  During a rollout a pod of the new release stays out of the Service until the migrate Job
  has run; a pod that loses its database stops receiving traffic until it comes back.

Both answer JSON, never HTML, and never need a login (they are in settings.OPEN_URLS).
"""

import logging
import time

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ops.readiness import unapplied_migrations

log = logging.getLogger(__name__)


def _answer(http_status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=http_status)


@never_cache
@require_safe
def healthz(request):
    return _answer(200, status="ok")


@never_cache
@require_safe
def readyz(request):
    """1. run SELECT 1; 2. compare the migration graph on disk with django_migrations."""
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The exception text can name hosts and users: log it, answer only its class.
        log.warning("readyz: database unreachable: %s", exc)
        return _answer(503, status="unavailable", reason="database unreachable", error=type(exc).__name__)
    try:
        pending = unapplied_migrations(connection)
    except DatabaseError as exc:
        log.warning("readyz: cannot read applied migrations: %s", exc)
        return _answer(503, status="unavailable", reason="cannot read applied migrations", error=type(exc).__name__)
    if pending:
        return _answer(
            503, status="unavailable", reason="unapplied migrations", count=len(pending), unapplied=pending[:50]
        )
    return _answer(
        200, status="ok", database="ok", migrations="applied", elapsed_ms=round((time.monotonic() - started) * 1000, 1)
    )

"""Operators' endpoints: health probes, Prometheus metrics, and the user list.

- ``/healthz`` (liveness): the process answers HTTP. It never touches the database, so a
  database outage does not make Kubernetes restart every web pod at once.
- ``/readyz`` (readiness): the database answers and every migration on disk is applied.
  During a rollout a pod of the new release stays out of the Service until the migrate Job
  has run; a pod that loses its database stops receiving traffic until it comes back.

Both answer JSON, never HTML, and never need a login (they are in settings.OPEN_URLS).

- ``/metrics`` (Prometheus, ops/metrics.py) is network-restricted or behind a login: it
  answers connections accepted on settings.METRICS_PORT (a second gunicorn listener that
  no Service or Ingress exposes, reachable only from Prometheus by the NetworkPolicy), and
  on the site's own port only superusers who are logged in. The port is the one the
  connection really arrived on (the accepted socket's), not anything a client can claim.
- ``/users/``: the TOM Toolkit's list of every account, its groups and who is an
  administrator, for superusers only; anyone else is sent to their own profile.
"""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from tom_common.views import UserListView

from ops.metrics import exposition
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


def arrived_on_metrics_port(request) -> bool:
    """Whether gunicorn accepted this connection on settings.METRICS_PORT (0: no such port)."""
    port = settings.METRICS_PORT
    sock = request.META.get("gunicorn.socket")
    if not port or sock is None:
        return False
    try:
        return sock.getsockname()[1] == port
    except (OSError, IndexError, TypeError):
        return False


@never_cache
@require_safe
def metrics(request):
    if not (arrived_on_metrics_port(request) or (request.user.is_authenticated and request.user.is_superuser)):
        raise PermissionDenied("Metrics are served on the metrics port, or to superusers who are logged in.")
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


class UserListForAdmins(UserListView):
    """The toolkit's /users/ page for superusers; other users are sent to their profile."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_superuser:
            messages.info(request, "Only administrators see the list of users.")
            return redirect("user-profile")
        return super().dispatch(request, *args, **kwargs)

"""Long queries: submitted over HTTP, executed by `manage.py long_query_runner`."""

import uuid

from django.conf import settings
from django.db import models


class LongQuery(models.Model):
    """One submitted query and where its execution stands.

    status moves queued -> started -> finished | error. A runner that claims a query
    records itself in `runner` and keeps `heartbeat` fresh; a claim whose heartbeat is
    stale (or whose runner process is gone) is put back to queued, or failed after
    SQLQUERY_MAX_ATTEMPTS claims, by whichever runner notices first.
    """

    QUEUED, STARTED, FINISHED, ERROR = "queued", "started", "finished", "error"
    STATUS_CHOICES = [(s, s) for s in (QUEUED, STARTED, FINISHED, ERROR)]
    FORMATS = [(f, f) for f in ("csv", "pandas", "parquet", "json", "ecsv", "votable")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="long_queries")
    queries = models.JSONField(help_text="The SQL statements, run in order in one read-only transaction.")
    subdicts = models.JSONField(help_text="One parameter dict (or null) per statement.")
    format = models.CharField(max_length=8, choices=FORMATS, default="csv")
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=QUEUED)
    submitted = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    runner = models.TextField(blank=True, default="", help_text="host:pid:token of the claiming runner")
    heartbeat = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    result_file = models.TextField(blank=True, default="", help_text="File name inside SQLQUERY_RESULTS_DIR")
    rows = models.BigIntegerField(null=True, blank=True)
    result_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The claim query: oldest queued first.
            models.Index(fields=["status", "submitted"], name="sqlquery_status_submitted"),
        ]

    def __str__(self):
        return f"{self.id} ({self.status})"

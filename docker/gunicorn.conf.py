"""gunicorn settings for the tom_desc image, read from the environment.

| variable                     | default            | meaning                                        |
|------------------------------|--------------------|------------------------------------------------|
| GUNICORN_BIND                | 0.0.0.0:8080       | address(es), comma-separated                   |
| GUNICORN_WORKERS             | 3                  | worker processes (not from the CPU count: in a |
|                              |                    | container that is the node's, not the limit)  |
| GUNICORN_THREADS             | 1                  | threads per worker (>1 selects gthread)        |
| GUNICORN_TIMEOUT             | 330                | seconds a worker may stay silent; above the    |
|                              |                    | SQL endpoint's 5-minute statement_timeout      |
| GUNICORN_GRACEFUL_TIMEOUT    | 30                 | seconds to finish requests on stop/reload      |
| GUNICORN_KEEPALIVE           | 5                  | seconds to hold an idle keep-alive connection  |
| GUNICORN_MAX_REQUESTS        | 1000               | recycle a worker after this many requests      |
| GUNICORN_MAX_REQUESTS_JITTER | 100                | ... plus up to this many, so not all at once   |
| GUNICORN_FORWARDED_ALLOW_IPS | 127.0.0.1,::1      | proxies trusted for X-Forwarded-* headers      |
| LOG_LEVEL                    | INFO               | gunicorn's error-log level (Django's too)      |
| PROMETHEUS_MULTIPROC_DIR     | /tmp/tom_desc-     | where each worker writes its /metrics counters |
|                              | metrics            | (emptied when gunicorn starts)                 |

Graceful reload: send SIGHUP to the master (PID 1 in the container):
``kubectl exec POD -- sh -c 'kill -HUP 1'`` or ``docker compose kill -s HUP web``.
The master re-reads this file, starts new workers and lets the old ones finish their
requests (up to GUNICORN_GRACEFUL_TIMEOUT) before they exit; the listening socket never
closes, so no request is refused. Because ``preload_app`` is off, each new worker imports
Django afresh and so re-reads the settings' secret files (DJANGO_SECRET_KEY_FILE,
DB_PASS_FILE, ...): after rotating a Kubernetes Secret (mounted as a directory, which the
kubelet refreshes) a HUP puts the new values into service without a restart. A new image
(new code) is rolled out by replacing pods instead (docs/deploy.md). The environment
itself cannot change under a running process: changing it needs a new pod/container.

SIGTERM (what Kubernetes and Docker send on stop) is a graceful shutdown: gunicorn stops
accepting, finishes requests in hand for up to GUNICORN_GRACEFUL_TIMEOUT seconds, exits.
"""

import os
import shutil


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name}={raw!r} is not an integer") from None


bind = [address.strip() for address in os.environ.get("GUNICORN_BIND", "0.0.0.0:8080").split(",") if address.strip()]
workers = _int("GUNICORN_WORKERS", 3)
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 330)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Not preloaded: a HUP then reloads the application (and its settings) in the new workers.
preload_app = False
# The heartbeat file lives in memory, not on a (possibly read-only or slow) disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "tom_desc"

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
# One short line per request: client, request line, status, bytes, milliseconds, user agent.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


# /metrics (ops/metrics.py) adds up the counters of every worker from files in this directory.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "/tmp/tom_desc-metrics"


def on_starting(arbiter):
    """A fresh counter directory for a fresh master (counts start at zero with the container),
    named in the environment the workers inherit; prometheus_client reads it when they import it."""
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def child_exit(arbiter, worker):
    """A finished worker's live gauges go; its counters stay in the sums (prometheus_client)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)


def on_reload(arbiter):
    arbiter.log.info("SIGHUP: reloading configuration and replacing workers gracefully")

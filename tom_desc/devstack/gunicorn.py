"""gunicorn serving the site on 127.0.0.1, started and waited for in one place.

`make run`, the test fixture ``live_server_url`` and the HTTP benchmarks all need "start
gunicorn on this port with this environment, log to this file, and return once it
answers"; they differ only in workers, timeouts and environment. The server is the
production one (the same WSGI application, whitenoise for static files), so what the
tests and benchmarks measure is what is deployed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def start(
    port: int,
    env: dict,
    log_path: Path,
    workers: int = 2,
    timeout: int = 120,
    extra_args: Sequence[str] = (),
    new_session: bool = False,
) -> subprocess.Popen:
    """A gunicorn process for ``tom_desc.wsgi`` on 127.0.0.1:`port`, its output appended to `log_path`.

    `timeout` is gunicorn's worker timeout (s); `new_session` puts it in a process group of
    its own, so a Ctrl-C on a supervisor reaches only the supervisor (make run).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(env)
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        # As in the image (docker/gunicorn.conf.py): /metrics adds up the workers' counters.
        metrics_dir = log_path.parent / f"prometheus-{port}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    argv = [
        sys.executable, "-m", "gunicorn", "tom_desc.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", str(timeout),
        "--chdir", str(PROJECT_DIR), *extra_args,
    ]  # fmt: skip
    with open(log_path, "ab") as log:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            argv, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session
        )


def wait_until_serving(
    url: str,
    process: subprocess.Popen,
    log_path: Path,
    timeout: float = 90.0,
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Return once `url`/healthz gives any HTTP answer (the application is loaded and serving).

    Raises RuntimeError naming the log when gunicorn exits first or `timeout` seconds pass;
    returns quietly when `stopping()` turns true meanwhile.
    """
    deadline = time.monotonic() + timeout
    while not stopping():
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log_path}:\n{_tail(log_path)}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=30).close()
            return
        except urllib.error.HTTPError:
            return  # an HTTP error status is an answer: the application is up
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {log_path}:\n{_tail(log_path)}")
        time.sleep(0.2)


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""

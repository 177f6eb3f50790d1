"""Container healthcheck: exit 0 when this container's gunicorn answers /healthz with 200.

Used by the image's HEALTHCHECK and by docker-compose; needs only the standard library.
It asks with ``Host: localhost``, which ALLOWED_HOSTS must include (the default does).
"""

import http.client
import os
import sys


def main() -> int:
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080").split(",")[0].strip()
    port = int(bind.rsplit(":", 1)[1]) if ":" in bind else 8080
    path = os.environ.get("HEALTHCHECK_PATH", "/healthz")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
        connection.request("GET", path, headers={"Host": "localhost"})
        status = connection.getresponse().status
    except OSError as exc:
        print(f"healthcheck: {path} on port {port}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: {path} on port {port} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

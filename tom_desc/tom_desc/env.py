"""Typed readers for settings that come from the environment.

Every setting the site needs at run time is read here, so a missing or
malformed one fails at start-up with a message naming the variable instead of
surfacing later as an obscure error.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, required: bool = True) -> str | None:
    """Read NAME, or the file named by NAME_FILE (how Docker and Kubernetes mount secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
        if not value:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} is empty")
        return value
    if required:
        raise ImproperlyConfigured(f"Set {name} (or {name}_FILE, a file holding it); it is required.")
    return None


def database_config() -> dict:
    """The default database, from DATABASE_URL or the DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS set."""
    import dj_database_url

    url = env_secret("DATABASE_URL", required=False)
    if url:
        try:
            config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL cannot be parsed: {exc}") from None
    else:
        missing = [var for var in ("DB_HOST", "DB_NAME", "DB_USER") if not os.environ.get(var)]
        if missing:
            raise ImproperlyConfigured(
                "No database configured: set DATABASE_URL, or DB_HOST, DB_PORT, DB_NAME, DB_USER and "
                f"DB_PASS (or DB_PASS_FILE). Missing: {', '.join(missing)}."
            )
        config = {
            "NAME": os.environ["DB_NAME"],
            "USER": os.environ["DB_USER"],
            "PASSWORD": env_secret("DB_PASS", required=False) or "",
            "HOST": os.environ["DB_HOST"],
            "PORT": os.environ.get("DB_PORT", "5432"),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        }
    # psqlextra's backend wraps Django's PostgreSQL backend and adds partitioning support.
    config["ENGINE"] = "psqlextra.backend"
    config.setdefault("OPTIONS", {})
    config["CONN_HEALTH_CHECKS"] = True
    return config

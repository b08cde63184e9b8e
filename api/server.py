"""Running the app under uvicorn: where it may bind, and what it logs.

uvicorn's access log is off because it prints query strings (questions); ``api.guards`` logs each
request instead, as method, path, status, time and user.
"""

from __future__ import annotations

import ipaddress
import logging.config
from typing import Any

import uvicorn
from fastapi import FastAPI

from rag.config import Settings
from rag.errors import ConfigError

LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "whoknows": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "rag": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: Settings, *, force: bool = False) -> None:
    """Refuse to serve everything publicly on a network interface unless explicitly forced."""
    if settings.auth_enabled or is_loopback(host) or force:
        return
    raise ConfigError(
        f"refusing to bind {host} with auth off: anyone who can reach it could read every document. Add a "
        "user (`whoknows users add NAME --group GROUP`) to turn auth on, bind 127.0.0.1, or pass "
        "--allow-public-without-auth if this network is trusted.")


def configure_logging() -> None:
    """Plain log lines on stderr for the server process (`whoknows serve` calls it once)."""
    logging.config.dictConfig(LOG_CONFIG)


def server_config(app: FastAPI, *, host: str, port: int) -> uvicorn.Config:
    """The uvicorn config `whoknows serve` runs with (and the HTTP tests too).

    ``log_config=None``: uvicorn leaves the process's logging alone (see :func:`configure_logging`)."""
    return uvicorn.Config(app, host=host, port=port, access_log=False, log_config=None, server_header=False)

"""A real uvicorn on a loopback port, configured exactly as `whoknows serve` configures it."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from api.server import server_config

# The server side only: the test client (httpx) logs its own URLs, query strings included.
SERVER_LOGGERS = ("whoknows", "uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "starlette")


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields its base URL.

    The listening socket is bound here, before uvicorn starts: a request made at once waits in the
    socket's backlog until the server accepts it, so nothing has to poll for start-up.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class LogCapture:
    """Everything the server's loggers write, at every level, while active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setLevel(logging.DEBUG)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self._levels: dict[str, int] = {}

    def __enter__(self) -> LogCapture:
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.addHandler(self.handler)
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self.handler)
            logger.setLevel(self._levels[name])

    @property
    def text(self) -> str:
        """What was logged so far."""
        return self.stream.getvalue()

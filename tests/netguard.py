"""A guard on the standard library's socket module: outbound connections are refused and recorded.

Loopback and Unix sockets stay allowed (Chroma, uvicorn and friends may talk to themselves).
This patches ``socket`` only, never whoknows code. ``GUARD_SOURCE`` is the same guard as a script
prologue, for proving a subprocess makes no connection.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}
# Variables that would make a run offline (or route it through a loopback proxy the guard allows) without
# the product doing anything: unset them to prove the product keeps itself offline.
OFFLINE_SWITCHES = frozenset({"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK", "SCARF_NO_ANALYTICS",
                              "ANONYMIZED_TELEMETRY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"})


def is_loopback(host: object) -> bool:
    """True for loopback names and addresses (127/8, ::1)."""
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class SocketGuard:
    """Context manager: while active, non-loopback connects and DNS lookups raise and are recorded."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def _refuse(self, what: str) -> OSError:
        self.attempts.append(what)
        return OSError(f"network disabled by test: {what}")

    def __enter__(self) -> SocketGuard:
        self._saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection,
                       socket.getaddrinfo)
        real_connect, real_connect_ex, real_create, real_gai = self._saved
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
                raise guard._refuse(f"connect {address!r}")
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
                raise guard._refuse(f"connect_ex {address!r}")
            return real_connect_ex(sock, address)

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_loopback(address[0]):
                raise guard._refuse(f"create_connection {address!r}")
            return real_create(address, *args, **kwargs)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None and not is_loopback(host):
                raise guard._refuse(f"getaddrinfo {host!r}")
            return real_gai(host, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.create_connection = create_connection  # type: ignore[assignment]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        (socket.socket.connect, socket.socket.connect_ex, socket.create_connection,  # type: ignore[method-assign]
         socket.getaddrinfo) = self._saved


# Prologue for a child Python process: install the guard, append every attempt to the file named by
# $NETGUARD_LOG (so an attempt is on record even if the caller swallows the error), then run the CLI.
GUARD_SOURCE = '''
import os, socket, sys
sys.path.insert(0, {tests_parent!r})
from tests.netguard import SocketGuard

class _Logged(SocketGuard):
    def _refuse(self, what):
        with open(os.environ["NETGUARD_LOG"], "a") as f:
            f.write(what + "\\n")
        return super()._refuse(what)

_Logged().__enter__()
from api.cli import app
sys.argv[0] = "whoknows"
app()
'''

"""What stands in front of every endpoint: body size, API key, rate limit, and a request log.

The log line names the method, the path (never the query string), the status, the time and the user:
never a key, a question or document text.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from api.auth import Authenticator, Unauthorized

log = logging.getLogger("whoknows.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Page shells and their assets carry no knowledge: the page asks for the key, then calls the API with it.
OPEN_PATHS = {"/health", "/", "/managers", "/profile", "/favicon.ico"}
OPEN_PREFIXES = ("/static/",)


class TokenBucket:
    """Per-key token buckets in memory: ``burst`` at once, refilled at ``rate_per_s``."""

    def __init__(self, *, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate_per_s, max(burst, 1), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend a token: 0.0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 10_000:  # forget idle callers (their bucket would be full again)
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate}
            return (1.0 - tokens) / self.rate if self.rate > 0 else math.inf


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A complete JSON response from raw ASGI."""
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class Guards:
    """ASGI middleware: request log -> key check -> rate limit -> body limit -> the app."""

    def __init__(self, app: ASGIApp, *, auth: Authenticator, bucket: TokenBucket, max_body: int) -> None:
        self.app, self.auth, self.bucket, self.max_body = app, auth, bucket, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "user": "-", "started": False}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            await send(message)

        try:
            await self._guarded(scope, receive, logged_send, state)
        except Exception as exc:  # noqa: BLE001 - answered here so no traceback (which may quote text) is logged
            log.error("unexpected %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if not state["started"]:
                await send_json(logged_send, 500, {"error": "internal error - the server log names the failure",
                                                   "field": None})
        finally:
            log.info("%s %s %s %.0fms user=%s", scope.get("method"), scope.get("path"), state["status"],
                     (time.perf_counter() - t0) * 1000, state["user"])

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]) -> None:
        path: str = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("local", 0))[0]
        try:
            caller = self.auth.caller(headers.get("authorization"), client=str(client))
        except Unauthorized as exc:
            await send_json(send, 401, {"error": str(exc), "field": "authorization"},
                            [(b"www-authenticate", b'Bearer realm="whoknows"')])
            return
        state["user"] = caller.name
        scope.setdefault("state", {})["caller"] = caller
        # Per key: with auth off there are no keys (one person on their own machine), so no limit.
        wait = self.bucket.take(caller.key_id) if caller.key_id else 0.0
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await send_json(send, 429, {"error": f"rate limit reached - retry in {retry}s", "field": None},
                            [(b"retry-after", str(retry).encode())])
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await send_json(send, 413, {"error": f"request body over {self.max_body} bytes", "field": "body"})
            return
        await self._limited(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body up front (it is small by contract) so a chunked body without content-length is
        measured too, then hand the app a replay of it."""
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > self.max_body:
                await send_json(send, 413, {"error": f"request body over {self.max_body} bytes", "field": "body"})
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

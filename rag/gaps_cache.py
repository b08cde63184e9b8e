"""The gap report, built once per state of what it reads, for a server that is asked for it again and again.

A report depends on the query log (questions in the window, all feedback), the store (what is readable,
who the colleagues are), the caller's groups, the window and the day (ages and weeks). The key holds a
cheap fingerprint of each, so a cached report is returned only while rebuilding would give the same one;
anything logged, rated, purged, ingested or aged out of the window builds a new one. Builds are serialised:
a burst of calls for a report nobody has yet waits for one build instead of each running its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import timedelta

from rag.engine import QueryEngine
from rag.gaps import build_report
from rag.querylog import now_utc
from rag.types import GapReport


class ReportCache:
    """The last ``size`` gap reports, each keyed by the state it was built from."""

    def __init__(self, *, size: int = 16) -> None:
        self.size = size
        self.builds = 0  # how many reports were built (not served from the cache)
        self._reports: OrderedDict[Hashable, GapReport] = OrderedDict()
        self._lock = threading.Lock()
        self._building = threading.Lock()

    def key(self, engine: QueryEngine, *, since_days: float | None, stale_days: int | None,
            groups: tuple[str, ...] | None) -> Hashable:
        """Everything the report would be built from, as a fingerprint."""
        now = now_utc()
        log = engine.query_log
        since = now - timedelta(days=since_days) if since_days is not None else None
        log_state = log.state(since=since) if log is not None else None
        store_state = engine.store_state()
        return (log_state, store_state, since_days, stale_days, groups, now.date().isoformat())

    def report(self, engine: QueryEngine, *, since_days: float | None = None, stale_days: int | None = None,
               groups: tuple[str, ...] | None = None) -> GapReport:
        """The report :func:`rag.gaps.build_report` would build now, from the cache when nothing changed."""
        key = self.key(engine, since_days=since_days, stale_days=stale_days, groups=groups)
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
        with self._building:
            with self._lock:
                if key in self._reports:  # built by the call this one waited for
                    return self._reports[key]
            report = build_report(engine, since_days=since_days, stale_days=stale_days, groups=groups)
            self.builds += 1
            with self._lock:
                self._reports[key] = report
                while len(self._reports) > self.size:
                    self._reports.popitem(last=False)
        return report

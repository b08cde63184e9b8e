"""The query log: every question asked, what was answered, and the feedback on it, in one SQLite file.

It lives in the data dir (``queries.sqlite``), is switched off with ``WHOKNOWS_QUERY_LOG=off`` and can be
purged by age. Each call opens its own connection, so the API's worker threads and a CLI running beside
the server can share the file (WAL mode lets readers and one writer proceed together).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag.config import Settings
from rag.errors import BadInput, NotFound, StoreError
from rag.types import Answer, Feedback, LoggedCitation, LoggedQuestion, PurgeResult

MAX_COMMENT_CHARS = 2000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    question_id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,            -- seconds since the epoch, UTC
    asker TEXT,
    question TEXT NOT NULL,
    question_kind TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    confidence REAL NOT NULL,
    latency_ms REAL NOT NULL,
    experts TEXT NOT NULL              -- JSON list of names, best first
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
CREATE TABLE IF NOT EXISTS citations (
    question_id TEXT NOT NULL REFERENCES questions(question_id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    date TEXT,
    authors TEXT NOT NULL,             -- JSON list: who wrote the quoted lines
    PRIMARY KEY (question_id, n)
);
CREATE INDEX IF NOT EXISTS citations_doc ON citations(doc_id);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id TEXT NOT NULL REFERENCES questions(question_id) ON DELETE CASCADE,
    helpful INTEGER NOT NULL,
    comment TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_question ON feedback(question_id);
CREATE TABLE IF NOT EXISTS replays (
    content_sha256 TEXT NOT NULL,      -- of the replayed file's bytes
    file TEXT NOT NULL,
    questions INTEGER NOT NULL,
    at REAL NOT NULL
);
"""


def now_utc() -> datetime:
    """The current time, timezone-aware UTC (every timestamp in the log is UTC)."""
    return datetime.now(UTC)


def _ts(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# The log's state (see QueryLog.state): ``{s}`` is '' in SQLite and '"schema".' in PostgreSQL, ``{p}`` the
# parameter mark ('?' or '%s'), bound twice to the window's start.
STATE_SQL = ("SELECT (SELECT count(*) FROM {s}questions WHERE asked_at >= {p}), "
             "(SELECT sum(asked_at) FROM {s}questions WHERE asked_at >= {p}), "
             "(SELECT count(*) FROM {s}feedback), (SELECT max(id) FROM {s}feedback)")


def _private(path: Path) -> None:
    """Create the log readable by its owner only (it holds who asked what), or tighten an existing one."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # sqlite reports an unusable path itself, with the fix


class QueryLog:
    """Questions, answers and feedback in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLog | None:
        """The configured log, or None when ``query_log`` is ``off``; in the database when ``store='postgres'``."""
        if settings.query_log == "off":
            return None
        if settings.store == "postgres":
            from rag.querylog_pg import PgQueryLog  # psycopg is an optional extra

            return PgQueryLog(settings)
        return cls(settings.query_log_file)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private(self.path)
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as db:
                db.execute("PRAGMA foreign_keys = ON")
                if not self._ready:
                    db.execute("PRAGMA journal_mode = WAL")
                    db.executescript(_SCHEMA)
                    self._ready = True
                with db:  # one transaction: committed on success, rolled back on error
                    yield db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"query log {self.path}: {exc} - move the file away to start a new log, or set "
                             "WHOKNOWS_QUERY_LOG=off") from exc

    def record(self, answer: Answer, *, asker: str | None = None, asked_at: datetime | None = None) -> str:
        """Store one answered (or abstained) question; returns its question id."""
        qid = answer.question_id
        if not qid:
            raise BadInput("an answer needs a question_id to be logged", field="question_id")
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (qid, _ts(asked_at or now_utc()), asker, answer.question, answer.question_kind,
                 int(answer.abstained), answer.confidence, answer.latency_ms,
                 json.dumps([e.name for e in answer.experts])))
            db.execute("DELETE FROM citations WHERE question_id = ?", (qid,))
            db.executemany(
                "INSERT INTO citations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(qid, c.n, c.doc_id, c.title, c.kind, c.source, c.date, json.dumps(list(c.authors)))
                 for c in answer.citations])
        return qid

    def replayed_at(self, content_sha256: str) -> datetime | None:
        """When a file with these contents was last replayed into this log (None: never)."""
        if not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute("SELECT MAX(at) FROM replays WHERE content_sha256 = ?", (content_sha256,)).fetchone()
        return _dt(row[0]) if row and row[0] is not None else None

    def record_replay(self, content_sha256: str, *, file: str, questions: int) -> None:
        """Remember that a file was replayed, so a second replay does not silently double the log."""
        with self._connect() as db:
            db.execute("INSERT INTO replays VALUES (?, ?, ?, ?)", (content_sha256, file, questions, _ts(now_utc())))

    def add_feedback(self, question_id: str, *, helpful: bool, comment: str | None = None,
                     at: datetime | None = None, asker: str | None = None) -> Feedback:
        """Record a thumbs up or down; NotFound when the question is not in the log.

        ``asker``, when given, must be who asked the question (the API passes the caller unless they are a
        knowledge manager): feedback steers the gap report, so nobody rates someone else's answers."""
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise BadInput(f"'comment' is {len(comment)} characters; the limit is {MAX_COMMENT_CHARS}",
                           field="comment")
        when = at or now_utc()
        # The message names no file: it reaches HTTP callers, who have no business knowing server paths.
        missing = NotFound(f"No question with id {question_id!r} in the query log - use the "
                           "question_id of an /ask response or of `whoknows ask --json`.")
        if not self.path.exists():
            raise missing
        with self._connect() as db:
            row = db.execute("SELECT asker FROM questions WHERE question_id = ?", (question_id,)).fetchone()
            # Someone else's question answers exactly like an unknown one: no oracle for question ids.
            if row is None or (asker is not None and row[0] != asker):
                raise missing
            db.execute("INSERT INTO feedback (question_id, helpful, comment, at) VALUES (?, ?, ?, ?)",
                       (question_id, int(helpful), comment, _ts(when)))
        return Feedback(question_id=question_id, helpful=helpful, comment=comment, at=_dt(_ts(when)))

    def questions(self, *, since: datetime | None = None) -> list[LoggedQuestion]:
        """Logged questions asked at or after ``since`` (all when None), oldest first."""
        start = _ts(since) if since else float("-inf")
        if not self.path.exists():
            return []  # nothing asked yet; reading does not create the log
        with self._connect() as db:
            rows = db.execute("SELECT question_id, asked_at, asker, question, question_kind, abstained, confidence,"
                              " latency_ms, experts FROM questions WHERE asked_at >= ?"
                              " ORDER BY asked_at, question_id", (start,)).fetchall()
            cites: dict[str, list[LoggedCitation]] = {}
            for qid, _n, doc_id, title, kind, source, date, authors in db.execute(
                    "SELECT c.* FROM citations c JOIN questions q USING (question_id) WHERE q.asked_at >= ?"
                    " ORDER BY c.question_id, c.n", (start,)):
                cites.setdefault(qid, []).append(LoggedCitation(
                    doc_id=doc_id, title=title, kind=kind, source=source, date=date,
                    authors=tuple(json.loads(authors))))
        return [LoggedQuestion(question_id=r[0], asked_at=_dt(r[1]), asker=r[2], question=r[3], question_kind=r[4],
                               abstained=bool(r[5]), confidence=r[6], latency_ms=r[7],
                               citations=tuple(cites.get(r[0], ())), experts=tuple(json.loads(r[8])))
                for r in rows]

    def state(self, *, since: datetime | None = None) -> tuple[float, ...]:
        """A fingerprint of what the gap report reads from the log (questions asked since ``since``, all
        feedback): it changes when a question is logged, re-logged, purged or leaves the window, and when
        feedback is given. Cheap next to the report: one pass over the questions, no rows returned."""
        if not self.path.exists():
            return ()
        start = _ts(since) if since else -1e300
        with self._connect() as db:
            row = db.execute(STATE_SQL.format(s="", p="?"), (start, start)).fetchone()
        return tuple(float(v or 0) for v in row)

    def feedback(self) -> dict[str, Feedback]:
        """The latest feedback per question id."""
        if not self.path.exists():
            return {}
        with self._connect() as db:
            rows = db.execute("SELECT question_id, helpful, comment, at FROM feedback ORDER BY at, id").fetchall()
        return {qid: Feedback(question_id=qid, helpful=bool(h), comment=c, at=_dt(at)) for qid, h, c, at in rows}

    def rekey_documents(self, new_ids: dict[str, str]) -> int:
        """Point citations of documents whose id changed (old id -> new id) at the new ids, so the gap report
        keeps counting them as the same documents; returns the citations changed."""
        if not new_ids or not self.path.exists():
            return 0
        with self._connect() as db:
            return sum(db.execute("UPDATE citations SET doc_id = ? WHERE doc_id = ?", (new, old)).rowcount
                       for old, new in new_ids.items())

    def purge(self, *, older_than_days: float, now: datetime | None = None) -> PurgeResult:
        """Delete questions asked more than ``older_than_days`` ago, with their citations and feedback."""
        if older_than_days < 0:
            raise BadInput("--older-than must be 0 days or more", field="older_than")
        before = (now or now_utc()) - timedelta(days=older_than_days)
        if not self.path.exists():
            return PurgeResult(questions=0, feedback=0, before=before)
        with self._connect() as db:
            old = "SELECT question_id FROM questions WHERE asked_at < ?"
            fb = db.execute(f"DELETE FROM feedback WHERE question_id IN ({old})", (_ts(before),)).rowcount
            db.execute(f"DELETE FROM citations WHERE question_id IN ({old})", (_ts(before),))
            qs = db.execute("DELETE FROM questions WHERE asked_at < ?", (_ts(before),)).rowcount
        return PurgeResult(questions=qs, feedback=fb, before=before)

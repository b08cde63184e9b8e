"""The query log in PostgreSQL (``store='postgres'``): the tables of :mod:`rag.querylog`, in the collection's
schema, so every API process behind one database writes one log and the gap report sees all of it.

Same methods and semantics as the SQLite log (it is a subclass); each call is one transaction on the calling
thread's connection.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from psycopg.types.json import Jsonb

from rag.config import Settings
from rag.errors import BadInput, NotFound
from rag.querylog import MAX_COMMENT_CHARS, STATE_SQL, QueryLog, _dt, _ts, now_utc
from rag.stores.pg import Database, quote_ident
from rag.stores.pg_schema import applied_version
from rag.types import Answer, Feedback, LoggedCitation, LoggedQuestion, PurgeResult


class PgQueryLog(QueryLog):
    """Questions, answers and feedback in the collection's Postgres tables."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(Path(settings.collection))  # ``path`` only names the log in messages
        self.db = Database(settings)
        self._s = quote_ident(self.db.schema)

    def _exists(self) -> bool:
        return applied_version(self.db) > 0

    def record(self, answer: Answer, *, asker: str | None = None, asked_at: datetime | None = None) -> str:
        """Store one answered (or abstained) question; returns its question id."""
        qid = answer.question_id
        if not qid:
            raise BadInput("an answer needs a question_id to be logged", field="question_id")
        with self.db.transaction("record a question") as conn, conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {self._s}.questions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (question_id) DO UPDATE SET asked_at = EXCLUDED.asked_at, asker = EXCLUDED.asker, "
                "question = EXCLUDED.question, "
                "question_kind = EXCLUDED.question_kind, abstained = EXCLUDED.abstained, confidence = "
                "EXCLUDED.confidence, latency_ms = EXCLUDED.latency_ms, experts = EXCLUDED.experts",
                (qid, _ts(asked_at or now_utc()), asker, answer.question, answer.question_kind, answer.abstained,
                 answer.confidence, answer.latency_ms, Jsonb([e.name for e in answer.experts])))
            cur.execute(f"DELETE FROM {self._s}.citations WHERE question_id = %s", (qid,))
            cur.executemany(f"INSERT INTO {self._s}.citations VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            [(qid, c.n, c.doc_id, c.title, c.kind, c.source, c.date, Jsonb(list(c.authors)))
                             for c in answer.citations])
        return qid

    def replayed_at(self, content_sha256: str) -> datetime | None:
        """When a file with these contents was last replayed into this log (None: never)."""
        if not self._exists():
            return None
        row = self.db.one(f"SELECT max(at) FROM {self._s}.replays WHERE content_sha256 = %s", (content_sha256,))
        return _dt(row[0]) if row and row[0] is not None else None

    def record_replay(self, content_sha256: str, *, file: str, questions: int) -> None:
        """Remember that a file was replayed, so a second replay does not silently double the log."""
        with self.db.transaction("record a replay") as conn:
            conn.execute(f"INSERT INTO {self._s}.replays VALUES (%s, %s, %s, %s)",
                         (content_sha256, file, questions, _ts(now_utc())))

    def add_feedback(self, question_id: str, *, helpful: bool, comment: str | None = None,
                     at: datetime | None = None, asker: str | None = None) -> Feedback:
        """Record a thumbs up or down; NotFound when the question is unknown (or ``asker`` did not ask it)."""
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise BadInput(f"'comment' is {len(comment)} characters; the limit is {MAX_COMMENT_CHARS}",
                           field="comment")
        when = at or now_utc()
        missing = NotFound(f"No question with id {question_id!r} in the query log - use the "
                           "question_id of an /ask response or of `whoknows ask --json`.")
        if not self._exists():
            raise missing
        with self.db.transaction("record feedback") as conn:
            row = conn.execute(f"SELECT asker FROM {self._s}.questions WHERE question_id = %s",
                               (question_id,)).fetchone()
            if row is None or (asker is not None and row[0] != asker):
                raise missing
            conn.execute(f"INSERT INTO {self._s}.feedback (question_id, helpful, comment, at) VALUES (%s, %s, %s, %s)",
                         (question_id, helpful, comment, _ts(when)))
        return Feedback(question_id=question_id, helpful=helpful, comment=comment, at=_dt(_ts(when)))

    def questions(self, *, since: datetime | None = None) -> list[LoggedQuestion]:
        """Logged questions asked at or after ``since`` (all when None), oldest first."""
        if not self._exists():
            return []
        start = _ts(since) if since else float("-inf")
        rows = self.db.rows(f"SELECT question_id, asked_at, asker, question, question_kind, abstained, confidence, "
                            f"latency_ms, experts FROM {self._s}.questions WHERE asked_at >= %s "
                            "ORDER BY asked_at, question_id", (start,))
        cites: dict[str, list[LoggedCitation]] = {}
        for qid, doc_id, title, kind, source, date, authors in self.db.rows(
                "SELECT c.question_id, c.doc_id, c.title, c.kind, c.source, c.date, c.authors "
                f"FROM {self._s}.citations c JOIN {self._s}.questions q USING (question_id) "
                "WHERE q.asked_at >= %s ORDER BY c.question_id, c.n",
                (start,)):
            cites.setdefault(qid, []).append(LoggedCitation(doc_id=doc_id, title=title, kind=kind, source=source,
                                                            date=date, authors=tuple(authors)))
        return [LoggedQuestion(question_id=r[0], asked_at=_dt(r[1]), asker=r[2], question=r[3], question_kind=r[4],
                               abstained=bool(r[5]), confidence=r[6], latency_ms=r[7],
                               citations=tuple(cites.get(r[0], ())), experts=tuple(r[8])) for r in rows]

    def state(self, *, since: datetime | None = None) -> tuple[float, ...]:
        """See :meth:`QueryLog.state`."""
        if not self._exists():
            return ()
        start = _ts(since) if since else -1e300
        row = self.db.one(STATE_SQL.format(s=f"{self._s}.", p="%s"), (start, start))
        return tuple(float(v or 0) for v in row or ())

    def feedback(self) -> dict[str, Feedback]:
        """The latest feedback per question id."""
        if not self._exists():
            return {}
        rows = self.db.rows(f"SELECT question_id, helpful, comment, at FROM {self._s}.feedback ORDER BY at, id")
        return {qid: Feedback(question_id=qid, helpful=bool(h), comment=c, at=_dt(at)) for qid, h, c, at in rows}

    def rekey_documents(self, new_ids: dict[str, str]) -> int:
        """See :meth:`QueryLog.rekey_documents`."""
        if not new_ids or not self._exists():
            return 0
        with self.db.transaction("update the query log") as conn:
            return sum(conn.execute(f"UPDATE {self._s}.citations SET doc_id = %s WHERE doc_id = %s",
                                    (new, old)).rowcount for old, new in new_ids.items())

    def purge(self, *, older_than_days: float, now: datetime | None = None) -> PurgeResult:
        """Delete questions asked more than ``older_than_days`` ago, with their citations and feedback."""
        if older_than_days < 0:
            raise BadInput("--older-than must be 0 days or more", field="older_than")
        before = (now or now_utc()) - timedelta(days=older_than_days)
        if not self._exists():
            return PurgeResult(questions=0, feedback=0, before=before)
        with self.db.transaction("purge the query log") as conn:
            old = f"SELECT question_id FROM {self._s}.questions WHERE asked_at < %s"
            fb = conn.execute(f"DELETE FROM {self._s}.feedback WHERE question_id IN ({old})", (_ts(before),)).rowcount
            qs = conn.execute(f"DELETE FROM {self._s}.questions WHERE asked_at < %s", (_ts(before),)).rowcount
        return PurgeResult(questions=qs, feedback=fb, before=before)

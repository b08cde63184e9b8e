"""Replay a file of asked questions through the engine, with their askers, times and feedback.

One JSON object per line: ``{"asker": "Ben Carter", "question": "...", "days_ago": 12, "helpful": false,
"comment": "..."}`` (``asker``, ``days_ago``, ``helpful`` and ``comment`` optional). Each question is
answered by the real engine now and logged as asked ``days_ago`` days before. The log remembers each
replayed file's contents: replaying the same file again is refused (it would count every question twice)
unless ``again`` is set. The sample organisation's ``data/asked.jsonl`` builds a real gap report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from rag.engine import QueryEngine
from rag.errors import BadInput, ConfigError
from rag.querylog import now_utc
from rag.types import ReplaySummary


class AskedLine(BaseModel):
    """One line of a replay file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, max_length=2000)
    asker: str | None = Field(default=None, min_length=1)
    days_ago: float = Field(default=0.0, ge=0)
    helpful: StrictBool | None = None
    comment: str | None = Field(default=None, max_length=2000)


def load_asked(path: Path) -> list[AskedLine]:
    """Parse a replay file; BadInput names the line and the field at fault."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}", field="file") from exc
    out = []
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.append(AskedLine.model_validate(json.loads(raw)))
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{n}: not JSON ({exc.msg})", field=f"line {n}") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "line"
            raise BadInput(f"{path}:{n}: {where}: {err['msg']}", field=where) from exc
    return out


def replay(engine: QueryEngine, path: Path, *, now: datetime | None = None, again: bool = False,
           progress: Callable[[int, int], None] | None = None) -> ReplaySummary:
    """Ask every question of ``path`` through ``engine`` and log it (with feedback) at its own time."""
    log = engine.query_log
    if log is None:
        raise ConfigError("the query log is off (WHOKNOWS_QUERY_LOG=off) - unset it to replay questions")
    items = load_asked(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not again and (when := log.replayed_at(digest)) is not None:
        raise BadInput(f"{path} was already replayed into {log.path} on {when:%Y-%m-%d %H:%M} UTC - replaying it "
                       "again would count every question twice (pass --again to do it anyway)", field="file")
    now = now or now_utc()
    abstained = feedback = 0
    for i, item in enumerate(items):
        if progress:
            progress(i, len(items))
        # A second apart keeps the file's order when two lines share a day.
        at = now - timedelta(days=item.days_ago) + timedelta(seconds=i)
        answer = engine.ask(item.question, asker=item.asker, asked_at=at)
        abstained += answer.abstained
        if item.helpful is not None and answer.question_id:
            log.add_feedback(answer.question_id, helpful=item.helpful, comment=item.comment,
                             at=at + timedelta(minutes=5))
            feedback += 1
    log.record_replay(digest, file=str(path), questions=len(items))
    return ReplaySummary(file=str(path), asked=len(items), abstained=abstained, feedback=feedback,
                         askers=len({i.asker for i in items if i.asker}))

"""The gold set: one JSON question per line, read with errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from rag.errors import BadInput, NotFound

KINDS = ("factual", "how-to", "who-knows", "unanswerable")


class GoldItem(BaseModel):
    """One gold question: what a good answer says, cites and whom it names.

    ``sources`` name files (``wiki/deploy.md``) or thread anchors (``email/eng.mbox#id``);
    ``evidence`` holds sentences copied from those sources. ``kind`` is usually one of
    :data:`KINDS`, but any label is kept (lower-cased) so a new kind still gets its own breakdown.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    question: str
    answer: str = ""
    sources: list[str] = []
    experts: list[str] = []
    kind: str
    evidence: list[str] = []
    asker: str | None = None  # who asked (thread questions): must never be the top expert

    @field_validator("id", "question", "kind")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("kind")
    @classmethod
    def _lower_kind(cls, value: str) -> str:
        return value.lower()

    @property
    def answerable(self) -> bool:
        """False for the questions the knowledge base cannot answer, where abstaining is right."""
        return self.kind != "unanswerable"


def source_matches(candidate: str, gold: str) -> bool:
    """True when ``candidate`` is the gold source or a thread anchored in the gold file.

    A gold naming a whole file (``email/eng.mbox``) matches any thread in it
    (``email/eng.mbox#abc@x``); a gold naming one thread matches only that thread.
    """
    return candidate == gold or candidate.startswith(gold + "#")


def load_gold(path: Path | str) -> list[GoldItem]:
    """Read a gold JSONL file, skipping blank lines.

    Raises :class:`BadInput` naming the file, the line number and the problem for invalid JSON, a
    line that is not an object, a missing or mistyped field, a repeated id, or a file with no question.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise NotFound(
            f"No gold file at {path} - pass a JSONL file of questions (see data/qa.jsonl)"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read the gold file ({exc})", field=str(path)) from exc
    items: list[GoldItem] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = _parse_line(line, where=f"{path} line {number}")
        if item.id in first_line:
            raise BadInput(
                f"{path} line {number}: duplicate id {item.id!r} (first on line {first_line[item.id]})"
                " - give every question its own id",
                field="id",
            )
        first_line[item.id] = number
        items.append(item)
    if not items:
        raise BadInput(f"{path}: no questions - write one JSON object per line", field=str(path))
    return items


def _parse_line(line: str, *, where: str) -> GoldItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: expected a JSON object, got {type(raw).__name__}")
    try:
        return GoldItem.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        if first["type"] == "missing":
            problem = f"missing '{field}'"
        elif first["type"] == "value_error":
            problem = f"'{field}' {first['ctx']['error']}"
        else:
            got = repr(first["input"])
            got = got if len(got) <= 60 else got[:57] + "..."
            problem = f"'{field}': {first['msg'][0].lower()}{first['msg'][1:]}, got {got}"
        raise BadInput(f"{where}: {problem}", field=field) from None

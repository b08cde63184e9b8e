"""GET /people, GET /people/{name} and POST /codify: who knows what, and chat written down as a draft.

Both are built only from what the caller's groups may read: a profile lists only readable evidence, a
person known only from unreadable sources answers 404 exactly like a name nobody has, and a draft quotes
only readable threads. Codifying reads the gap report's topics, so with auth on it is for the
knowledge-managers group, like GET /gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import FastAPI, Query, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import Caller
from api.schemas import CodifyIn, CodifyOut, PersonSummaryOut, ProfileOut
from rag.codify import codify
from rag.config import Settings
from rag.engine import QueryEngine
from rag.profiles import list_people, profile


def install_profiles(app: FastAPI, *, settings: Settings, engine_of: Callable[[Request], QueryEngine],
                     caller_of: Callable[[Request], Caller]) -> None:
    """Add the people and codify routes to ``app``."""

    @app.get("/people", response_model=list[PersonSummaryOut])
    def people(request: Request, team: Annotated[str | None, Query(min_length=1, max_length=200)] = None
               ) -> list[PersonSummaryOut]:
        """Colleagues with their strongest topics; with ``team``, that team's people ranked by their share
        of the team's knowledge (who to meet first)."""
        found = list_people(engine_of(request), groups=caller_of(request).groups, team=team)
        return [PersonSummaryOut.from_domain(p) for p in found]

    @app.get("/people/{name}", response_model=ProfileOut)
    def person(name: str, request: Request) -> ProfileOut:
        """What one colleague knows (name, alias or e-mail): topics, evidence, how often answers cited them."""
        return ProfileOut.from_domain(profile(engine_of(request), name, groups=caller_of(request).groups))

    @app.post("/codify", response_model=CodifyOut)
    def codify_draft(body: CodifyIn, request: Request) -> CodifyOut:
        """A Markdown draft page (``status: draft``) from the threads that answer a topic or one thread."""
        who = caller_of(request)
        if who.groups is not None and settings.gaps_group not in who.groups:
            raise StarletteHTTPException(403, f"drafting pages is for the '{settings.gaps_group}' group - ask an "
                                              "administrator to add you with `whoknows users add`")
        return CodifyOut.from_domain(codify(engine_of(request), body.target, groups=who.groups))

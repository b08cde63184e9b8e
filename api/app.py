"""FastAPI app: /ask, /search, /experts, /documents/{id}, /channels, /feedback, /gaps, /health and the web pages.

Errors are JSON naming the field. Every search runs with the caller's groups inside it (``scoped``), so a
document the caller may not read never reaches an answer, a citation, an expert or a listing.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import Authenticator, Caller, Unauthorized
from api.guards import Guards, TokenBucket
from api.openapi import install_openapi
from api.routes_profiles import install_profiles
from api.schemas import (
    TEXT_PATTERN,
    AnswerOut,
    AskIn,
    DocumentOut,
    ExpertOut,
    FeedbackIn,
    FeedbackOut,
    FiltersIn,
    GapReportOut,
    SearchHitOut,
)
from api.web import install_web
from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import BackendUnavailable, BadInput, NotFound, StoreError, WhoknowsError
from rag.gaps_cache import ReportCache
from rag.types import Filters

log = logging.getLogger("whoknows.api")


def create_app(settings: Settings, *, engine: QueryEngine | None = None) -> FastAPI:
    """The API over one engine, built in the lifespan from ``settings``."""

    opening = threading.Lock()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.engine = engine
        if engine is None:
            try:
                app.state.engine = QueryEngine(settings)
            except (StoreError, BackendUnavailable) as exc:
                # Stay up and answer 503 with the fix; each request retries, so an ingest heals it.
                log.warning("store unavailable at startup: %s", exc)
        yield

    app = FastAPI(title="whoknows", version="0.1.0", lifespan=lifespan,
                  description="Answers from your organisation's knowledge, with sources and the people who know.")
    _install_errors(app)
    install_openapi(app)
    app.add_middleware(Guards, auth=Authenticator(settings), max_body=settings.max_body_bytes,
                       bucket=TokenBucket(rate_per_s=settings.rate_limit_per_minute / 60.0,
                                          burst=settings.rate_limit_burst))
    install_web(app, settings)
    reports = ReportCache()
    app.state.gap_reports = reports

    def eng(request: Request) -> QueryEngine:
        if request.app.state.engine is None:
            with opening:  # one open attempt at a time; StoreError / BackendUnavailable -> 503
                if request.app.state.engine is None:
                    request.app.state.engine = QueryEngine(settings)
        return request.app.state.engine  # type: ignore[no-any-return]

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness plus the store's size."""
        return {"status": "ok", "chunks": eng(request).store.count()}

    @app.post("/ask", response_model=AnswerOut)
    def ask(body: AskIn, request: Request) -> AnswerOut:
        """Answer a question with cited sources and the colleagues who know."""
        who = caller(request)
        filters = scoped(body.filters.to_domain() if body.filters else None, who)
        asker = who.name if who.key_id else None  # the API user; nobody when auth is off
        return AnswerOut.from_domain(eng(request).ask(body.question, k=body.k, filters=filters, asker=asker))

    @app.get("/search", response_model=list[SearchHitOut])
    def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=2000, pattern=TEXT_PATTERN)],
               # Lists, never null: a query string cannot say null, so the schema must not offer it.
               kind: Annotated[list[Literal["wiki", "retro", "thread"]], Query(default_factory=list)],
               channel: Annotated[list[str], Query(default_factory=list)],
               k: Annotated[int, Query(ge=1, le=50)] = 10) -> list[SearchHitOut]:
        """Ranked passages for a query."""
        filters = None
        if kind or channel:
            filters = FiltersIn.model_validate({"kind": kind or None, "channel": channel or None}).to_domain()
        hits = eng(request).search(q, k=k, filters=scoped(filters, caller(request)))
        return [SearchHitOut(doc_id=h.chunk.doc_id, chunk_id=h.chunk.chunk_id, title=h.chunk.title,
                             kind=h.chunk.kind, source=h.chunk.source, section=h.chunk.section, text=h.chunk.text,
                             authors=list(h.chunk.authors), date=h.chunk.date, score=round(h.score, 6))
                for h in hits]

    @app.get("/experts", response_model=list[ExpertOut])
    def experts(request: Request, q: Annotated[str, Query(min_length=1, max_length=2000, pattern=TEXT_PATTERN)],
                k: Annotated[int, Query(ge=1, le=50)] = 10) -> list[ExpertOut]:
        """The colleagues who know most about a topic."""
        return [ExpertOut(name=e.name, score=e.score, team=e.team, active=e.active, evidence=list(e.evidence),
                          why=e.why) for e in eng(request).experts(q, k=k, filters=scoped(None, caller(request)))]

    @app.get("/documents/{doc_id}", response_model=DocumentOut)
    def document(doc_id: str, request: Request) -> DocumentOut:
        """One stored document, reassembled."""
        d = eng(request).document(doc_id, groups=caller(request).groups)
        return DocumentOut(doc_id=d.doc_id, title=d.title, kind=d.kind, source=d.source, paths=list(d.paths),
                           url=d.url, authors=list(d.authors), date=d.date, channel=d.channel, text=d.text)

    @app.get("/channels", response_model=list[str])
    def channels(request: Request) -> list[str]:
        """Channels the caller may filter by (only those holding something they may read)."""
        return eng(request).channels(groups=caller(request).groups)

    @app.post("/feedback", response_model=FeedbackOut, status_code=201)
    def feedback(body: FeedbackIn, request: Request) -> FeedbackOut:
        """Thumbs up or down on an answer, by the ``question_id`` the /ask response carried.

        With auth on, only on one's own questions (a knowledge manager may rate any)."""
        who = caller(request)
        qlog = eng(request).query_log
        if qlog is None:
            raise NotFound(f"No question with id {body.question_id!r}: the query log is off "
                           "(WHOKNOWS_QUERY_LOG=off), so no answer can take feedback.")
        anyone = who.groups is None or settings.gaps_group in who.groups
        return FeedbackOut.from_domain(qlog.add_feedback(body.question_id, helpful=body.helpful,
                                                         comment=body.comment, asker=None if anyone else who.name))

    @app.get("/gaps", response_model=GapReportOut)
    def gaps(request: Request, since: Annotated[int | None, Query(ge=1, le=36500)] = None) -> GapReportOut:
        """The knowledge-gap report over the last ``since`` days of the query log (all of it by default)."""
        who = caller(request)
        if who.groups is not None and settings.gaps_group not in who.groups:
            raise StarletteHTTPException(403, f"the gap report is for the '{settings.gaps_group}' group - ask an "
                                              "administrator to add you with `whoknows users add`")
        # Built only from what the caller may read: a manager outside a group sees nothing drawn from it.
        # Cached by the state of the log, the store and the day: a rebuild costs seconds on a large log.
        return GapReportOut.from_domain(reports.report(eng(request), since_days=since, groups=who.groups))

    install_profiles(app, settings=settings, engine_of=eng, caller_of=caller)
    return app


def caller(request: Request) -> Caller:
    """Who is calling, as the guards found out; no caller on a guarded route means no access at all."""
    who = getattr(request.state, "caller", None)
    if not isinstance(who, Caller):
        raise Unauthorized("no caller on this request - send 'Authorization: Bearer KEY'")
    return who


def scoped(filters: Filters | None, who: Caller) -> Filters | None:
    """The caller's groups added to the search filters, so the access check runs inside the searches."""
    if who.groups is None:
        return filters
    return (filters or Filters()).model_copy(update={"groups": who.groups})


def _message(error: Any) -> str:
    """A validation error's message; the text pattern (``TEXT_PATTERN``) said in words."""
    if error.get("type") == "string_pattern_mismatch":
        return "has no words, only white space or control characters - ask in plain language"
    return str(error.get("msg", "invalid"))


def _install_errors(app: FastAPI) -> None:
    """Every error is JSON ``{"error", "field"}``; user input never yields a 500."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        # The field, not its position in a list ('kind', not 'kind.0'); 'detail' keeps the full location.
        loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path") and not isinstance(p, int)]
        field = ".".join(loc) or "body"
        return JSONResponse({"error": f"{field}: {_message(first)}", "field": field,
                             "detail": [{"field": ".".join(str(p) for p in e.get("loc", [])), "msg": _message(e)}
                                        for e in exc.errors()]}, status_code=422)

    @app.exception_handler(ValidationError)
    async def invalid_model(_: Request, exc: ValidationError) -> JSONResponse:
        errors: list[Any] = list(exc.errors())
        first = errors[0] if errors else {}
        field = ".".join(str(p) for p in first.get("loc", [])[:1]) or "body"
        return JSONResponse({"error": f"{field}: {first.get('msg', 'invalid')}", "field": field}, status_code=422)

    @app.exception_handler(BadInput)
    async def bad(_: Request, exc: BadInput) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": exc.field}, status_code=422)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": "authorization"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="whoknows"'})

    @app.exception_handler(NotFound)
    async def missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=404)

    @app.exception_handler(StoreError)
    async def store(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=503)

    @app.exception_handler(BackendUnavailable)
    async def unavailable(_: Request, exc: BackendUnavailable) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=503)

    @app.exception_handler(WhoknowsError)
    async def other(_: Request, exc: WhoknowsError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body it could not decode (not UTF-8, say)
            return JSONResponse({"error": "body: not a UTF-8 JSON document - send JSON encoded as UTF-8",
                                 "field": "body"}, status_code=422)
        # A 405 keeps its Allow header (RFC 9110): it says which methods the path does answer.
        return JSONResponse({"error": str(exc.detail), "field": None}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

"""FastAPI app: /ask, /search, /experts, /documents/{id}, /health. Errors are JSON naming the field."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import AnswerOut, AskIn, DocumentOut, ExpertOut, FiltersIn, SearchHitOut
from rag.config import Settings
from rag.engine import QueryEngine
from rag.errors import BadInput, NotFound, StoreError, WhoknowsError

MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings, *, engine: QueryEngine | None = None) -> FastAPI:
    """The API over one engine, built in the lifespan from ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        app.state.engine = engine or QueryEngine(settings)
        yield

    app = FastAPI(title="whoknows", version="0.1.0", lifespan=lifespan,
                  description="Answers from your organisation's knowledge, with sources and the people who know.")
    _install_errors(app)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > MAX_BODY_BYTES:
            return JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes", "field": "body"}, 413)
        return await call_next(request)

    def eng(request: Request) -> QueryEngine:
        return request.app.state.engine  # type: ignore[no-any-return]

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness plus the store's size."""
        return {"status": "ok", "chunks": eng(request).store.count()}

    @app.post("/ask", response_model=AnswerOut)
    def ask(body: AskIn, request: Request) -> AnswerOut:
        """Answer a question with cited sources and the colleagues who know."""
        filters = body.filters.to_domain() if body.filters else None
        return AnswerOut.from_domain(eng(request).ask(body.question, k=body.k, filters=filters))

    @app.get("/search", response_model=list[SearchHitOut])
    def search(request: Request, q: Annotated[str, Query(min_length=1, max_length=2000)],
               k: Annotated[int, Query(ge=1, le=50)] = 10,
               kind: Annotated[list[str] | None, Query()] = None,
               channel: Annotated[list[str] | None, Query()] = None) -> list[SearchHitOut]:
        """Ranked passages for a query."""
        filters = None
        if kind or channel:
            filters = FiltersIn.model_validate({"kind": kind, "channel": channel}).to_domain()
        hits = eng(request).search(q, k=k, filters=filters)
        return [SearchHitOut(doc_id=h.chunk.doc_id, chunk_id=h.chunk.chunk_id, title=h.chunk.title,
                             kind=h.chunk.kind, source=h.chunk.source, section=h.chunk.section, text=h.chunk.text,
                             authors=list(h.chunk.authors), date=h.chunk.date, score=round(h.score, 6))
                for h in hits]

    @app.get("/experts", response_model=list[ExpertOut])
    def experts(request: Request, q: Annotated[str, Query(min_length=1, max_length=2000)],
                k: Annotated[int, Query(ge=1, le=50)] = 10) -> list[ExpertOut]:
        """The colleagues who know most about a topic."""
        return [ExpertOut(name=e.name, score=e.score, team=e.team, active=e.active, evidence=list(e.evidence),
                          why=e.why) for e in eng(request).experts(q, k=k)]

    @app.get("/documents/{doc_id}", response_model=DocumentOut)
    def document(doc_id: str, request: Request) -> DocumentOut:
        """One stored document, reassembled."""
        d = eng(request).document(doc_id)
        return DocumentOut(doc_id=d.doc_id, title=d.title, kind=d.kind, source=d.source, paths=list(d.paths),
                           url=d.url, authors=list(d.authors), date=d.date, channel=d.channel, text=d.text)

    return app


def _install_errors(app: FastAPI) -> None:
    """Every error is JSON ``{"error", "field"}``; user input never yields a 500."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        return JSONResponse({"error": f"{field}: {first.get('msg', 'invalid')}", "field": field,
                             "detail": [{"field": ".".join(str(p) for p in e.get("loc", [])), "msg": e.get("msg")}
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

    @app.exception_handler(NotFound)
    async def missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=404)

    @app.exception_handler(StoreError)
    async def store(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=503)

    @app.exception_handler(WhoknowsError)
    async def other(_: Request, exc: WhoknowsError) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": None}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail), "field": None}, status_code=exc.status_code)

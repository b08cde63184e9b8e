"""The web pages: ask a question (GET /), the knowledge managers' gap report (GET /managers) and who knows
what (GET /profile?name=...).

All are page shells rendered by Jinja with no knowledge in them; a little vanilla JavaScript calls the
JSON API with the caller's key (kept in sessionStorage), so the access rules of the API apply unchanged.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from rag.config import Settings

HERE = Path(__file__).resolve().parent
# Material Design "thumb_up" (Apache-2.0); the thumbs-down button turns it over in CSS. No emoji: headless
# and minimal systems often lack an emoji font.
THUMB = ('<svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><path '
         'fill="currentColor" d="M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44'
         '-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09'
         '-.23.14-.47.14-.73v-2z"/></svg>')


# The page holds an API key: only our own scripts and styles may run, and nothing may frame it.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_web(app: FastAPI, settings: Settings) -> None:
    """Mount the static assets and the pages on ``app``."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    router = APIRouter(include_in_schema=False)
    page = {"auth": settings.auth_enabled, "thumb": THUMB}

    @router.get("/", response_class=HTMLResponse)
    def ask_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "ask.html", {**page, "active": "ask"}, headers=HEADERS)

    @router.get("/managers", response_class=HTMLResponse)
    def managers_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "managers.html", {**page, "active": "managers"}, headers=HEADERS)

    @router.get("/profile", response_class=HTMLResponse)
    def profile_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "profile.html", {**page, "active": "people"}, headers=HEADERS)

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

"""What a file is, from its name and its first bytes: a document to read, or not a document (and why).

Discovery asks here first; a file that is neither a known document nor a known non-document is
reported as failed ("unsupported file type"), so nothing under the corpus folder is lost without a word.
"""

from __future__ import annotations

import re

MARKDOWN = {".md", ".markdown", ".mdown", ".mkd", ".mdx"}
# Read through unstructured (ingest.loaders.files / ingest.loaders.office).
UNSTRUCTURED = {".html", ".htm", ".docx", ".pdf", ".txt", ".text", ".rst"}
OFFICE = {".xhtml", ".pptx", ".xlsx", ".xls", ".epub", ".odt", ".rtf", ".msg", ".csv", ".tsv", ".org", ".doc", ".ppt",
          ".textile", ".mediawiki", ".wiki", ".adoc", ".asciidoc"}
EMAIL = {".eml", ".mbox"}
ARCHIVES = {".zip"}

_NOT_DOCUMENTS: dict[str, set[str]] = {
    "image": {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".svg", ".ico", ".heic", ".heif",
              ".psd", ".avif", ".raw", ".cr2", ".nef", ".eps", ".ai", ".drawio", ".excalidraw"},
    "audio": {".mp3", ".wav", ".ogg", ".oga", ".flac", ".m4a", ".aac", ".opus", ".wma", ".aiff", ".mid", ".midi"},
    "video": {".mp4", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".m4v", ".flv", ".mpg", ".mpeg", ".3gp"},
    "stylesheet": {".css", ".scss", ".sass", ".less", ".styl"},
    "font": {".ttf", ".otf", ".woff", ".woff2", ".eot", ".fon", ".pfb"},
    "web page script or source map": {".js", ".mjs", ".cjs", ".map", ".ts", ".tsx", ".jsx", ".wasm"},
    "archive of unknown content": {".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar", ".war",
                                   ".apk", ".dmg", ".iso"},
    "program or binary data": {".exe", ".dll", ".so", ".dylib", ".bin", ".class", ".pyc", ".o", ".a", ".db",
                               ".sqlite", ".sqlite3", ".pickle", ".pkl", ".npy", ".parquet", ".dat"},
    "lock file": {".lock", ".lck"},
}
_BY_EXT = {ext: what for what, exts in _NOT_DOCUMENTS.items() for ext in exts}
_LOCK_NAMES = {"package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "cargo.lock", "gemfile.lock",
               "composer.lock", "pipfile.lock", "uv.lock", "go.sum", "npm-shrinkwrap.json"}
_PROJECT_FILES = {"package.json", "tsconfig.json", "composer.json", "manifest.json", ".eslintrc.json",
                  "renovate.json", "lerna.json", "angular.json", "app.json", "vercel.json", "netlify.toml"}
# A Slack export's metadata: read with the export (names, channels, access), not documents themselves.
SLACK_METADATA = {"users.json", "channels.json", "groups.json", "mpims.json", "dms.json", "integration_logs.json",
                  "canvases.json", "org_users.json", "huddles.json", "file_conversations.json"}


def not_a_document(name: str) -> str | None:
    """Why a file with this name is no document ('image', 'lock file'...), or None when it may be one."""
    low = name.lower()
    if low in _LOCK_NAMES or low.startswith("~$"):  # ~$report.docx: Office's owner lock file
        return "lock file"
    if low in _PROJECT_FILES:
        return "project configuration file"
    dot = low.rfind(".")
    return _BY_EXT.get(low[dot:]) if dot > 0 else None


# WhatsApp "Export chat": '12/31/20, 9:41 PM - Ann: hi' (Android) or '[31.12.20, 21:41:05] Ann: hi' (iOS).
WHATSAPP_LINE = re.compile(
    r"^\u200e?\[?(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{2,4}),?\s+(?P<t>\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)"
    r"(?:\s?(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?\]?(?:\s[-\u2013]\s|\s)(?P<rest>.*)$")
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")


def sniff_text(head: bytes) -> str | None:
    """'whatsapp' or 'email' when a .txt file's first bytes are a chat export or a saved message, else None."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if len([ln for ln in lines[:10] if WHATSAPP_LINE.match(ln)]) >= 2:
        return "whatsapp"
    block: list[str] = []
    for ln in text.splitlines():
        if not ln.strip():
            break
        block.append(ln)
    if block and block[0].startswith("From ") and len(block) > 1:  # an mbox 'From ' separator line
        block = block[1:]
    names = {ln.split(":", 1)[0].lower() for ln in block if _HEADER.match(ln)}
    bad = [ln for ln in block if not _HEADER.match(ln) and not ln[:1].isspace()]
    if "from" in names and len(names & {"date", "subject", "message-id", "to", "newsgroups"}) >= 2 and not bad:
        return "email"
    return None


_NOTION_ID = re.compile(r"\s+[0-9a-f]{32}$")


def page_title(stem: str) -> str:
    """A file name as a page title: Notion's 32-hex id suffix dropped, dashes and underscores as spaces."""
    return _NOTION_ID.sub("", stem).replace("_", " ").strip()

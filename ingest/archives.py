"""Archives in a corpus: a ``.zip`` of an export (Slack, Notion, Confluence...) is read as its folder.

The archive is unpacked once, under the data folder, into a folder named by a hash of its bytes (so an
unchanged archive is not unpacked again, and its files keep stable paths for the ingest ledger). Members
are bounded: no absolute paths or ``..``, none over the per-file size cap, at most ``MAX_MEMBERS`` files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ingest.filetypes import EMAIL, MARKDOWN, OFFICE, UNSTRUCTURED

MAX_MEMBERS = 20_000
_DOCUMENTS = MARKDOWN | UNSTRUCTURED | OFFICE | EMAIL | {".json", ".jsonl", ".ndjson"}


@dataclass
class Unpacked:
    """Where an archive was unpacked, or why it was not (``why``: not documents; ``error``: unreadable)."""

    folder: Path | None = None
    why: str = ""
    error: str | None = None
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (member, reason) not unpacked


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def _safe_name(name: str) -> str | None:
    """The member's relative path, or None when it would land outside the folder."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith("/") or ".." in parts or any(":" in p or "\x00" in p for p in parts[:1]):
        return None
    return "/".join(parts)


def unpack_zip(path: Path, unpack_dir: Path, *, max_member_bytes: int) -> Unpacked:
    """Unpack ``path`` under ``unpack_dir`` when it holds at least one document; see the module docstring."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return Unpacked(error=f"not a readable zip archive ({exc})")
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        docs = [i for i in infos if PurePosixPath(i.filename).suffix.lower() in _DOCUMENTS]
        if not docs:
            return Unpacked(why=f"{len(infos)} files, none a document whoknows reads")
        target = unpack_dir / _digest(path)
        done = target.with_name(target.name + ".done")  # beside the folder, so a walk never sees it
        if done.exists() and target.is_dir():
            return Unpacked(folder=target, left_out=_left_out(infos, max_member_bytes))
        tmp = target.with_name(target.name + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        left = _left_out(infos, max_member_bytes)
        skip = {m for m, _ in left}
        try:
            for info in infos[:MAX_MEMBERS]:
                name = _safe_name(info.filename)
                if name is None or info.filename in skip:
                    continue
                dest = tmp / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    # The header's size can lie (a zip bomb): stop at the cap whatever it claims.
                    copied = 0
                    for block in iter(lambda: src.read(1 << 20), b""):
                        copied += len(block)
                        if copied > max_member_bytes:
                            break
                        out.write(block)
                if copied > max_member_bytes:
                    dest.unlink()
                    left.append((info.filename, f"over the size cap of {max_member_bytes:,} bytes once unpacked"))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            return Unpacked(error=f"damaged zip archive ({exc})")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        done.write_text(str(path))
    return Unpacked(folder=target, left_out=left)


def _left_out(infos: list[zipfile.ZipInfo], max_member_bytes: int) -> list[tuple[str, str]]:
    out = []
    for i, info in enumerate(infos):
        if i >= MAX_MEMBERS:
            out.append((info.filename, f"archive holds more than {MAX_MEMBERS:,} files - not unpacked"))
        elif _safe_name(info.filename) is None:
            out.append((info.filename, "member path leaves the archive folder - not unpacked"))
        elif info.file_size > max_member_bytes:
            out.append((info.filename, f"{info.file_size:,} bytes, over the size cap of {max_member_bytes:,}"))
    return out


def prune(unpack_dir: Path, keep: set[Path]) -> None:
    """Remove unpacked folders of archives this corpus no longer holds."""
    if not unpack_dir.is_dir():
        return
    names = {k.name for k in keep} | {k.name + ".done" for k in keep}
    for child in unpack_dir.iterdir():
        if child.name not in names:
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

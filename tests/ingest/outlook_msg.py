"""Writes a small Outlook ``.msg`` for tests: an OLE compound file (MS-CFB, version 3) holding the
message's property stream and ``__substg1.0_*`` string streams (MS-OXMSG), as Outlook saves them.

No library here writes one (olefile only reads, or overwrites streams in place), so this does, within
the limits a test needs: every stream under 4096 bytes, so all of them live in the mini stream.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

_SECTOR, _MINI = 512, 64
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
PTYP_STRING, PTYP_TIME, PTYP_INT32, PTYP_BINARY = 0x001F, 0x0040, 0x0003, 0x0102
PID_MESSAGE_CLASS, PID_SUBJECT, PID_CLIENT_SUBMIT_TIME = 0x001A, 0x0037, 0x0039
PID_SENDER_NAME, PID_SENDER_EMAIL, PID_BODY, PID_HTML, PID_INTERNET_CODEPAGE = 0x0C1A, 0x0C1F, 0x1000, 0x1013, 0x3FDE


def _filetime(when: dt.datetime) -> int:
    return int((when - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10_000_000)


def _chain(first: int, count: int) -> list[int]:
    """FAT entries of ``count`` consecutive sectors from ``first``: each points at the next, the last ends."""
    return [first + i + 1 for i in range(count - 1)] + [_END] if count else []


def _dir_entry(name: str, kind: int, *, child: int = _NOSTREAM, left: int = _NOSTREAM, right: int = _NOSTREAM,
               start: int = _END, size: int = 0) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    return (raw.ljust(64, b"\x00") + struct.pack("<HBB3I", len(raw), kind, 1, left, right, child) + bytes(16)
            + struct.pack("<I2Q", 0, 0, 0) + struct.pack("<IQ", start, size))


def _tree(ids: list[int], names: list[str]) -> tuple[int, dict[int, tuple[int, int]]]:
    """A balanced binary tree of sibling entries in CFB name order (length, then upper case):
    its root and each entry's (left, right)."""
    order = sorted(ids, key=lambda i: (len(names[i]), names[i].upper()))
    links: dict[int, tuple[int, int]] = {}

    def build(lo: int, hi: int) -> int:
        if lo >= hi:
            return _NOSTREAM
        mid = (lo + hi) // 2
        links[order[mid]] = (build(lo, mid), build(mid + 1, hi))
        return order[mid]

    return build(0, len(order)), links


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file whose root storage holds ``streams`` (name -> bytes, each under 4096 bytes)."""
    names = ["Root Entry", *streams]
    datas = [b"", *streams.values()]
    assert all(len(d) < 4096 for d in datas), "this writer keeps every stream in the mini stream"
    mini, minifat, starts = b"", [], [_END]
    for data in datas[1:]:
        count = -(-len(data) // _MINI)
        starts.append(len(mini) // _MINI if count else _END)
        minifat += _chain(len(mini) // _MINI, count)
        mini += data.ljust(count * _MINI, b"\x00")
    n_dir = -(-len(names) // 4)
    n_minifat = -(-len(minifat) // 128)
    n_mini = -(-len(mini) // _SECTOR)
    n_fat = 1
    while n_fat * 128 < n_fat + n_dir + n_minifat + n_mini:
        n_fat += 1
    dir_at, minifat_at, mini_at = n_fat, n_fat + n_dir, n_fat + n_dir + n_minifat
    fat = [_FATSECT] * n_fat + _chain(dir_at, n_dir) + _chain(minifat_at, n_minifat) + _chain(mini_at, n_mini)
    fat += [_FREE] * (n_fat * 128 - len(fat))
    top, links = _tree(list(range(1, len(names))), names)
    entries = [_dir_entry("Root Entry", 5, child=top, start=mini_at if mini else _END, size=len(mini))]
    for i in range(1, len(names)):
        left, right = links[i]
        entries.append(_dir_entry(names[i], 2, left=left, right=right, start=starts[i], size=len(datas[i])))
    directory = b"".join(entries).ljust(n_dir * _SECTOR, b"\x00")
    for i in range(len(entries), n_dir * 4):  # unused entries: empty, no siblings
        directory = directory[:i * 128] + _dir_entry("", 0) + directory[(i + 1) * 128:]
    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat).ljust(n_minifat * _SECTOR, b"\xff")
    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH6x", 0x3E, 3, 0xFFFE, 9, 6)
              + struct.pack("<9I", 0, n_fat, dir_at, 0, 4096, minifat_at if minifat else _END, n_minifat, _END, 0)
              + struct.pack("<109I", *difat))
    body = struct.pack(f"<{len(fat)}I", *fat) + directory + minifat_bytes + mini.ljust(n_mini * _SECTOR, b"\x00")
    return header + body


def write_msg(path: Path, *, subject: str, sender_name: str, sender_email: str, sent: dt.datetime,
              body: str = "", html: str = "") -> Path:
    """An Outlook message (``IPM.Note``) with a plain-text and/or HTML body, written at ``path``."""
    strings = {PID_MESSAGE_CLASS: "IPM.Note", PID_SUBJECT: subject, PID_SENDER_NAME: sender_name,
               PID_SENDER_EMAIL: sender_email}
    if body:
        strings[PID_BODY] = body
    streams: dict[str, bytes] = {}
    props = [struct.pack("<HHIQ", PTYP_TIME, PID_CLIENT_SUBMIT_TIME, 6, _filetime(sent))]
    for pid, value in strings.items():
        raw = value.encode("utf-16-le")
        # The stream holds the UTF-16 string without its terminator; the size counts the terminator.
        streams[f"__substg1.0_{pid:04X}{PTYP_STRING:04X}"] = raw
        props.append(struct.pack("<HHIII", PTYP_STRING, pid, 6, len(raw) + 2, 0))
    if html:
        raw = html.encode("utf-8")
        streams[f"__substg1.0_{PID_HTML:04X}{PTYP_BINARY:04X}"] = raw
        props.append(struct.pack("<HHIII", PTYP_BINARY, PID_HTML, 6, len(raw), 0))
        props.append(struct.pack("<HHIIi", PTYP_INT32, PID_INTERNET_CODEPAGE, 6, 65001, 0))
    # Top-level header: 8 reserved bytes, next recipient id, next attachment id, recipient and attachment counts,
    # 8 reserved bytes; then one 16-byte entry per property (type, id, flags, value or size).
    stream = struct.pack("<8x4I8x", 0, 0, 0, 0) + b"".join(props)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compound_file({"__properties_version1.0": stream, **streams}))
    return path

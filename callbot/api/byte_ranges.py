"""A strict reader of the HTTP Range header (RFC 9110 section 14, formerly RFC 7233) for recordings and clips,
and the response that serves exactly the bytes it chose, so the audit entry names what was delivered.

What a request gets:
- no Range, a unit other than bytes, a header that breaks the grammar, or several ranges: the whole file (200);
  the RFC lets a server ignore a Range header, and one range is all a media player asks for;
- one satisfiable range (``bytes=0-``, ``Bytes=00-499``, ``bytes=-500``, ``bytes=9-99999999999``):
  206 with that range, clipped to the file;
- one range that starts at or beyond the end (``bytes=99999-`` on a shorter file, ``bytes=-0``): 416.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import anyio
from fastapi.responses import StreamingResponse

CHUNK_SIZE = 64 * 1024
_MAX_DIGITS = 18  # more digits than any file has bytes: read as "beyond the end" (int() refuses 4,300+ digits)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_INT_RANGE = re.compile(r"([0-9]+)-([0-9]*)")
_SUFFIX_RANGE = re.compile(r"-([0-9]+)")
_BEYOND = 10**_MAX_DIGITS


class RangeNotSatisfiable(Exception):
    """The one range asked for starts at or beyond the end of the file (answered with 416)."""


@dataclass(frozen=True, slots=True)
class ByteSpan:
    """Bytes ``first`` to ``last`` inclusive of a file of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.last == self.size - 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def _number(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _BEYOND if len(digits) > _MAX_DIGITS else int(digits)


def parse_range(header: str | None, size: int) -> ByteSpan | None:
    """The one range of ``header`` to serve from a file of ``size`` bytes, or None for the whole file.
    Raises RangeNotSatisfiable for a single range that selects nothing."""
    if header is None:
        return None
    unit, equals, range_set = header.partition("=")
    if not equals or not _TOKEN.fullmatch(unit) or unit.lower() != "bytes":
        return None
    if range_set[:1] in (" ", "\t"):  # white space is allowed around commas only, not after "="
        return None
    specs = [spec for spec in (part.strip(" \t") for part in range_set.split(",")) if spec]  # empty ones: ignored
    if len(specs) != 1:
        return None
    spec = specs[0]
    if match := _INT_RANGE.fullmatch(spec):
        first = _number(match[1])
        last = _number(match[2]) if match[2] else _BEYOND
        if last < first:
            return None  # an invalid range-spec: the header is ignored
        if first >= size:
            raise RangeNotSatisfiable()
        return ByteSpan(first, min(last, size - 1), size)
    if match := _SUFFIX_RANGE.fullmatch(spec):
        suffix = _number(match[1])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable()
        return ByteSpan(max(size - suffix, 0), size - 1, size)
    return None


def entity_tag(stat: os.stat_result) -> str:
    return '"' + hashlib.md5(f"{stat.st_mtime_ns}-{stat.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'


def range_applies(if_range: str | None, stat: os.stat_result) -> bool:
    """If-Range: the range is served only while the file is the one the client saw (strong ETag or date)."""
    if if_range is None:
        return True
    return if_range == entity_tag(stat) or if_range == formatdate(stat.st_mtime, usegmt=True)


async def _file_bytes(path: Path, first: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        await handle.seek(first)
        remaining = length
        while remaining > 0:
            chunk = await handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                return  # the file shrank meanwhile: the client sees a short body, never other bytes
            remaining -= len(chunk)
            yield chunk


def byte_span_response(path: Path, span: ByteSpan, stat: os.stat_result, *, partial: bool, media_type: str,
                       filename: str) -> StreamingResponse:
    """200 with the whole file, or 206 with one range; the headers a media element needs to seek."""
    headers = {
        "accept-ranges": "bytes",
        "content-length": str(span.length),
        "etag": entity_tag(stat),
        "last-modified": formatdate(stat.st_mtime, usegmt=True),
        "content-disposition": f'inline; filename="{filename}"',
    }
    if partial:
        headers["content-range"] = span.content_range()
    return StreamingResponse(_file_bytes(path, span.first, span.length), status_code=206 if partial else 200,
                             media_type=media_type, headers=headers)

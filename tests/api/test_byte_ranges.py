"""Range requests on recordings and clips: the strict RFC 9110 reader (callbot.api.byte_ranges) and, through the
real app, the rule that every response carrying audio gets exactly one audit entry naming the bytes it carried,
whatever the Range header says (the old prefix check let `bytes=00-`, `Bytes=0-`, `bytes=-99999999` and
`bytes=1-,0-0` download a whole recording unlogged)."""

from __future__ import annotations

import pytest

from callbot.api.byte_ranges import ByteSpan, RangeNotSatisfiable, parse_range
from tests.support.api import ApiWorld, tone_wav
from tests.support.stores import audit_entries, draft

SIZE = 1000
WHOLE = None  # parse_range's answer for "serve the whole file (200)"
UNSATISFIABLE = "416"

# (Range header, what parse_range makes of it on a file of SIZE bytes)
READINGS: list[tuple[str, object]] = [
    ("bytes=0-", (0, 999)),
    ("bytes=00-", (0, 999)),
    ("Bytes=0-", (0, 999)),  # the range unit is case-insensitive
    ("BYTES=0-99", (0, 99)),
    ("bytes=0000000000000000000000000001-", (1, 999)),  # leading zeros, more digits than int64
    ("bytes=0-99999999999999999999999999999", (0, 999)),  # clipped to the file
    ("bytes=-99999999", (0, 999)),  # a suffix longer than the file: all of it
    ("bytes=-100", (900, 999)),
    ("bytes=500-599", (500, 599)),
    ("bytes=999-", (999, 999)),
    ("bytes=0-0", (0, 0)),
    ("bytes=0-1,,", (0, 1)),  # empty list elements are ignored
    ("bytes=,0-1", (0, 1)),
    ("bytes=0-1 , ", (0, 1)),
    ("bytes=1-,0-0", WHOLE),  # several ranges: the whole file, never a multipart puzzle
    ("bytes=0-0,-1", WHOLE),
    ("bytes=0-1,2-3,4-5", WHOLE),
    ("bytes=5-3", WHOLE),  # last before first: an invalid header is ignored
    ("bytes=abc", WHOLE),
    ("bytes=", WHOLE),
    ("bytes=-", WHOLE),
    ("bytes=--1", WHOLE),
    ("bytes=0--1", WHOLE),
    ("bytes= 0-", WHOLE),  # no white space after "="
    ("bytes =0-", WHOLE),
    ("bytes=0-1;x", WHOLE),
    ("bytes=\u00b2-", WHOLE),  # "²" is a digit to str.isdigit, not to the grammar
    ("bytes=+1-", WHOLE),
    ("bytes=0x10-", WHOLE),
    ("items=0-10", WHOLE),  # another unit
    ("0-10", WHOLE),
    ("=0-10", WHOLE),
    ("", WHOLE),
    ("bytes=1000-", UNSATISFIABLE),  # starts at the end
    ("bytes=99999999999999999999999-", UNSATISFIABLE),
    ("bytes=-0", UNSATISFIABLE),
]


@pytest.mark.parametrize(("header", "reading"), READINGS)
def test_range_reader(header: str, reading: object) -> None:
    if reading == UNSATISFIABLE:
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, SIZE)
        return
    span = parse_range(header, SIZE)
    assert (None if span is None else (span.first, span.last)) == reading


def test_range_reader_edges() -> None:
    assert parse_range(None, SIZE) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)  # an empty file has no first byte
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-5", 0)
    span = parse_range("bytes=10-19", SIZE)
    assert span == ByteSpan(10, 19, SIZE) and span.length == 10 and span.content_range() == "bytes 10-19/1000"
    assert parse_range("bytes=0-", SIZE).whole  # type: ignore[union-attr]
    with pytest.raises(RangeNotSatisfiable):  # no ValueError from int() on 5,000 digits
        parse_range("bytes=" + "9" * 5000 + "-", SIZE)


# Every variant the issue names, and more: each must reach the audit log with the bytes it delivered.
API_VARIANTS = [header for header, _ in READINGS if header] + [
    "bytes=0-, bytes=1-",  # two Range values folded into one line
    "bytes=0-" + "0" * 4000,
]


def _expected(header: str | None, size: int) -> tuple[int, int, int] | None:
    """(status, first, last) the server must answer, or None for 416."""
    try:
        span = parse_range(header, size)
    except RangeNotSatisfiable:
        return None
    return (200, 0, size - 1) if span is None else (206, span.first, span.last)


@pytest.mark.parametrize("what", ["recording", "clip"])
def test_every_response_with_audio_is_audited_whatever_its_range(world: ApiWorld, tmp_path, what: str) -> None:
    if what == "recording":
        url, data, action = f"/api/calls/{world.call_id}/recording", world.recording.read_bytes(), "recording.view"
        target = str(world.call_id)
    else:
        clip = tone_wav(tmp_path / "clip.wav", seconds=2.0)
        target = world.store.call_log.file_ticket(draft=draft("ranges", needs_transcription=True), clips=[clip])
        url, data, action = f"/api/tickets/{target}/clips/0", clip.read_bytes(), "clip.view"
    size = len(data)
    delivered = 0
    for header in [None, *API_VARIANTS]:
        before = len(audit_entries(world.store, action=action, limit=500))
        headers = {**world.auth(), **({"Range": header.encode("latin-1")} if header is not None else {})}
        response = world.client.get(url, headers=headers)
        entries = audit_entries(world.store, action=action, limit=500)
        expected = _expected(header, size)
        if expected is None:
            assert response.status_code == 416 and response.content == b"range not satisfiable", header
            assert response.headers["content-range"] == f"bytes */{size}"
            assert len(entries) == before, f"{header!r}: a 416 carries no audio and is not an access"
            continue
        status, first, last = expected
        assert (response.status_code, response.content) == (status, data[first : last + 1]), header
        assert len(entries) == before + 1, f"{header!r} escaped the audit log"
        kind = "206 range" if status == 206 else "200 whole file"
        assert (entries[0].target_id, entries[0].new_value) == (target, f"bytes {first}-{last}/{size} ({kind})")
        delivered += 1
    assert delivered == len(API_VARIANTS) + 1 - sum(_expected(h, size) is None for h in API_VARIANTS)
    print(f"{what}: {len(API_VARIANTS) + 1} Range variants, {delivered} responses with audio, all audited")


def test_if_range_and_head(world: ApiWorld) -> None:
    url = f"/api/calls/{world.call_id}/recording"
    first = world.client.get(url, headers={**world.auth(), "Range": "bytes=0-9"})
    etag = first.headers["etag"]
    same = world.client.get(url, headers={**world.auth(), "Range": "bytes=10-19", "If-Range": etag})
    changed = world.client.get(url, headers={**world.auth(), "Range": "bytes=10-19", "If-Range": '"older"'})
    assert same.status_code == 206 and len(same.content) == 10
    assert changed.status_code == 200 and changed.content == world.recording.read_bytes()  # the file moved on
    assert world.client.head(url, headers=world.auth()).status_code == 405  # no bodiless peek around the log
    assert len(audit_entries(world.store, action="recording.view")) == 3

"""The pointer path into pjsua2's ByteVector is byte-exact and agrees with the plain SWIG copy."""

from __future__ import annotations

import os

import pjsua2 as pj
import pytest

from callbot.telephony.frame_buffer import read_bytes, write_bytes


@pytest.mark.parametrize("size", [0, 1, 160, 320, 640, 1919])
def test_write_then_read_is_byte_exact(size: int) -> None:
    frame = pj.MediaFrame()
    data = os.urandom(size)
    write_bytes(frame.buf, data)
    assert frame.buf.size() == size
    assert bytes(frame.buf) == data  # what SWIG (and pjmedia) sees
    assert read_bytes(frame.buf) == data


def test_read_agrees_with_swig_copy_of_a_vector_filled_by_swig() -> None:
    frame = pj.MediaFrame()
    data = bytes(range(256)) * 2
    frame.buf = pj.ByteVector(data)
    assert read_bytes(frame.buf) == bytes(frame.buf) == data


def test_write_shrinks_and_grows_the_vector() -> None:
    frame = pj.MediaFrame()
    write_bytes(frame.buf, b"\x01" * 640)
    write_bytes(frame.buf, b"\x02\x03")
    assert bytes(frame.buf) == b"\x02\x03"
    write_bytes(frame.buf, b"\x04" * 320)
    assert read_bytes(frame.buf) == b"\x04" * 320


class _OddVector:
    """A vector whose header does not match the expected layout: the functions must fall back, not misread."""

    def __init__(self, data: bytes) -> None:
        self._data = bytearray(data)
        self._header = (b"\x00" * 8) + (8).to_bytes(8, "little") + (b"\x00" * 8)  # claims 8 bytes at address 0
        import ctypes

        self._buffer = ctypes.create_string_buffer(self._header)
        self.this = ctypes.addressof(self._buffer)

    def size(self) -> int:
        return len(self._data)

    def resize(self, n: int) -> None:
        self._data = self._data[:n].ljust(n, b"\x00")

    def __iter__(self):
        return iter(self._data)

    def __setitem__(self, index: int, value: int) -> None:
        self._data[index] = value


def test_layout_mismatch_falls_back_to_the_slow_path() -> None:
    vector = _OddVector(b"abc")
    assert read_bytes(vector) == b"abc"
    write_bytes(vector, b"xyz!")
    assert bytes(vector._data) == b"xyz!"

"""Tiny PNG and JPEG files for the image tests (decision D33): headers that tell the size, and nothing more."""

from __future__ import annotations

import struct
import zlib


def png(width: int, height: int, *, salt: int = 0) -> bytes:
    """A valid PNG of `width`×`height` (one grey row repeated); `salt` changes its bytes, not its size."""
    raw = b"".join(b"\x00" + bytes([salt % 256]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    """The markers a JPEG header has up to its frame header (SOF0): enough for a size check."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"

"""Gzip bodies made once: a cached page compressed when it is cached, not on every request.

A cached answer page differs between visitors only in the CSRF token (web/caching.py), so it is kept as
compressed pieces around the token's places: each piece a raw DEFLATE stream ended by a sync flush (so
it stops on a byte boundary and later blocks may follow), the token sent as a stored (uncompressed)
block, and an empty final block to end the stream. The gzip trailer's CRC-32 of the whole page is
combined from each piece's CRC (zlib's crc32_combine: the first CRC advanced over as many zero bytes as
the second piece has, then XORed with the second's), the "advance" being a linear map kept as 32 columns.
Sending such a page costs a few joins and a few dozen XORs instead of compressing 130 kB again.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from starlette.middleware.gzip import GZipMiddleware, GZipResponder

LEVEL = 6  # as the server's gzip middleware (web/app.py)
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no time, unknown OS
FINAL_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked last
MAX_STORED = 0xFFFF  # a stored block holds at most this many bytes


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (named or by "*", and not with q=0)."""
    allowed = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        allowed[name.strip()] = q > 0
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


class Gzip(GZipMiddleware):
    """Starlette's gzip middleware for a client that accepts gzip (read with accepts_gzip: a "gzip;q=0" is a no,
    where Starlette looks for the word); for any other client the response passes on as it is, with only
    "Vary: Accept-Encoding" added (Starlette's pass-through buffered and inspected every response for that)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"").decode("latin-1")
        if accepts_gzip(header):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
            return await responder(scope, receive, send)

        async def send_with_vary(message):
            if message["type"] == "http.response.start":
                message["headers"] = with_vary(message.get("headers", []))
            await send(message)

        await self.app(scope, receive, send_with_vary)


def with_vary(headers) -> list:
    """Response headers saying that the body depends on Accept-Encoding (added to a Vary already there)."""
    out, said = [], False
    for key, value in headers:
        if key.lower() == b"vary":
            said = True
            if b"accept-encoding" not in value.lower():
                value = value + b", Accept-Encoding"
        out.append((key, value))
    return out if said else [*out, (b"vary", b"Accept-Encoding")]


def gzip_whole(body: bytes) -> bytes:
    """A body compressed as the middleware would (the JSON of a cached answer, made once)."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    data = c.compress(body) + c.flush(zlib.Z_FINISH)
    return HEADER + data + struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)


def _deflated(piece: bytes) -> bytes:
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(piece) + c.flush(zlib.Z_SYNC_FLUSH)


def _stored(data: bytes) -> bytes:
    """`data` as stored (uncompressed), non-final DEFLATE blocks; the stream is byte-aligned before and after."""
    out = []
    for start in range(0, len(data), MAX_STORED):
        chunk = data[start : start + MAX_STORED]
        out.append(b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(out)


def _advance_columns(length: int) -> tuple[int, ...]:
    """The CRC register map for `length` zero bytes, as the images of the 32 single-bit registers.

    zlib.crc32(zeros, v) = advance(v) ^ advance(0xFFFFFFFF) ^ 0xFFFFFFFF, and that last term is crc32(zeros, 0)."""
    zeros = bytes(length)
    offset = zlib.crc32(zeros, 0)
    return tuple(zlib.crc32(zeros, 1 << bit) ^ offset for bit in range(32))


def _advance(columns: tuple[int, ...], value: int) -> int:
    out, bit = 0, 0
    while value:
        if value & 1:
            out ^= columns[bit]
        value >>= 1
        bit += 1
    return out


@dataclass(frozen=True)
class SplicedGzip:
    """A body in pieces, between which one value (the CSRF token) goes, ready to send gzipped."""

    deflated: tuple[bytes, ...]  # each piece, compressed and sync-flushed
    crcs: tuple[int, ...]  # each piece's CRC-32
    columns: tuple[tuple[int, ...], ...]  # for each piece after the first, the CRC advance over its length
    plain_length: int  # all pieces' bytes, without the value

    @classmethod
    def of(cls, pieces: list[bytes]) -> SplicedGzip:
        return cls(
            tuple(_deflated(p) for p in pieces),
            tuple(zlib.crc32(p) for p in pieces),
            tuple(_advance_columns(len(p)) for p in pieces[1:]),
            sum(len(p) for p in pieces),
        )

    def body(self, value: bytes) -> bytes:
        """The gzip body of the pieces joined by `value`."""
        stored = _stored(value)
        crc = self.crcs[0]
        for piece_crc, columns in zip(self.crcs[1:], self.columns, strict=True):
            crc = _advance(columns, zlib.crc32(value, crc)) ^ piece_crc
        size = self.plain_length + len(value) * (len(self.deflated) - 1)
        trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
        return HEADER + stored.join(self.deflated) + FINAL_BLOCK + trailer

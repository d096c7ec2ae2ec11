"""The HTTP protocol `oncoguide serve` runs: uvicorn's httptools protocol with the two limits it lacks.

uvicorn bounds the request head only in its pure-Python h11 protocol (h11_max_incomplete_event_size); with
httptools, which `uvicorn[standard]` picks by default, a 100 MB header was read for 34 s and answered 200.
And uvicorn times a connection out only after a response (keep-alive): one that opens and sends nothing,
or sends its head a byte at a time, was kept forever. This subclass keeps httptools' speed and adds both,
reading the limits from uvicorn's own config (set from Settings by `oncoguide serve`):
- a request head larger than `h11_max_incomplete_event_size` bytes gets 431 and the connection closes;
- a connection that has not sent a complete request head within `timeout_keep_alive` seconds of opening,
  or of its last response, is closed.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_MAX_HEAD = 16_384  # h11's default, when the config sets none


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_head = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD
        self.reading_head = True  # between requests, what arrives is the next request's head
        self.head_bytes = 0
        self.head_tail = b""  # the last bytes of the head so far: its end (CRLF CRLF) may straddle two reads
        self.head_timer: asyncio.TimerHandle | None = None

    # --- the deadline for a complete head ---------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_timeout(self) -> None:
        self.head_timer = None
        # a request still being answered re-arms the deadline when its response completes
        if self.reading_head and not self._busy() and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_head_timer()

    # --- the size of the head -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        # the head is measured before the parser sees it: a whole oversized head can arrive in one read, and
        # the parser would dispatch the request before a check made afterwards
        if self.reading_head and not self.transport.is_closing():
            window = self.head_tail + data
            end = window.find(b"\r\n\r\n")
            counted = end + 4 - len(self.head_tail) if end >= 0 else len(data)
            if self.head_bytes + counted > self.max_head:
                return self._refuse_head()
            self.head_bytes += counted
            self.head_tail = window[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_bytes = 0
        self.head_tail = b""
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head = True

    def _refuse_head(self) -> None:
        if not self._busy():  # never write into a response in progress (a pipelined request): just close
            message = f"the request head (request line and headers) is larger than {self.max_head} bytes\n".encode()
            self.transport.write(
                b"".join(
                    [
                        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
                        b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: " + str(len(message)).encode() + b"\r\n",
                        b"connection: close\r\n\r\n",
                        message,
                    ]
                )
            )
        self.transport.close()

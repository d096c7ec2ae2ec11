"""Looking at a path before reading it, and reading regular files only.

A FIFO, a device (a link to /dev/zero) or a socket is never read: opening a FIFO blocks until a writer
comes and /dev/zero never ends, so either would hang the whole batch. The type is checked after following
links (os.stat) before opening, and again on the opened descriptor (os.fstat), which closes the race with
a file replaced in between; the open is non-blocking, so even a FIFO swapped in at that moment cannot hang.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from oncoguide.library.documents import ParseError

_KINDS = (
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "directory"),
)
# O_NOCTTY: a terminal named by mistake does not become this process's controlling terminal
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def look(path: Path, missing: str = "no such file or folder") -> tuple[os.stat_result | None, str | None]:
    """What the path leads to after following links, or why it leads nowhere (a message, and no result)."""
    try:
        return os.stat(path), None
    except FileNotFoundError:
        return None, "a symbolic link to something that does not exist" if os.path.islink(path) else missing
    except PermissionError:
        return None, "permission denied"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "a loop of symbolic links"
        return None, f"cannot look at it ({exc.strerror or exc})"
    except ValueError:  # a NUL in a path handed over by a caller (a command line cannot hold one)
        return None, "not a valid path (it contains a NUL character)"


def not_regular(info: os.stat_result) -> str | None:
    """Why this is not a regular file ("not a regular file: FIFO (named pipe)"), or None when it is one."""
    if stat.S_ISREG(info.st_mode):
        return None
    kind = next((name for test, name in _KINDS if test(info.st_mode)), "special file")
    return f"not a regular file: {kind}"


def read_regular(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, refused (ParseError) when it is anything else, over max_bytes, or changed while
    it was read; the size is checked before the file is opened, so a huge file costs nothing."""
    info, problem = look(path, missing="no such file")
    if info is None:
        raise ParseError(problem)
    _check(info, max_bytes)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ParseError(_open_error(exc)) from None
    with open(fd, "rb", buffering=0) as handle:
        try:
            before = os.fstat(fd)
            _check(before, max_bytes)  # the path may have been replaced since os.stat()
            data = _read_all(handle, max_bytes + 1)
            after = os.fstat(fd)
        except OSError as exc:
            raise ParseError(f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise ParseError(f"the file grew over {max_bytes} bytes while it was read; the limit is {max_bytes}")
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise ParseError("the file changed while it was read; run the command again when it is complete")
    return data


def _check(info: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("this is a directory, not a file")
    if problem := not_regular(info):
        raise ParseError(problem)
    if info.st_size > max_bytes:
        raise ParseError(f"the file is {info.st_size} bytes; the limit is {max_bytes}")


def _read_all(handle, limit: int) -> bytes:
    """Up to `limit` bytes (an unbuffered read may return fewer than asked before the end)."""
    chunks, size = [], 0
    while size < limit and (chunk := handle.read(min(limit - size, 1 << 24))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _open_error(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file (it was removed before it could be read)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    return f"cannot open the file ({exc.strerror or exc})"

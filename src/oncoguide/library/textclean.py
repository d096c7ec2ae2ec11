"""Bytes to clean text: decoding (UTF-8, UTF-16, a guarded cp1252 fallback), normalisation, and file names
made safe to print."""

from __future__ import annotations

import codecs
import re
import unicodedata

from oncoguide.library.documents import ParseError

BINARY = "binary data, not text"
_CONTROL_SHARE = 0.05  # more control characters than this share of the text means binary data

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_NO_CR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# runs of spacing to collapse: two or more spaces, or any other space character (a single space is left
# alone, which keeps the substitution cheap on ordinary text)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_BLANK_LINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile(r"[\u200b\u2060\ufeff\u00ad]")  # invisible: zero-width space, word joiner, BOM, soft hyphen
# a lone surrogate cannot be stored as UTF-8 (a JSON line can spell one, "\ud800"); it becomes U+FFFD
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# what printable() escapes: C0 and C1 controls and DEL (a newline in a name would forge an output line), line and
# paragraph separators, bidirectional overrides and isolates (they reorder what a terminal shows), surrogates (a
# byte of a file name that is not UTF-8, kept by os.fsdecode as U+DC80..U+DCFF), and the backslash itself, so
# that an escape in the output always means an escaped character
_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NOT_UTF8_BYTE = re.compile(r"[\udc80-\udcff]")  # a byte that is not UTF-8, after decoding with surrogateescape
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode a file's bytes as text, or raise ParseError for binary data or damaged UTF-8.

    UTF-8 first (a BOM is stripped), UTF-16/32 when a BOM says so; otherwise the declared encoding (an HTML
    page's charset) when it is not UTF-8. Text that is mostly UTF-8 with a few bad bytes is refused, naming
    the first one, because any other reading of it is mojibake; the rest is read as cp1252 when every byte
    decodes and the result looks like text (the usual legacy encoding of Western European documents).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _looks_like_text(data.decode(encoding))
            except UnicodeDecodeError as exc:
                if encoding == "utf-8-sig":
                    raise ParseError(_bad_utf8(data, exc.start + len(bom), exc.reason)) from None
                raise ParseError(f"{BINARY} (it has a {encoding} byte-order mark but does not decode)") from None
    if b"\x00" in data:
        raise ParseError(f"{BINARY} (it contains NUL bytes)")
    try:
        return _looks_like_text(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        utf8_error = exc  # kept for the message when the text turns out to be damaged UTF-8
    if declared and not _is_utf8(declared):
        try:
            return _looks_like_text(data.decode(declared))
        except (LookupError, UnicodeDecodeError):
            pass
    if _mostly_utf8(data):
        raise ParseError(_bad_utf8(data, utf8_error.start, utf8_error.reason))
    try:
        return _looks_like_text(data.decode("cp1252"))
    except UnicodeDecodeError:
        raise ParseError(f"{BINARY} (neither UTF-8 nor cp1252)") from None


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def _mostly_utf8(data: bytes) -> bool:
    """More well-formed UTF-8 multi-byte characters than bytes that are not UTF-8: a UTF-8 file with damage.

    Text in a single-byte encoding (cp1252, Latin-1) hardly ever forms a valid UTF-8 sequence by chance:
    its accented letters are single bytes followed by ASCII, each one invalid in UTF-8.
    """
    text = data.decode("utf-8", "surrogateescape")  # each byte that is not UTF-8 becomes one U+DC80..U+DCFF
    bad = len(_NOT_UTF8_BYTE.findall(text))
    return len(_NOT_ASCII.findall(text)) - bad > bad


def _bad_utf8(data: bytes, offset: int, reason: str) -> str:
    # refused rather than read as cp1252, which would store every accented letter of it garbled
    return (
        f"not valid UTF-8: byte 0x{data[offset]:02x} at offset {offset} ({reason}) in text that is otherwise "
        f"UTF-8; repair the file or save it again as UTF-8"
    )


def _looks_like_text(text: str) -> str:
    """Return the text, or raise ParseError when control characters make it look binary."""
    if text:
        controls = len(_CONTROL_NO_CR.findall(text))
        if "\x00" in text or controls > _CONTROL_SHARE * len(text):
            raise ParseError(f"{BINARY} ({controls} control characters in {len(text)})")
    return text


def normalise_text(text: str) -> str:
    """NFC; one kind of newline; no control characters but newline and tab; single spaces inside
    lines; no spaces at line ends; at most one blank line in a row; no blank edges."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\f", "\n").replace("\v", "\n")
    text = text.replace("\t", " ")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if _ZERO_WIDTH.search(text):
        text = _ZERO_WIDTH.sub("", text)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def one_line(text: object) -> str:
    """A metadata value on one line: normalised, whitespace collapsed to single spaces."""
    if not text:
        return ""
    return " ".join(normalise_text(str(text)).split())


def printable(text: str) -> str:
    """A file name (or a message quoting one) safe to print on one line, e.g. "a\\nb", "caf\\xe9.txt".

    Every line that names a path goes through this, so a name cannot forge or hide an output line; the
    escapes are unambiguous (a backslash is doubled) and a name that is not UTF-8 shows its bytes as \\xNN.
    """
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

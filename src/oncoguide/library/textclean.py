"""Bytes to clean text: decoding (UTF-8, UTF-16, a guarded cp1252 fallback) and normalisation."""

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

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode a file's bytes as text, or raise ParseError for binary data.

    UTF-8 first (a BOM is stripped), UTF-16/32 when a BOM says so; otherwise the declared encoding
    (an HTML page's charset), then charset_normalizer when it is installed, else cp1252 when every
    byte decodes and the result looks like text.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _looks_like_text(data.decode(encoding))
            except UnicodeDecodeError:
                raise ParseError(f"{BINARY} (it has a {encoding} byte-order mark but does not decode)") from None
    if b"\x00" in data:
        raise ParseError(f"{BINARY} (it contains NUL bytes)")
    try:
        return _looks_like_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return _looks_like_text(data.decode(declared))
        except (LookupError, UnicodeDecodeError):
            pass
    guessed = _guess_with_charset_normalizer(data)
    if guessed is not None:
        return _looks_like_text(guessed)
    try:
        return _looks_like_text(data.decode("cp1252"))
    except UnicodeDecodeError:
        raise ParseError(f"{BINARY} (neither UTF-8 nor cp1252)") from None


def _guess_with_charset_normalizer(data: bytes) -> str | None:
    """charset_normalizer's best guess, only when that optional package is installed."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return None
    try:
        best = from_bytes(data).best()
    except Exception:  # an optional helper: any failure just means "no guess"
        return None
    return None if best is None else str(best)


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
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def one_line(text: str | None) -> str:
    """A metadata value on one line: normalised, whitespace collapsed to single spaces."""
    if not text:
        return ""
    return " ".join(normalise_text(str(text)).split())

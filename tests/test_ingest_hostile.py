"""`oncoguide ingest` given hostile files and names: a YAML alias bomb in front matter, FIFOs, links to
/dev/zero, loops of links and dangling links (named or met in a folder walk), damaged UTF-8, and file names
with newlines or bytes that are not UTF-8. Each gets one line saying what is wrong, the batch finishes and
the good files beside them are stored.

The CLI runs in a subprocess with a timeout (a regression hangs, it does not stall the suite) and, for the
bomb, a cap on its address space (a regression fails, it does not take the machine down)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from oncoguide.library.documents import ParseError
from oncoguide.library.parse import parse

MEMORY_CAP = 1536 * 1024 * 1024  # address space for the CLI under test; a normal run needs well under half
GOOD = "Plantar warts are common in adults. Freezing them is a usual first treatment in clinics.\n"


@pytest.fixture
def env(tmp_path, kb_settings) -> dict:
    return {"ONCOGUIDE_DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}", "ONCOGUIDE_DB": str(kb_settings.db)}


def ingest_cli(*args: str, env: dict, cap_memory: bool = False, timeout: float = 90) -> subprocess.CompletedProcess:
    """`oncoguide ingest ARGS` as a user runs it; subprocess.TimeoutExpired fails the test if it hangs."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run(
        [sys.executable, "-m", "oncoguide", "ingest", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        preexec_fn=limit if cap_memory else None,
    )


def line_for(out: str, name: str) -> str:
    lines = [line for line in out.splitlines() if line.split(": ")[0].endswith(name)]
    assert len(lines) == 1, (name, out)
    return lines[0]


# ---- YAML front matter -----------------------------------------------------------------------------------------


def alias_bomb() -> str:
    """About 500 bytes of nested aliases standing for 9**9 (387 million) strings."""
    lines = ["---", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join([*lines, "title: *a8", "authors: *a8", "---", "# Bomb", "", "Body text.", ""])


def test_a_yaml_alias_bomb_is_refused_at_once_with_a_line(tmp_path, env):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "bomb.md").write_text(alias_bomb())
    (folder / "good.md").write_text(f"---\ntitle: Wart care\n---\n{GOOD}")
    r = ingest_cli(str(folder), env=env, cap_memory=True, timeout=60)
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    assert line_for(r.stdout, "bomb.md") == (
        f"failed   {folder / 'bomb.md'}: bad front matter on line 2: YAML anchors and aliases (& and *) are refused"
    )
    assert "good.md: 1 new document(s)" in line_for(r.stdout, "good.md")


@pytest.mark.parametrize(
    "front, expected",
    [
        ("---\nname: &n Ann\nauthor: *n\n---\nBody.\n", "bad front matter on line 2: YAML anchors and aliases"),
        ("---\ntitle: fine\nbase: &b {a: 1}\n---\nBody.\n", "bad front matter on line 3: YAML anchors and aliases"),
        (
            "---\ntitle: fine\n" + "keyword: wart\n" * 6000 + "---\nBody.\n",
            "is not closed within 65536 characters (the limit for front matter)",
        ),
    ],
)
def test_front_matter_refuses_aliases_and_size(tmp_path, front, expected):
    path = tmp_path / "note.md"
    path.write_text(front)
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert expected in str(caught.value)


def test_front_matter_within_the_cap_still_reads(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Wart care\nyear: 2020\n" + "# comment line\n" * 3000 + "---\n" + GOOD)
    [doc] = parse(path)
    assert doc.title == "Wart care" and doc.year == 2020 and doc.text == GOOD.strip()


# ---- files that are not regular files -------------------------------------------------------------------------

SPECIAL_REASONS = {
    "pipe.txt": "not a regular file: FIFO (named pipe)",
    "zero.txt": "not a regular file: character device",
    "dangling.txt": "a symbolic link to something that does not exist",
    "ring1.txt": "a loop of symbolic links",
    "ring2.txt": "a loop of symbolic links",
    "up": "a link to a folder that contains it (a loop); not followed",
}


def make_specials(folder: Path) -> dict[str, Path]:
    """A FIFO, a link to /dev/zero, a dangling link, two links pointing at each other and, in a subfolder,
    a link to its parent folder; the paths by name."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "dangling.txt").symlink_to(folder / "missing.txt")
    (folder / "ring1.txt").symlink_to("ring2.txt")
    (folder / "ring2.txt").symlink_to("ring1.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")
    return {name: (folder / "sub" / name if name == "up" else folder / name) for name in SPECIAL_REASONS}


def test_special_files_in_a_folder_walk_each_get_a_line(tmp_path, env):
    folder = tmp_path / "incoming"
    make_specials(folder)
    (folder / "good.txt").write_text(GOOD)
    os.mkfifo(folder / ".hidden-pipe")  # hidden names are left out of walks, silently (documented)
    r = ingest_cli(str(folder), env=env, timeout=60)
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    for name, reason in SPECIAL_REASONS.items():
        assert line_for(r.stdout, name).startswith("failed   ") and line_for(r.stdout, name).endswith(reason)
    assert "good.txt: 1 new document(s)" in line_for(r.stdout, "good.txt")
    assert ".hidden-pipe" not in r.stdout
    assert f"{len(SPECIAL_REASONS) + 1} file(s): 1 new document(s)" in r.stdout
    assert f"; {len(SPECIAL_REASONS)} failed." in r.stdout


def test_special_files_named_on_the_command_line_each_get_a_line(tmp_path, env):
    paths = make_specials(tmp_path / "given")
    good = tmp_path / "good.txt"
    good.write_text(GOOD)
    named = [paths[name] for name in ("pipe.txt", "zero.txt", "dangling.txt", "ring1.txt")]
    r = ingest_cli(str(named[0]), str(named[1]), str(good), str(named[2]), str(named[3]), env=env, timeout=60)
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    for path in named:
        assert line_for(r.stdout, path.name) == f"failed   {path}: {SPECIAL_REASONS[path.name]}"
    assert line_for(r.stdout, "good.txt") == f"ingested {good}: 1 new document(s), 1 passage(s)"

    report = json.loads(ingest_cli(str(paths["up"]), "--format", "json", env=env, timeout=60).stdout)
    loops = [f for f in report["files"] if f["error"] == SPECIAL_REASONS["up"]]  # a folder named through its loop
    assert loops and all(f["status"] == "failed" for f in loops)


def test_a_link_to_a_regular_file_is_followed(tmp_path, env):
    target = tmp_path / "real.txt"
    target.write_text(GOOD)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    r = ingest_cli(str(link), env=env, timeout=60)
    assert r.returncode == 0 and line_for(r.stdout, "link.txt").endswith("1 new document(s), 1 passage(s)")


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path):
    from oncoguide.library.files import read_regular

    paths = make_specials(tmp_path)
    for name in ("pipe.txt", "zero.txt", "dangling.txt", "ring1.txt"):
        with pytest.raises(ParseError, match="not a regular file|does not exist|loop"):
            read_regular(paths[name], 1000)


# ---- encodings -------------------------------------------------------------------------------------------------

DAMAGED = "Café crème: a naïve résumé of wart care in Zürich, Málaga and Kraków.\n".encode()


def test_utf8_with_one_bad_byte_is_refused_naming_its_offset(tmp_path, env):
    damaged = DAMAGED[:20] + b"\xff" + DAMAGED[20:]
    path = tmp_path / "damaged.txt"
    path.write_bytes(damaged)
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert str(caught.value).startswith("not valid UTF-8: byte 0xff at offset 20 (invalid start byte)")
    truncated = tmp_path / "cut.md"  # a multi-byte character cut short, after a BOM (counted in the offset)
    cut = b"\xef\xbb\xbf" + "# Tumeur inventée\n\nTexte été".encode()[:-1]
    truncated.write_bytes(cut + b"x.\n")
    with pytest.raises(ParseError, match=f"not valid UTF-8: byte 0xc3 at offset {len(cut) - 1} "):
        parse(truncated)
    page = tmp_path / "page.html"  # declared UTF-8 and damaged: not read as something else
    page.write_bytes(b'<html><head><meta charset="utf-8"></head><body><p>' + damaged + b"</p></body></html>")
    with pytest.raises(ParseError, match="not valid UTF-8: byte 0xff"):
        parse(page)

    r = ingest_cli(str(path), env=env, timeout=60)
    assert r.returncode == 1 and "Ã" not in r.stdout
    assert line_for(r.stdout, "damaged.txt").startswith(f"failed   {path}: not valid UTF-8: byte 0xff at offset 20")


def test_cp1252_and_latin_text_that_is_not_utf8_is_still_read(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("Café naïve – 5 € in Zürich; “quoted” text.\n".encode("cp1252"))
    assert parse(path)[0].text == "Café naïve – 5 € in Zürich; “quoted” text."
    ascii_one_byte = tmp_path / "ascii.txt"  # ASCII with one high byte: nothing says UTF-8, cp1252 reads it
    ascii_one_byte.write_bytes(b"Plain ASCII text with one \xe9 in it.\n")
    assert parse(ascii_one_byte)[0].text == "Plain ASCII text with one é in it."


def test_a_lone_surrogate_in_json_lines_is_stored_as_a_replacement(tmp_path, env):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps({"title": "Odd \ud800 title", "text": "Warts \udcff are common."}) + "\n")
    r = ingest_cli(str(path), env=env, timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    [doc] = parse(path)
    assert doc.title == "Odd \ufffd title" and doc.text == "Warts \ufffd are common."


# ---- names -----------------------------------------------------------------------------------------------------


def test_names_with_control_characters_or_bad_bytes_cannot_forge_lines(tmp_path, env):
    folder = tmp_path / "names"
    folder.mkdir()
    forged = folder / "evil\nfailed   forged.txt"
    forged.write_text(GOOD)
    raw = os.fsdecode(os.fsencode(folder) + b"/caf\xe9 \x1b[2Kbidi\xe2\x80\xaetxt.md")  # Latin-1 name, ESC, RLO
    Path(raw).write_text("# Wart note\n\nCovered warts heal in time.\n")
    broken = folder / "gone\r.txt"
    broken.symlink_to(folder / "missing")
    r = ingest_cli(str(folder), env=env, timeout=60)
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4, lines  # three files and the summary: no line forged
    assert f"ingested {folder}/evil\\nfailed   forged.txt: 1 new document(s), 1 passage(s)" in lines
    assert f"ingested {folder}/caf\\xe9 \\x1b[2Kbidi\\u202etxt.md: 1 new document(s), 1 passage(s)" in lines
    assert f"failed   {folder}/gone\\r.txt: a symbolic link to something that does not exist" in lines
    assert not any(line.startswith("failed   forged") for line in lines)

    report = json.loads(ingest_cli(str(folder), "--format", "json", env=env, timeout=60).stdout)
    assert {f["path"] for f in report["files"]} == {str(forged), raw, str(broken)}  # JSON escapes: exact names
    listing = subprocess.run(
        [sys.executable, "-m", "oncoguide", "documents", "list", "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    sources = {d["source"] for d in json.loads(listing.stdout)}
    assert sources == {f"{folder}/evil\\nfailed   forged.txt", f"{folder}/caf\\xe9 \\x1b[2Kbidi\\u202etxt.md"}


# ---- the rest of the double-checks -----------------------------------------------------------------------------


def test_empty_files_and_files_that_vanish_or_grow_get_a_line(tmp_path, env):
    from oncoguide.library.files import read_regular
    from oncoguide.library.ingest import Status, expand

    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "a.txt").write_text(GOOD)
    (folder / "b.txt").write_text(GOOD)
    walk = expand([folder])
    first = next(walk)  # the folder is listed now; b.txt goes before it is looked at
    (folder / "b.txt").unlink()
    found = {f.path.name: f for f in [first, *walk]}
    assert found["b.txt"].status == Status.FAILED and found["b.txt"].reason == "no such file or folder"
    with pytest.raises(ParseError, match="no such file"):
        read_regular(folder / "b.txt", 1000)

    growing = folder / "growing.txt"
    growing.write_text(GOOD * 20_000)
    done = threading.Event()

    def append() -> None:
        with growing.open("a") as out:
            while not done.is_set():
                out.write(GOOD)
                out.flush()

    writer = threading.Thread(target=append)
    writer.start()
    try:
        r = ingest_cli(str(folder), env={**env, "ONCOGUIDE_MAX_INGEST_BYTES": str(8 * 1024 * 1024)}, timeout=90)
    finally:
        done.set()
        writer.join()
    assert "Traceback" not in r.stderr and r.returncode == 1, r.stderr
    assert line_for(r.stdout, "empty.txt").endswith("no text (the file is empty)")
    assert "a.txt: 1 new document(s)" in line_for(r.stdout, "a.txt")
    grown = line_for(r.stdout, "growing.txt")  # read whole, or refused with the reason, as the race falls
    assert grown.startswith("ingested ") or "while it was read" in grown or "the limit is" in grown, grown


def test_a_folder_tree_deeper_than_the_recursion_limit_is_walked(tmp_path, env):
    depth = sys.getrecursionlimit() + 200
    folders = [tmp_path / "deep"]
    for _ in range(depth):  # one call each: os.makedirs, like any recursive walk, would overflow the stack
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()
    (folders[-1] / "bottom.txt").write_text(GOOD)
    try:
        r = ingest_cli(str(folders[0]), env=env, timeout=60)
        assert "Traceback" not in r.stderr and r.returncode == 0, r.stderr[-500:]
        assert "bottom.txt: 1 new document(s)" in line_for(r.stdout, "bottom.txt")
    finally:  # removed here, bottom up: a recursive clean-up would overflow too
        (folders[-1] / "bottom.txt").unlink()
        for folder in reversed(folders):
            folder.rmdir()

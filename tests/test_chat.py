"""A thread keeps its context: follow-ups inherit the condition and the population."""

from __future__ import annotations

import json

from tests.conftest import run_cli


def test_thread_follow_up_on_radiotherapy(kb):
    thread = kb.thread()
    first = thread.ask("stage 4 DFSP prognosis and treatment")
    assert first.in_scope
    second = thread.ask("what about radiation?")
    assert second.in_scope
    assert second.understood["condition"] == "dfsp" and "metastatic" in second.understood["populations"]
    assert [s.id for s in second.sections] == ["radiotherapy"]


def test_thread_switches_condition(kb):
    thread = kb.thread()
    thread.ask("Is DFSP hereditary?")
    a = thread.ask("How is a GIST treated?")
    assert a.understood["condition"] == "gist"


def test_out_of_scope_turn_does_not_break_thread(kb):
    thread = kb.thread()
    thread.ask("metastatic DFSP treatment")
    assert not thread.ask("what about diabetes?").in_scope
    assert thread.ask("and the side effects?").understood["condition"] == "dfsp"


def test_cli_chat_reads_a_conversation(tmp_path):
    res = run_cli(
        "chat",
        "--format",
        "json",
        stdin="stage 4 DFSP prognosis and treatment\nwhat about radiotherapy?\n",
        db=tmp_path / "kb.sqlite3",
    )
    assert res.returncode == 0, res.stderr
    decoder = json.JSONDecoder()
    answers, pos, text = [], 0, res.stdout
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        answers.append(obj)
    assert len(answers) == 2
    assert answers[1]["understood"]["inherited_context"] is True
    assert answers[1]["sections"][0]["heading"] == "Radiotherapy"


def test_cli_chat_reports_bad_line_and_continues(tmp_path):
    res = run_cli("chat", stdin="\x07bad\nIs DFSP contagious?\n", db=tmp_path / "kb.sqlite3")
    assert res.returncode == 0
    assert "control character" in res.stderr and "Traceback" not in res.stderr
    assert "contagious" in res.stdout.lower() or "catch" in res.stdout.lower()

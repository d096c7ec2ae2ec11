"""Unusable questions get a clear message and exit status 2, never a traceback."""

from __future__ import annotations

import pytest

from oncoguide.engine.understand import InputError
from tests.conftest import run_cli


@pytest.mark.parametrize(
    "question, words",
    [
        ("", "empty"),
        ("    ", "empty"),
        ("x" * 10_240, "too long"),
        ("DFSP\x1b[31m prognosis", "control character"),
    ],
)
def test_cli_refuses_with_message(question, words):
    res = run_cli("ask", question)
    assert res.returncode == 2
    assert words in res.stderr and "Traceback" not in res.stderr
    assert res.stdout == ""


def test_unknown_audience_and_format_are_refused():
    res = run_cli("ask", "DFSP prognosis", "--audience", "robot")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = run_cli("ask", "DFSP prognosis", "--format", "pdf")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_api_raises_input_error(kb):
    with pytest.raises(InputError, match="too long"):
        kb.ask("why " * 3000)
    with pytest.raises(InputError, match="audience"):
        kb.ask("DFSP prognosis", audience="robot")


def test_non_string_question(kb):
    with pytest.raises(InputError, match="text"):
        kb.ask(None)  # type: ignore[arg-type]


def test_mixed_script_question_in_english_is_answered(kb):
    a = kb.ask("What is the prognosis of DFSP? 谢谢")
    assert a.in_scope


def test_limit_comes_from_settings(kb_settings):
    from oncoguide.kb import KnowledgeBase

    kb = KnowledgeBase.open(kb_settings.model_copy(update={"max_question_chars": 20}))
    with pytest.raises(InputError, match="limit is 20"):
        kb.ask("What is the prognosis of DFSP?")

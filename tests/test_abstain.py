"""Questions outside the pack get a clear 'not covered' answer and no medical content."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    "question",
    [
        "What is the treatment for diabetes?",
        "How do I treat my migraine?",
        "What is the best treatment for breast cancer?",
        "asdf qwerty zxcv",
        "What's the weather tomorrow?",
        "Who won the football match?",
    ],
)
def test_out_of_scope_abstains(kb, question):
    a = kb.ask(question)
    assert a.in_scope is False
    assert a.sections == [] and a.references == [] and a.conflicts == []
    assert "cover" in a.bottom_line.lower()


def test_patient_abstention_is_plain(kb):
    a = kb.ask("Is asthma contagious?", audience="patient")
    assert not a.in_scope and a.sections == []
    assert "DFSP" in a.bottom_line


def test_missing_condition_asks_for_it(kb):
    a = kb.ask("What is the life expectancy?")
    assert a.in_scope is False and a.sections == []
    assert [c.detail for c in a.clarify] == ["condition"]
    assert set(a.clarify[0].options) == {"dfsp", "sts", "gist"}


def test_other_script_abstains_with_message(kb):
    a = kb.ask("隆突性皮肤纤维肉瘤的预后如何")
    assert a.in_scope is False and a.sections == []
    assert "English" in a.bottom_line


def test_treatment_question_without_extent_asks_for_it_and_still_answers(kb):
    a = kb.ask("How is DFSP treated?")
    assert a.in_scope and a.sections
    assert [c.detail for c in a.clarify] == ["extent"]
    assert "metastatic" in a.clarify[0].options


def test_cli_json_abstention():
    res = run_cli("ask", "How is type 2 diabetes treated?", "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["in_scope"] is False and data["sections"] == [] and data["references"] == []

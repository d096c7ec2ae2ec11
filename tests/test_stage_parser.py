"""The one stage/TNM parser (algorithm/stage.py): never raises, and reads a stage group the same however
it is written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oncoguide.algorithm.stage import (
    StageGroup,
    question_stage,
    read_stage,
    record_stage,
    stage_code,
    stage_mentions,
    tnm_categories,
    vignette_stage,
)

STAGE_WORDS = st.sampled_from(
    [
        "stage",
        "Stage",
        "STAGE",
        "IV",
        "iii",
        "4",
        "four",
        "T2",
        "N0",
        "M1",
        "pT3",
        "cM0",
        "a",
        "b1",
        "IIIB",
        " ",
        ",",
        "stage4",
        "T2N0M1",
        "x",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=80),
    st.lists(STAGE_WORDS, max_size=12).map(" ".join),
    st.lists(STAGE_WORDS, max_size=12).map("".join),
)


@given(TEXTS)
def test_the_parser_never_raises(text):
    for read in (question_stage, vignette_stage, record_stage, stage_code, read_stage):
        result = read(text)
        assert result is None or isinstance(result, StageGroup) or isinstance(result.group, StageGroup)
    assert all(m.start < m.end for m in stage_mentions(text))
    assert all(c.kind in "tnm" for c in tnm_categories(text))


@given(TEXTS)
def test_the_readers_differ_only_in_which_mentions_they_take(text):
    """A bare "stage <group>" is read alike by all three; each takes a mention as it was written."""
    first = next(stage_mentions(text), None)
    if first is not None and not first.spelled and not first.substage:
        assert question_stage(text) == vignette_stage(text) == record_stage(text) == first
    mentions = list(stage_mentions(text))
    for read in (question_stage, vignette_stage, record_stage):
        assert read(text) is None or read(text) in mentions


def test_three_readers_of_one_text():
    text = "stage 3a, then stage 4"
    assert question_stage(text).group is StageGroup.IV  # a question names a bare group
    assert vignette_stage(text).group is StageGroup.III and record_stage(text).group is StageGroup.III


@pytest.mark.parametrize("text", ["stage 4", "stage IV", "IV", "T2N0M1", "Stage iv", "pT2 N0 M1", "stage IVB"])
def test_every_way_of_writing_stage_iv_reads_iv(text):
    assert read_stage(text) is StageGroup.IV


@given(st.sampled_from(["stage 4", "stage IV", "stage iv", "stage four"]), st.text(max_size=30))
def test_a_question_reads_stage_iv_however_it_is_written(written, tail):
    mention = question_stage(f"{written} {tail}")
    assert mention is not None and mention.group is StageGroup.IV

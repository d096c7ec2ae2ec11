"""The store is built on first use, rebuilt when the pack changes, and left alone otherwise."""

from __future__ import annotations

import yaml

from oncoguide.kb import KnowledgeBase, ensure_built, is_stale
from oncoguide.settings import Settings
from tests.conftest import run_cli


def test_built_on_first_use_then_reused(tmp_path, pack_copy):
    settings = Settings(db=tmp_path / "kb.sqlite3", pack_dir=pack_copy)
    assert is_stale(settings)
    kb = KnowledgeBase.open(settings)
    assert settings.db.exists() and not is_stale(settings)
    assert ensure_built(settings) is None
    assert len(kb.contents.claims) >= 150


def test_rebuilt_when_pack_changes(tmp_path, pack_copy):
    settings = Settings(db=tmp_path / "kb.sqlite3", pack_dir=pack_copy)
    KnowledgeBase.open(settings)
    path = sorted((pack_copy / "claims").glob("*.yaml"))[0]
    data = yaml.safe_load(path.read_text())
    data[0]["clinician"] = "An edited statement about DFSP for the rebuild test, with the same citation."
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    assert is_stale(settings)
    kb = KnowledgeBase.open(settings)
    assert kb.contents.claims[data[0]["id"]].clinician.startswith("An edited statement")


def test_cli_build_reports_counts(tmp_path):
    db = tmp_path / "kb.sqlite3"
    res = run_cli("build", db=db)
    assert res.returncode == 0, res.stderr
    assert "claims" in res.stdout and "citations" in res.stdout
    res = run_cli("build", db=db)
    assert res.stdout.startswith("up to date")


def test_cli_with_broken_pack_explains(tmp_path, pack_copy):
    (pack_copy / "texts.yaml").write_text("disclaimer_clinician: [unclosed\n")
    res = run_cli("ask", "DFSP prognosis", db=tmp_path / "kb.sqlite3", env_extra={"ONCOGUIDE_PACK_DIR": str(pack_copy)})
    assert res.returncode == 1
    assert "texts.yaml:" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "kb.sqlite3").exists()

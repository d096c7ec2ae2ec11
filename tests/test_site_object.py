"""The Site object: one place that owns the settings, the knowledge base, the site database and its stores."""

from __future__ import annotations

from pathlib import Path

from oncoguide.kb import KnowledgeBase
from oncoguide.site import Site


def test_a_site_without_a_database_answers_without_creating_one(web_settings, kb):
    site = Site(web_settings, kb)
    answer = site.ask("What is the weather on Mars?")
    assert not answer.in_scope and not answer.excerpts
    assert not site.exists() and not Path(web_settings.database_url.removeprefix("sqlite:///")).exists()


def test_each_store_is_built_once_on_the_one_engine(web_settings, kb):
    site = Site(web_settings, kb).open()
    assert site.exists() and site.accounts is site.accounts and site.members.accounts is site.accounts
    assert {getattr(site, name).engine for name in Site.STORES} == {site.engine}
    assert site.reviews.kb is site.kb is kb and site.questions.kb is kb


def test_the_knowledge_base_knows_neither_the_site_nor_fhir():
    for name in ("library", "codebook", "read_fhir", "recommend_fhir"):
        assert not hasattr(KnowledgeBase, name)

"""A word only in the headline is found by semantic and hybrid search with the real model:
the heading blended into the passage vectors (ingest/embed.py) carries it."""

from __future__ import annotations

from newsarchive.archive import Archive

from conftest import NEWS

KENYA = {
    "id": "kenya",
    "title": "Kenyan school turns to handhelds",
    "body": "Pupils at a rural primary school now read their lessons on small computers that "
    "fit in a pocket.\n\nTeachers say attendance has risen since the devices arrived, and "
    "parents pay nothing for them.",
}
WALES = {
    "id": "wales",
    "title": "Welsh pupils get tablets",
    "body": "Every pupil at a secondary school has been given a tablet computer for homework, "
    "paid for by a local charity.",
}


def test_a_word_only_in_the_title_is_found_by_every_mode(model_archive: Archive):
    model_archive.ingest_articles([KENYA, WALES, *NEWS])
    for mode in ("semantic", "hybrid", "keyword"):
        hits = model_archive.search("Kenyan", mode=mode).hits
        assert hits[0].article.id == "kenya", mode
        assert "Kenyan" not in hits[0].text  # the passage's own text is shown


def test_without_titles_the_body_alone_does_not_find_it(model_archive: Archive):
    """The control: the same articles from their bodies only."""
    model_archive.ingest_articles([KENYA, WALES, *NEWS], keep_titles=False)
    assert model_archive.search("Kenyan", mode="keyword").hits == []
    assert model_archive.search("Kenyan", mode="semantic").hits[0].article.id != "kenya"

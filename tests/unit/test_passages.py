"""Passage splitting: short paragraphs merged, long ones split, nothing over the window."""

from __future__ import annotations

from newsarchive.archive.ingest.passages import PassagePolicy, make_passages


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def test_short_paragraphs_merge_with_the_next():
    policy = PassagePolicy(max_tokens=50, min_tokens=5)
    passages = make_passages(
        ["US unwelcome", "A statement from the parliament said more."], words, policy
    )
    assert passages == ["US unwelcome A statement from the parliament said more."]


def test_long_paragraph_is_split_at_sentences_under_the_limit():
    sentence = "The committee met again on Tuesday to discuss the budget. "
    paragraph = sentence * 30  # 300 words
    policy = PassagePolicy(max_tokens=40, min_tokens=5)
    passages = make_passages([paragraph], words, policy)
    assert len(passages) > 1
    assert all(n <= 40 for n in words(passages))
    assert " ".join(passages).split() == paragraph.split()


def test_run_on_sentence_is_split_by_words():
    paragraph = " ".join(f"w{i}" for i in range(95))
    passages = make_passages([paragraph], words, PassagePolicy(max_tokens=30, min_tokens=5))
    assert all(n <= 30 for n in words(passages))
    assert " ".join(passages).split() == paragraph.split()


def test_real_tokenizer_keeps_seed_passages_inside_the_model_window():
    from newsarchive.archive.sources.text import parse_plain_text
    from newsarchive.index.embedders import make_embedder

    from conftest import SEED

    embedder = make_embedder("torch")  # its tokenizer only: the model is never loaded

    article = parse_plain_text(SEED.read_text(), "seed")
    long_paragraph = " ".join(article.paragraphs)  # ~1,200 tokens as one paragraph
    policy = PassagePolicy(max_tokens=embedder.max_tokens)
    passages = make_passages([long_paragraph], embedder.count_tokens, policy)
    assert len(passages) > 3
    assert max(embedder.count_tokens(passages)) <= embedder.max_tokens
    # The seed's subheading "US unwelcome" does not stand alone.
    seed_passages = make_passages(article.paragraphs, embedder.count_tokens, policy)
    assert "US unwelcome" not in seed_passages
    assert any("US unwelcome A statement" in p for p in seed_passages)
    assert max(embedder.count_tokens(seed_passages)) <= embedder.max_tokens


def test_target_packs_consecutive_paragraphs_up_to_the_target():
    paragraphs = ["one two three four five", "six seven eight nine ten", "a b c d e f g h i j k l"]
    policy = PassagePolicy(max_tokens=50, min_tokens=3, target_tokens=11)
    assert make_passages(paragraphs, words, policy) == [
        "one two three four five six seven eight nine ten",
        "a b c d e f g h i j k l",
    ]

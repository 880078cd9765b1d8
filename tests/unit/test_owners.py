"""Article codes (search/owners.py): first-seen order, gone passages, clusters read as
search/collapse.py reads them, and lookups of passages by id."""

from __future__ import annotations

import numpy as np

from newsarchive.archive.search.owners import Owners, first_seen, lead_arrays


def test_articles_are_coded_in_first_seen_order_and_gone_passages_are_minus_one():
    owners = Owners.of([7, 3, 9, 4, 5], {7: "b", 3: "a", 4: "b", 5: "c"})
    assert owners.articles == ["b", "a", "c"]
    assert owners.codes.tolist() == [0, 1, -1, 0, 2]
    assert owners.codes_of([4, 9, 100, 7]).tolist() == [0, -1, -1, 0]
    assert Owners.of([], {}).codes_of([1]).tolist() == [-1]


def test_an_article_without_a_cluster_is_its_own_and_cluster_names_are_shared():
    # "b" is in the cluster named "a" (a's own id): a and b are copies; c stands alone
    owners = Owners.of([1, 2, 3], {1: "a", 2: "b", 3: "c"}, {"b": "a"})
    a, b, c = owners.clusters.tolist()
    assert a == b != c


def test_first_seen_keeps_each_id_once_in_the_order_it_first_appears():
    assert first_seen([(5, 0.9), (2, 0.8)], [(2, 3.0), (8, 1.0), (5, 0.5)]).tolist() == [5, 2, 8]
    assert first_seen([], []).tolist() == []


def test_a_lookup_by_article_id_becomes_arrays_by_code():
    owners = Owners.of([1, 2, 3], {1: "a", 2: "b", 3: "c"})
    cosines, first = lead_arrays(({"b": 0.5}, {"a": 1, "c": 3}), owners)
    assert cosines is not None and cosines.tolist() == [0.0, 0.5, 0.0]
    assert first.dtype == np.int64 and first.tolist() == [1, -1, 3]
    assert lead_arrays(({}, {}), owners)[0] is None  # no article has a lead

"""A small archive with known dates, sources, topics and copies, for exploring it (timelines,
facets, date order, browsing, similar stories, export, saved searches)."""

from __future__ import annotations

from pathlib import Path

from conftest import write_jsonl

# Seven stories that mention wheat exports (six dated, one undated), on known days.
WHEAT = [
    ("w1", "1987-03-02", "Reuters", ["grain", "wheat"], "Wheat exports from the United States rose sharply this week."),
    ("w2", "1987-03-03", "Reuters", ["grain", "wheat"], "Egypt bought more wheat, and exports to Cairo climbed."),
    ("w3", "1987-03-16", "AP", ["grain"], "Wheat exports slowed as prices on the Chicago board firmed."),
    ("w4", "1987-04-06", "AP", ["grain"], "Argentine wheat exports reached a record for the season."),
    ("w5", "1987-04-07", "Reuters", [], "Canada said its wheat exports would fall next year."),
    ("w6", "1987-06-01", "Wire", ["wheat"], "Soviet buyers lifted wheat exports from Australia."),
    ("w7", None, "Wire", ["wheat"], "An undated note on wheat exports to Asia."),
]  # fmt: skip
# Stories that share no word with "wheat exports", on the same days and others.
OTHER = [
    ("o1", "1987-03-02", "Reuters", ["crude"], "Crude oil prices rose after the OPEC meeting in Vienna."),
    ("o2", "1987-03-09", "AP", ["crude"], "OPEC ministers held oil output steady for the quarter."),
    ("o3", "1987-03-20", "BBC", [], "A late goal from the substitute won the city derby."),
    ("o4", "1987-04-14", "BBC", [], "Broadband take-up soared as monthly packages got cheaper."),
    ("o5", "1987-04-20", "Reuters", ["gold"], "Gold fell in London as the dollar firmed against the yen."),
    ("o6", "1987-06-15", "", [], "The museum reopened its Roman gallery after two years."),
]  # fmt: skip
MARCH_WHEAT = {"w1", "w2", "w3"}
WORDS_ONLY = "wheat exports"  # every WHEAT story holds both words; no OTHER story holds either

# A story, an exact copy of it under another id, and a lightly edited near copy.
STORY = (
    "Council engineers said on Monday that the old stone bridge over the river Alder will close "
    "for six months from May while its arches are strengthened. Buses will be diverted through "
    "the industrial estate, adding about ten minutes to journeys into the town centre. The "
    "bridge, built in 1821, carries more than twelve thousand vehicles a day, and inspectors "
    "found cracks in two of its three arches after the winter floods. Shops on the high street "
    "asked for free parking during the works, and the council said it would decide next week."
)
EDITED = STORY.replace("about ten minutes", "roughly ten minutes").replace(
    "decide next week", "decide on Friday"
)
BRIDGES = [
    {"id": "bridge", "title": "Alder bridge to close", "body": STORY, "source": "Wire",
     "date": "1987-05-04"},
    {"id": "bridge-copy", "title": "Alder bridge to close", "body": STORY, "source": "Echo",
     "date": "1987-05-04"},
    {"id": "bridge-near", "title": "Bridge shut for repairs", "body": EDITED, "source": "Gazette",
     "date": "1987-05-05"},
    {"id": "bridge-other", "title": "Stone bridge repairs in Alder",
     "body": "Repairs to another old stone bridge over the river Alder start in May; buses will "
     "be diverted while engineers strengthen the arches.", "source": "Post", "date": "1987-05-06"},
]  # fmt: skip


def records() -> list[dict]:
    out = []
    for article_id, date, source, topics, body in WHEAT + OTHER:
        record = {"id": article_id, "title": body.split(",")[0][:40], "body": body}
        if date:
            record["date"] = date
        if source:
            record["source"] = source
        if topics:
            record["topics"] = topics
        out.append(record)
    return out + [dict(b) for b in BRIDGES]


def corpus_file(folder: Path) -> Path:
    return write_jsonl(folder / "explore.jsonl", records())


def dated(ids: set[str]) -> dict[str, str | None]:
    """id -> date of the WHEAT/OTHER stories."""
    return {a: d for a, d, *_ in WHEAT + OTHER if a in ids}

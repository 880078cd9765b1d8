"""`newsarchive ARGS`, paused at one point of its work so the crash matrix can SIGKILL it there.

    python crashpoints.py POINT COUNT newsarchive-arguments...

The COUNT-th time the process reaches POINT it writes POINT to the file named by
$CRASH_MARKER and sleeps; the test waits for that file and kills the process. The points are
patched in from outside, so the command itself runs unchanged:

- `encode`: the embedding of a batch is under way (HashEmbedder.embed_batch)
- `write`: inside a batch's database transaction (after an article's rows, before COMMIT)
- `after-commit`: every batch committed, the FAISS file not yet saved
- `index-save`: the FAISS file written to its temporary name, not yet renamed into place
- `none`: no pause (the test kills it while it waits for input on stdin)
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    point, count, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    reached = {"n": 0}

    def hit() -> None:
        reached["n"] += 1
        if reached["n"] == count:
            with open(os.environ["CRASH_MARKER"], "w") as marker:
                marker.write(point)
            time.sleep(600)

    if point == "encode":
        from newsarchive.index.embedders.hashing import HashEmbedder

        embed = HashEmbedder.embed_batch

        def embedding(self, texts):
            hit()
            return embed(self, texts)

        HashEmbedder.embed_batch = embedding
    elif point == "write":
        from newsarchive.archive.store import dedup

        assign = dedup.assign

        def assigning(*positional, **named):
            result = assign(*positional, **named)
            hit()
            return result

        dedup.assign = assigning
    elif point == "after-commit":
        from newsarchive.index.sync import VectorView

        save = VectorView.save

        def saving(self):
            hit()
            return save(self)

        VectorView.save = saving
    elif point == "index-save":
        import faiss

        write_index = faiss.write_index

        def writing(*positional):
            write_index(*positional)
            hit()

        faiss.write_index = writing
    sys.argv = ["newsarchive", *args]
    from newsarchive.cli.main import run

    run()


if __name__ == "__main__":
    main()

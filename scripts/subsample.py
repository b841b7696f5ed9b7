#!/usr/bin/env python3
"""Subsamples a MovieLens 100K split into data unlike the whole of it.

    scripts/subsample.py --data ../shared/data/ml-100k --fold u1 --out DIR (--users F | --max-item-ratings N) [--seed S]

Reads FOLD.base and FOLD.test of the ML-100K folder and writes DIR/FOLD.base and
DIR/FOLD.test (tab-separated, as ML-100K) with
  --users F             a random share F of the users (all their ratings), or
  --max-item-ratings N  only the items with at most N ratings in the folder's u.data
                        (the long tail: the rare items, all their ratings).
The kept users or items are chosen from u.data, so both files keep the same ones.
"""
import argparse
import os
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--fold", default="u1")
    ap.add_argument("--out", required=True)
    ap.add_argument("--users", type=float)
    ap.add_argument("--max-item-ratings", type=int)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if (a.users is None) == (a.max_item_ratings is None):
        ap.error("give one of --users F and --max-item-ratings N")
    rows = [line.split("\t") for line in open(os.path.join(a.data, "u.data"))]
    if a.users is not None:
        if not 0.0 < a.users <= 1.0:
            ap.error("--users must be a share in (0, 1]")
        users = sorted({r[0] for r in rows}, key=int)
        random.Random(a.seed).shuffle(users)
        keep_users = set(users[: max(1, round(a.users * len(users)))])
        keep = lambda r: r[0] in keep_users
    else:
        counts = {}
        for r in rows:
            counts[r[1]] = counts.get(r[1], 0) + 1
        keep = lambda r: counts.get(r[1], 0) <= a.max_item_ratings
    os.makedirs(a.out, exist_ok=True)
    for part in ("base", "test"):
        name = f"{a.fold}.{part}"
        lines = [l for l in open(os.path.join(a.data, name)) if keep(l.split("\t"))]
        with open(os.path.join(a.out, name), "w") as f:
            f.writelines(lines)
        print(f"wrote {os.path.join(a.out, name)}: {len(lines)} ratings")


if __name__ == "__main__":
    main()

"""embedrec's `fm` (Bayesian factorization machine, Gibbs sampling) beside myFM, in one
run, with the same feature groups and sweeps on MovieLens 100K (not a test).

Setup (myFM installs from PyPI as a binary wheel):

    python3 -m venv /tmp/fmpeers && /tmp/fmpeers/bin/pip install myfm numpy scipy
    /tmp/fmpeers/bin/python benchmarks/fm_peers.py                  # u1, 512 sweeps
    /tmp/fmpeers/bin/python benchmarks/fm_peers.py --folds 5 \\
        --features rated,raters,side --features rated,raters --time
    /tmp/fmpeers/bin/python benchmarks/fm_peers.py --features rated,raters,side,day \\
        --link gaussian --link ordered-probit

Options: --folds N (u1..uN, with mean rows when N > 1), --chains 1 (independent chains;
myFM has none, so it runs N fits with seeds seed, seed + 1, ... and averages their
predictions, its fit time their sum), --sweeps 512, --burn-in 100 (both per chain),
--keep 64 (embedrec's thinned samples per chain), --myfm-keep (default sweeps - burn-in:
myFM keeps the last N samples, it cannot thin), --dim 10, --seed 42, --features LIST (repeatable:
one comparison per set), --time (adds, per set, a copy with the time groups
`day,item_age`), --link gaussian|ordered-probit (repeatable: each set with each link;
default gaussian; ordered probit is myFM's `MyFMOrderedProbit` on the rating levels
as classes, its prediction the expected level under `predict_proba`, and embedrec's
`--link ordered-probit`). The embedrec binary is target/release/embedrec (env EMBEDREC_BIN); the
data is EMBEDREC_DATA/ml-100k (default ../shared/data beside the repository root).

Features (user and item one-hot always; every group has its own normal-gamma prior in
both tools, via myFM's `group_shapes`); everything implicit is built from the training
file of the fold only:
  rated    the user's training items, weight 1/sqrt(n)       (user block)
  raters   the item's training users, weight 1/sqrt(n)       (item block)
  side     user occupation, gender, age (MovieLens-1M bins); item genres (weight
           1/n_genres; an item without genres gets an extra level), year (release date's
           year, one level per year, missing -> 'unknown'); one group each
  zip      the zip code's first character, as in myFM's MovieLens examples (user
           block; not in `side`, as in embedrec)
  day      one-hot of floor((t - t_min) / 86400), t_min = earliest training timestamp,
           clipped to the training days                      (per rating)
  item_age floor(log2(days + 1)), days since the item's first training rating
           (>= 0), clipped to the training buckets          (per rating)
myFM gets the user and item rows as relation blocks (myfm.RelationBlock), the per-rating
time groups as a plain CSR matrix. A test user or item absent from training gets an
empty row in myFM, which is what embedrec's fallback scores (bias + the known side's
own terms). Both clip predictions to [1, 5].

Timing: embedrec's `train_seconds` (its JSON: the sweeps only, loading, design and
evaluation excluded); myFM's wall clock of `fit` (the design is built before it; its
sampler set-up is inside). The tools alternate (which goes first flips every run), and
the machine may be noisy: read the ratio column. Both samplers run on one thread.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # myFM's progress bar

import numpy as np
import scipy.sparse as sps

REPO = Path(__file__).resolve().parent.parent
TIME_GROUPS = ("day", "item_age")
USER_SIDE = ("occupation", "gender", "age", "zip")
LINKS = ("gaussian", "ordered-probit")
ITEM_SIDE = ("genres", "year")
AGE_BINS = [1, 18, 25, 35, 45, 50, 56]  # lower bounds, as embedrec's AGE_BINS


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folds", type=int, default=1, help="u1..uN (1..5)")
    p.add_argument("--chains", type=int, default=1, help="independent chains (per tool)")
    p.add_argument("--sweeps", type=int, default=512)
    p.add_argument("--burn-in", type=int, default=100)
    p.add_argument("--keep", type=int, default=64, help="embedrec's kept samples")
    p.add_argument("--myfm-keep", type=int, default=None,
                   help="myFM's n_kept_samples (default sweeps - burn-in)")
    p.add_argument("--dim", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--features", action="append", default=None,
                   help="a feature set (repeatable); default rated,raters,side")
    p.add_argument("--time", action="store_true",
                   help="also run each set with day,item_age added")
    p.add_argument("--link", action="append", default=None, choices=LINKS,
                   help="a link (repeatable); default gaussian")
    p.add_argument("--data", default=None, help="the ml-100k folder")
    p.add_argument("--bin", default=None, help="the embedrec binary")
    a = p.parse_args()
    if not 1 <= a.folds <= 5:
        p.error("--folds is 1..5")
    if a.chains < 1:
        p.error("--chains is at least 1")
    if not 0 <= a.burn_in < a.sweeps:
        p.error("--burn-in must be below --sweeps")
    a.myfm_keep = a.myfm_keep or a.sweeps - a.burn_in
    sets = a.features or ["rated,raters,side"]
    sets = [",".join(s for s in x.split(",") if s) for x in sets]
    if a.time:
        sets = sets + [",".join(filter(None, [x, *TIME_GROUPS])) for x in sets]
    a.sets = list(dict.fromkeys(sets))
    a.links = list(dict.fromkeys(a.link or ["gaussian"]))
    known = {"rated", "raters", "side", *USER_SIDE, *ITEM_SIDE, *TIME_GROUPS}
    for s in a.sets:
        bad = [g for g in s.split(",") if g and g not in known]
        if bad:
            p.error(f"unknown feature group(s) {bad}; known: {sorted(known)}")
    return a


def expand(fset):
    """The groups of a set: 'side' spelled out, in a fixed order."""
    gs = set(filter(None, fset.split(",")))
    if "side" in gs:
        gs |= (set(USER_SIDE) - {"zip"}) | set(ITEM_SIDE)
    order = [*USER_SIDE, "rated", *ITEM_SIDE, "raters", *TIME_GROUPS]
    return [g for g in order if g in gs]


# ---------------------------------------------------------------- data


def read_ratings(path):
    a = np.loadtxt(path, dtype=np.int64, delimiter="\t")
    return a[:, 0], a[:, 1], a[:, 2].astype(np.float64), a[:, 3]


def read_meta(d):
    users = {}
    for line in (d / "u.user").read_text(encoding="latin-1").splitlines():
        if line.strip():
            uid, age, gender, occ, zipcode = line.split("|")
            users[int(uid)] = (int(age), gender, occ, zipcode.strip()[:1] or "unknown")
    genre_file = d / "u.genre"
    n_genres = sum(1 for ln in genre_file.read_text().splitlines() if ln.strip()) \
        if genre_file.is_file() else 19
    items = {}
    for line in (d / "u.item").read_text(encoding="latin-1").splitlines():
        if not line.strip():
            continue
        f = line.split("|")
        date = f[2].strip()
        year = int(date[-4:]) if date else None
        genres = [k for k, flag in enumerate(f[5:5 + n_genres]) if flag == "1"]
        items[int(f[0])] = (year, genres)
    return users, items, n_genres


class Design:
    """Both blocks' rows (CSR, each group a contiguous column range) and the
    per-rating time groups, for one fold and one feature set."""

    def __init__(self, train, meta, groups):
        users_meta, items_meta, n_genres = meta
        tu, ti, _, tt = train
        self.uids = {u: k for k, u in enumerate(np.unique(tu))}
        self.iids = {i: k for k, i in enumerate(np.unique(ti))}
        nu, ni = len(self.uids), len(self.iids)
        tu_ix = np.array([self.uids[u] for u in tu])
        ti_ix = np.array([self.iids[i] for i in ti])
        self.groups = groups

        # Levels of the side variables (over the whole metadata, as embedrec's).
        occs = sorted({m[2] for m in users_meta.values()})
        genders = sorted({m[1] for m in users_meta.values()})
        zips = sorted({m[3] for m in users_meta.values()})
        years = sorted({m[0] for m in items_meta.values() if m[0] is not None})
        year_unknown = any(m[0] is None for m in items_meta.values())

        def user_levels(name, raw):
            m = users_meta.get(raw)
            if name == "occupation":
                return (len(occs), [(occs.index(m[2]), 1.0)] if m else [(len(occs), 1.0)])
            if name == "gender":
                return (len(genders), [(genders.index(m[1]), 1.0)] if m else [(len(genders), 1.0)])
            if name == "zip":
                return (len(zips), [(zips.index(m[3]), 1.0)] if m else [(len(zips), 1.0)])
            if name == "age":
                if m is None:
                    return (len(AGE_BINS), [(len(AGE_BINS), 1.0)])
                b = max((k for k, lo in enumerate(AGE_BINS) if m[0] >= lo), default=0)
                return (len(AGE_BINS), [(b, 1.0)])
            raise KeyError(name)

        def item_levels(name, raw):
            m = items_meta.get(raw)
            if name == "genres":
                gs = m[1] if m else []
                if not gs:
                    return (n_genres, [(n_genres, 1.0)])  # the extra level
                return (n_genres, [(g, 1.0 / len(gs)) for g in gs])
            if name == "year":
                n = len(years)
                if m is None or m[0] is None:
                    return (n, [(n, 1.0)])  # 'unknown' (or the extra level)
                return (n, [(years.index(m[0]), 1.0)])
            raise KeyError(name)

        def implicit(keys, vals, n_rows, n_cols):
            rows = [[] for _ in range(n_rows)]
            for k, v in zip(keys, vals):
                rows[k].append(v)
            return [[(c, 1.0 / math.sqrt(len(r))) for c in sorted(set(r))] for r in rows], n_cols

        # Build each block: list of per-row entry lists, and group sizes.
        def block(of_users):
            n = nu if of_users else ni
            raw_of = {k: r for r, k in (self.uids if of_users else self.iids).items()}
            side = USER_SIDE if of_users else ITEM_SIDE
            lists = [[(r, 1.0)] for r in range(n)]
            sizes = [n]
            for g in groups:
                if g in side:
                    per = [(user_levels if of_users else item_levels)(g, raw_of[r]) for r in range(n)]
                    width = max(lv for lv, _ in per)
                    width += any(c == lv for lv, ents in per for c, _ in ents)  # extra level used
                    off = sum(sizes)
                    for r, (_, ents) in enumerate(per):
                        lists[r] += [(off + c, w) for c, w in ents]
                    sizes.append(width)
            imp = "rated" if of_users else "raters"
            if imp in groups:
                rows, width = implicit(tu_ix, ti_ix, nu, ni) if of_users else implicit(ti_ix, tu_ix, ni, nu)
                off = sum(sizes)
                for r in range(n):
                    lists[r] += [(off + c, w) for c, w in rows[r]]
                sizes.append(width)
            return lists, sizes

        ulists, self.usizes = block(True)
        ilists, self.isizes = block(False)
        # One extra, empty row per block: a test user / item absent from training.
        self.ublock = self._csr(ulists + [[]], sum(self.usizes))
        self.iblock = self._csr(ilists + [[]], sum(self.isizes))

        # Per-rating time groups (from the training file only).
        self.t_min = int(tt.min())
        self.max_day = int((tt.max() - self.t_min) // 86400)
        first = {}
        for i, t in zip(ti, tt):
            first[i] = min(first.get(i, t), t)
        self.first = first
        self.max_bucket = int(max(self._bucket(i, t) for i, t in zip(ti, tt)))
        self.tsizes = [(self.max_day + 1) if g == "day" else (self.max_bucket + 1)
                       for g in groups if g in TIME_GROUPS]
        self.train_rows = self.rows(train)

    @staticmethod
    def _csr(lists, width):
        ptr, col, val = [0], [], []
        for ents in lists:
            for c, w in ents:
                col.append(c)
                val.append(w)
            ptr.append(len(col))
        return sps.csr_matrix((np.array(val, dtype=np.float64), np.array(col, dtype=np.int64),
                               np.array(ptr, dtype=np.int64)), shape=(len(lists), width))

    def _bucket(self, raw_item, t):
        days = max(0, int((t - self.first[raw_item]) // 86400))
        return int(math.floor(math.log2(days + 1)))

    def group_shapes(self):
        return self.tsizes + self.usizes + self.isizes

    def rows(self, ratings):
        """(X of the per-rating groups, [user RelationBlock, item RelationBlock])."""
        import myfm
        u, i, _, t = ratings
        nu_row, ni_row = self.ublock.shape[0] - 1, self.iblock.shape[0] - 1
        u_ix = np.array([self.uids.get(x, nu_row) for x in u], dtype=np.int64)
        i_ix = np.array([self.iids.get(x, ni_row) for x in i], dtype=np.int64)
        n, width = len(u), sum(self.tsizes)
        rows, cols = [], []
        off = 0
        for g in self.groups:
            if g == "day":
                d = np.clip((t - self.t_min) // 86400, 0, self.max_day)
                rows.append(np.arange(n))
                cols.append(off + d)
                off += self.max_day + 1
            elif g == "item_age":
                known = np.array([x in self.first for x in i])
                b = np.array([min(self._bucket(x, tt), self.max_bucket) if k else 0
                              for x, tt, k in zip(i, t, known)])
                rows.append(np.arange(n)[known])
                cols.append(off + b[known])
                off += self.max_bucket + 1
        if rows:
            r, c = np.concatenate(rows), np.concatenate(cols)
            X = sps.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, width))
        else:
            X = sps.csr_matrix((n, 0), dtype=np.float64)
        return X, [myfm.RelationBlock(u_ix, self.ublock), myfm.RelationBlock(i_ix, self.iblock)]


# ---------------------------------------------------------------- the two tools


def run_myfm(args, train, test, meta, fset, link):
    import myfm
    design = Design(train, meta, expand(fset))
    X, rel = design.train_rows
    Xt, relt = design.rows(test)
    y = train[2]
    if link == "ordered-probit":
        # The rating levels (the distinct training ratings) as classes 0..L-1.
        levels = np.unique(y)
        y = np.searchsorted(levels, y)
    seconds, pred = 0.0, np.zeros(len(test[2]))
    for c in range(args.chains):  # one fit per chain, predictions averaged
        if link == "ordered-probit":
            fm = myfm.MyFMOrderedProbit(rank=args.dim, random_seed=args.seed + c)
        else:
            fm = myfm.MyFMRegressor(rank=args.dim, random_seed=args.seed + c)
        started = time.perf_counter()
        fm.fit(X, y, X_rel=rel, n_iter=args.sweeps, n_kept_samples=args.myfm_keep,
               group_shapes=design.group_shapes(), callback=lambda *_: (False, None))
        seconds += time.perf_counter() - started
        if link == "ordered-probit":
            pred += fm.predict_proba(Xt, relt) @ levels
        else:
            pred += fm.predict(Xt, relt)
    pred = np.clip(pred / args.chains, 1.0, 5.0)
    rmse = float(np.sqrt(np.mean((pred - test[2]) ** 2)))
    return rmse, seconds


def run_embedrec(args, binary, d, fold, fset, link):
    cmd = [str(binary), "train", "--model", "fm", "--link", link,
           "--train", str(d / f"u{fold}.base"), "--test", str(d / f"u{fold}.test"),
           "--dim", str(args.dim), "--chains", str(args.chains), "--sweeps", str(args.sweeps),
           "--burn-in", str(args.burn_in), "--keep", str(args.keep),
           "--features", fset, "--seed", str(args.seed), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{p.stderr.strip()}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    return out["test_rmse"], out["train_seconds"]


def embedrec_accepts(binary, d, group):
    """Whether the binary's fm takes a feature group (a 2-sweep probe on u1)."""
    p = subprocess.run([str(binary), "train", "--model", "fm", "--train", str(d / "u1.base"),
                        "--test", str(d / "u1.test"), "--sweeps", "2", "--burn-in", "1",
                        "--keep", "1", "--features", group, "--json"],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stderr.strip().splitlines()[-1:] or [""]


# ---------------------------------------------------------------- main


def main():
    args = parse_args()
    import myfm
    d = Path(args.data) if args.data else \
        Path(os.environ.get("EMBEDREC_DATA", REPO.parent / "shared" / "data")) / "ml-100k"
    binary = Path(args.bin or os.environ.get("EMBEDREC_BIN", REPO / "target/release/embedrec"))
    for f in [binary, d / "u1.base"]:
        if not f.exists():
            sys.exit(f"missing {f} (set EMBEDREC_BIN / EMBEDREC_DATA)")
    meta = read_meta(d)
    notes = []
    skip_embedrec = set()
    if any(g in TIME_GROUPS for s in args.sets for g in expand(s)):
        for g in TIME_GROUPS:
            ok, why = embedrec_accepts(binary, d, g)
            if not ok:
                notes.append(f"embedrec skipped for sets with `{g}`: the binary refuses it "
                             f"({why[0]})")
                skip_embedrec.add(g)

    results = []  # (fold, tool, set, rmse, seconds)
    run_no = 0
    for fold in range(1, args.folds + 1):
        train = read_ratings(d / f"u{fold}.base")
        test = read_ratings(d / f"u{fold}.test")
        for fset, link in [(f, lk) for f in args.sets for lk in args.links]:
            tools = ["embedrec", "myfm"]
            if any(g in skip_embedrec for g in expand(fset)):
                tools = ["myfm"]
            if run_no % 2:
                tools.reverse()
            run_no += 1
            label = fset if link == "gaussian" else f"{fset}, ordered probit"
            for tool in tools:
                if tool == "embedrec":
                    r, s = run_embedrec(args, binary, d, fold, fset, link)
                else:
                    r, s = run_myfm(args, train, test, meta, fset, link)
                print(f"# u{fold} {tool:8} {label}: rmse {r:.4f}, fit {s:.2f} s",
                      file=sys.stderr, flush=True)
                results.append((f"u{fold}", tool, label, r, s))

    chains = f"{args.chains} chains of " if args.chains > 1 else ""
    print(f"\nML-100K, fm with K = {args.dim}, {chains}{args.sweeps} sweeps, burn-in {args.burn_in}; "
          f"embedrec averages {args.keep} thinned samples, myFM the last {args.myfm_keep} "
          f"{'per chain ' if args.chains > 1 else ''}"
          f"(myFM {myfm.__version__}, relation blocks; seed {args.seed}).\n")
    print("| fold | tool | features | test RMSE | fit s | fit s / embedrec's |")
    print("|---|---|---|---:|---:|---:|")
    rows = list(results)
    if args.folds > 1:
        for fset in dict.fromkeys(x[2] for x in results):
            for tool in ["embedrec", "myfm"]:
                xs = [x for x in results if x[1] == tool and x[2] == fset]
                if len(xs) == args.folds:
                    rows.append((f"mean u1-u{args.folds}", tool, fset,
                                 sum(x[3] for x in xs) / len(xs), sum(x[4] for x in xs) / len(xs)))
    base = {(f, s): sec for f, t, s, _, sec in rows if t == "embedrec"}
    name = {"embedrec": "embedrec fm", "myfm": f"myFM {myfm.__version__} (relation blocks)"}
    for fold, tool, fset, r, s in rows:
        b = base.get((fold, fset))
        ratio = f"{s / b:.2f}" if b else "n/a"
        print(f"| {fold} | {name[tool]} | {fset} | {r:.4f} | {s:.2f} | {ratio} |")
    for n in notes:
        print(f"\nNote: {n}")


if __name__ == "__main__":
    main()

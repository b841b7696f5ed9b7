"""embedrec beside the Python recommender libraries its users know, in one run on
MovieLens 100K u1.base / u1.test (not a test).

Peers, installed from the package registry:

    pip install numpy scipy "setuptools<70" wheel cython
    pip install implicit && pip install --no-build-isolation scikit-surprise lightfm
    pip install ./bindings/python

    python benchmarks/python_peers.py [ML100K_DIR]

Rating models are compared by test RMSE, top-N models by NDCG@10 of full ranking
(every item the user did not rate in training is ranked; a test item is relevant when
its rating is >= 4; a relevant item the model never saw is a miss), computed by one
function here for every library. Every library runs on one thread; fit seconds are wall
clock of the fit call (data conversion excluded).
"""

import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np


def read(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        u, i, r, _ = line.split("\t")
        rows.append((u, i, float(r)))
    return rows


def ndcg_at_10(recommend, train_rows, test_rows):
    """Mean NDCG@10 over test users with a relevant item; `recommend(user, seen)` gives
    the user's top 10 item ids, excluding `seen`."""
    seen = defaultdict(set)
    for u, i, _ in train_rows:
        seen[u].add(i)
    relevant = defaultdict(set)
    for u, i, r in test_rows:
        if r >= 4:
            relevant[u].add(i)
    total, users = 0.0, 0
    for u, rel in relevant.items():
        if u not in seen:
            users += 1
            continue
        ranked = recommend(u, seen[u])[:10]
        dcg = sum(1 / math.log2(k + 2) for k, i in enumerate(ranked) if i in rel)
        idcg = sum(1 / math.log2(k + 2) for k in range(min(len(rel), 10)))
        total += dcg / idcg
        users += 1
    return total / users


def rmse(pred, test_rows):
    return math.sqrt(sum((pred(u, i) - r) ** 2 for u, i, r in test_rows) / len(test_rows))


def timed(f):
    started = time.perf_counter()
    out = f()
    return out, time.perf_counter() - started


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else Path(os.environ.get("EMBEDREC_DATA", "../shared/data")) / "ml-100k")
    train_rows, test_rows = read(d / "u1.base"), read(d / "u1.test")
    results = []

    import embedrec

    train = embedrec.load(d / "u1.base")
    test = embedrec.load(d / "u1.test")
    for name, make in [
        ("embedrec mf", lambda: embedrec.MF()),
        ("embedrec blend (mf, knn, autorec)", lambda: embedrec.Blend()),
        ("embedrec fm", lambda: embedrec.FM()),
    ]:
        m, s = timed(lambda: make().fit(train))
        results.append((name, "RMSE", m.evaluate(test)["rmse"], s))
    for name, make in [("embedrec ials", lambda: embedrec.IALS()), ("embedrec mf + warp", lambda: embedrec.MF(implicit=True, loss="warp"))]:
        m, s = timed(lambda: make().fit(train))
        rec = lambda u, _seen, m=m: [i for i, _ in m.recommend(u, n=10)]
        results.append((name, "NDCG@10", ndcg_at_10(rec, train_rows, test_rows), s))

    from surprise import SVD, SVDpp, Dataset, Reader

    reader = Reader(rating_scale=(1, 5))
    import pandas as pd

    strain = Dataset.load_from_df(pd.DataFrame(train_rows, columns=["u", "i", "r"]), reader).build_full_trainset()
    for name, algo in [("Surprise 1.1.5 SVD", SVD(random_state=42)), ("Surprise 1.1.5 SVD++", SVDpp(random_state=42))]:
        _, s = timed(lambda: algo.fit(strain))
        results.append((name, "RMSE", rmse(lambda u, i: algo.predict(u, i).est, test_rows), s))

    import scipy.sparse as sp

    users = sorted({u for u, _, _ in train_rows})
    items = sorted({i for _, i, _ in train_rows})
    uix = {u: k for k, u in enumerate(users)}
    iix = {i: k for k, i in enumerate(items)}
    ui = sp.csr_matrix(
        (np.ones(len(train_rows), dtype=np.float32),
         ([uix[u] for u, _, _ in train_rows], [iix[i] for _, i, _ in train_rows])),
        shape=(len(users), len(items)),
    )

    import implicit

    als = implicit.cpu.als.AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, num_threads=1, random_state=42)
    _, s = timed(lambda: als.fit(ui, show_progress=False))

    def als_rec(u, _seen):
        ids, _ = als.recommend(uix[u], ui[uix[u]], N=10, filter_already_liked_items=True)
        return [items[k] for k in ids]

    results.append((f"implicit {implicit.__version__} ALS (64 factors)", "NDCG@10", ndcg_at_10(als_rec, train_rows, test_rows), s))

    from lightfm import LightFM

    lfm = LightFM(loss="warp", no_components=64, random_state=42)
    _, s = timed(lambda: lfm.fit(ui.tocoo(), epochs=30, num_threads=1))
    all_items = np.arange(len(items), dtype=np.int32)

    def lfm_rec(u, seen):
        scores = lfm.predict(uix[u], all_items, num_threads=1)
        order = np.argsort(-scores)
        return [items[k] for k in order if items[k] not in seen][:10]

    results.append(("LightFM 1.17 WARP (64 components, 30 epochs)", "NDCG@10", ndcg_at_10(lfm_rec, train_rows, test_rows), s))

    print(f"ML-100K u1; load average {os.getloadavg()[0]:.2f}")
    print(f"{'model':<48}{'metric':>9}{'value':>9}{'fit s':>9}")
    for name, metric, value, s in results:
        print(f"{name:<48}{metric:>9}{value:>9.4f}{s:>9.2f}")


if __name__ == "__main__":
    main()

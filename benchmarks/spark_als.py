"""Spark MLlib ALS beside embedrec on Spark, in one local[2] SparkSession.

    python benchmarks/spark_als.py [ML100K_DIR] [--large-ratings 5000000] [--skip-large]
        [--ranks 10,50,100] [--regs 0.05,0.1,0.2]

Needs pyspark (pip install pyspark; Java 17) and the embedrec package
(pip install ./bindings/python) and the release binary (for `data synth`).

1. ML-100K u1: ALS's rank and regParam chosen on a 10% carve of u1.base (grid rank
   10/50/100 x regParam 0.05/0.1/0.2, 20 iterations), refit on u1.base; embedrec's
   default MF through `embedrec.spark.fit`. Test RMSE on u1.test (ALS drops the pairs it
   cannot score: coldStartStrategy="drop"; embedrec scores every pair) and fit seconds,
   then top-10 for every user: `recommendForAllUsers(10)` against
   `embedrec.spark.recommend_for_all_users(model, users, 10)`.
2. A synthetic Parquet file of 5M ratings (100,000 users x 20,000 items, written by
   `embedrec data synth` and converted once): ALS at rank 64 (10 iterations, regParam
   0.1) against embedrec's default MF and MF at ALS's rank: fit seconds, top-10 for all
   users seconds, peak resident memory of the whole process tree (driver Python, its
   JVM, the Python workers; the embedrec runs go first, so the JVM has not yet grown
   for ALS), and the driver Python process's own peak through the embedrec fits.

Spark's own overheads count on both sides: reading the DataFrame, moving it, and
writing every top-10 row (both outputs are forced by `write.format("noop")`). The
SparkSession's start is excluded for both.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import embedrec
import embedrec.spark


class PeakRss:
    """Samples the resident memory of this process and its descendants every 0.2 s."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree_rss():
        children, rss = {}, {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            ppid = int(fields.get("PPid", "0").strip())
            children.setdefault(ppid, []).append(int(pid))
            rss[int(pid)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        total, todo = 0, [os.getpid()]
        while todo:
            p = todo.pop()
            total += rss.get(p, 0)
            todo.extend(children.get(p, []))
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(0.2)

    def reset(self):
        self.peak = self._tree_rss()

    def stop(self):
        self._stop.set()


def session(tmp):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("embedrec-vs-als")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "6g")
        .config("spark.local.dir", str(Path(tmp) / "spark-local"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(Path(tmp) / "checkpoints"))
    return spark


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def als(rank, reg, iters, seed=42):
    from pyspark.ml.recommendation import ALS

    return ALS(rank=rank, regParam=reg, maxIter=iters, userCol="user", itemCol="item",
               ratingCol="rating", coldStartStrategy="drop", numUserBlocks=2, numItemBlocks=2,
               checkpointInterval=5, seed=seed)


def rmse(df, col):
    from pyspark.sql import functions as F

    return df.select(F.sqrt(F.avg((F.col(col) - F.col("rating")) ** 2))).first()[0]


def noop(df):
    df.write.format("noop").mode("overwrite").save()


def ml100k(spark, d, rows, ranks, regs):
    import pandas as pd

    def read(name):
        pdf = pd.read_csv(d / name, sep="\t", names=["user", "item", "rating", "timestamp"])
        return spark.createDataFrame(pdf[["user", "item", "rating"]]).cache()

    train, test = read("u1.base"), read("u1.test")
    train.count(), test.count()
    fit_part, val_part = train.randomSplit([0.9, 0.1], seed=42)
    best = None
    for rank in ranks:
        for reg in regs:
            m = als(rank, reg, 20).fit(fit_part)
            v = rmse(m.transform(val_part), "prediction")
            print(f"  ALS rank {rank} regParam {reg}: validation RMSE {v:.4f}", flush=True)
            if best is None or v < best[0]:
                best = (v, rank, reg)
    _, rank, reg = best
    model, als_fit = timed(lambda: als(rank, reg, 20).fit(train))
    als_rmse = rmse(model.transform(test), "prediction")
    _, als_top = timed(lambda: noop(model.recommendForAllUsers(10)))
    mf, er_fit = timed(lambda: embedrec.spark.fit(train, embedrec.MF()))
    er_rmse = rmse(embedrec.spark.predict(mf, test), "prediction")
    users = train.select("user").distinct().cache()
    users.count()
    _, er_top = timed(lambda: noop(embedrec.spark.recommend_for_all_users(mf, users, 10)))
    rows.append(("ML-100K u1", f"ALS rank {rank}, regParam {reg}, 20 it.", f"{als_rmse:.4f}", als_fit, als_top, None))
    rows.append(("ML-100K u1", "embedrec MF (defaults: K=512)", f"{er_rmse:.4f}", er_fit, er_top, None))


def large(spark, tmp, n, binary, rows, rss):
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    csv = Path(tmp) / "synth.csv"
    subprocess.run([binary, "data", "synth", "--format", "csv", "--users", "100000", "--items", "20000",
                    "--ratings", str(n), "--seed", "7", "--out", str(csv)], check=True, capture_output=True)
    table = pcsv.read_csv(csv).rename_columns(["user", "item", "rating", "timestamp"])
    path = Path(tmp) / "ratings.parquet"
    pq.write_table(table, path, compression="snappy")
    del table
    csv.unlink()
    df = spark.read.parquet(str(path)).select("user", "item", "rating")
    users = df.select("user").distinct().cache()
    n_users = users.count()
    print(f"  {n:,} ratings, {n_users:,} users (Parquet, {path.stat().st_size / 1e6:.0f} MB)", flush=True)

    results = []
    for label, make in [("embedrec MF, K=64 (ALS's rank)", lambda: embedrec.MF(dim=64)),
                        ("embedrec MF (defaults: K=512)", lambda: embedrec.MF())]:
        rss.reset()
        mf, fit_s = timed(lambda: embedrec.spark.fit(df, make()))
        _, top_s = timed(lambda: noop(embedrec.spark.recommend_for_all_users(mf, users, 10)))
        results.append((label, fit_s, top_s, rss.peak))
        del mf
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"  driver Python process, peak resident memory through the embedrec fits: {driver / 2**30:.2f} GiB",
          flush=True)
    rss.reset()
    model, als_fit = timed(lambda: als(64, 0.1, 10).fit(df))
    _, als_top = timed(lambda: noop(model.recommendForAllUsers(10)))
    label = f"{n / 1e6:g}M synthetic"
    rows.append((label, "ALS rank 64, regParam 0.1, 10 it.", "", als_fit, als_top, rss.peak))
    for name, fit_s, top_s, peak in results:
        rows.append((label, name, "", fit_s, top_s, peak))


def main():
    default = Path(os.environ.get("EMBEDREC_DATA", "../shared/data")) / "ml-100k"
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(default))
    ap.add_argument("--bin", default="target/release/embedrec")
    ap.add_argument("--large-ratings", type=int, default=5_000_000)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--ranks", default="10,50,100", help="ALS ranks tried on the carve")
    ap.add_argument("--regs", default="0.05,0.1,0.2", help="ALS regParams tried on the carve")
    a = ap.parse_args()
    rows = []
    rss = PeakRss()
    with tempfile.TemporaryDirectory(prefix="spark-als-") as tmp:
        spark = session(tmp)
        print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
        ml100k(spark, Path(a.data), rows, [int(r) for r in a.ranks.split(",")], [float(r) for r in a.regs.split(",")])
        if not a.skip_large:
            large(spark, tmp, a.large_ratings, a.bin, rows, rss)
        spark.stop()
    rss.stop()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print()
    print("| data | model | test RMSE | fit s | top-10 all users s | peak RSS |")
    print("|---|---|---|---:|---:|---:|")
    for data, model, r, fit_s, top_s, peak in rows:
        mem = f"{peak / 2**30:.1f} GiB" if peak else ""
        print(f"| {data} | {model} | {r} | {fit_s:.1f} | {top_s:.2f} | {mem} |")
    by = {}
    for data, model, _, fit_s, top_s, _ in rows:
        by.setdefault(data, []).append((model, fit_s, top_s))
    for data, entries in by.items():
        base = entries[0]
        for model, fit_s, top_s in entries[1:]:
            print(f"{data}: {model}: fit {base[1] / fit_s:.1f}x faster than ALS, "
                  f"top-10 {base[2] / top_s:.1f}x faster")


if __name__ == "__main__":
    main()

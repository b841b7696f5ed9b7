"""embedrec.spark against a real local[2] SparkSession: distributed top-N, predictions,
cross-validation and search equal the single-machine results (the Python package and
the `embedrec` command line), and Parquet written by Spark round-trips through the
command line."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embedrec
import embedrec.spark

ROOT = Path(__file__).resolve().parents[3]
ML100K = Path(os.environ.get("EMBEDREC_DATA", ROOT.parent / "shared" / "data")) / "ml-100k"
CLI = Path(os.environ.get("EMBEDREC_BIN", ROOT / "target" / "release" / "embedrec"))
REQUIRED = os.environ.get("EMBEDREC_REQUIRE_DATA", "") not in ("", "0")


def _require(ok, why):
    """Skips without the prerequisite, or fails under EMBEDREC_REQUIRE_DATA (.ci/run)."""
    if not ok:
        if REQUIRED:
            pytest.fail(f"{why} (EMBEDREC_REQUIRE_DATA is set)")
        pytest.skip(why)


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    _require(_has("pyspark"), "pyspark is not installed")
    _require(shutil.which("java") is not None or os.environ.get("JAVA_HOME"), "no Java for Spark")
    _require((ML100K / "u1.base").exists(), f"{ML100K} is absent")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("embedrec-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _ratings_df(spark, path):
    """A ML-100K ratings file as a Spark DataFrame (int ids, int ratings), row order kept."""
    import pandas as pd

    pdf = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    return spark.createDataFrame(pdf)


@pytest.fixture(scope="module")
def mf(spark):
    """An MF trained by embedrec.spark.fit from a DataFrame of u1.base."""
    df = _ratings_df(spark, ML100K / "u1.base")
    return embedrec.spark.fit(df, embedrec.MF(dim=16, epochs=4), time_col="timestamp")


def test_fit_from_a_dataframe_equals_fit_from_the_file(mf):
    direct = embedrec.MF(dim=16, epochs=4).fit(embedrec.load(ML100K / "u1.base"))
    users, items = ["1", "13", "405", "99999"], ["1", "50", "1682", "7"]
    assert list(mf.predict(users, items)) == list(direct.predict(users, items))


def test_distributed_top_n_equals_single_machine_for_every_user(spark, mf):
    from pyspark.sql.types import LongType, StructField, StructType

    users = [int(u) for u in mf.user_ids] + [999999]  # and one unknown user
    df = spark.createDataFrame([(u,) for u in users], StructType([StructField("user", LongType())])).repartition(3)
    got = embedrec.spark.recommend_for_all_users(mf, df, n=10).toPandas()
    assert set(got.columns) == {"user", "rank", "item", "score"}
    assert len(got) == 10 * len(users)
    single = mf.recommend_many([str(u) for u in users], n=10)
    want = {u: lst for u, lst in zip(users, single)}
    for user, rows in got.sort_values(["user", "rank"]).groupby("user"):
        assert list(rows["rank"]) == list(range(1, 11))
        pairs = [(str(i), float(s)) for i, s in zip(rows["item"], rows["score"])]
        # float32 scores compared exactly: each user's list is the one it gets in one call
        assert pairs == [(i, float(np.float32(s))) for i, s in want[user]], user
    assert got["item"].dtype.kind == "i"  # integer item ids come back as integers


def test_distributed_top_n_keeps_string_ids_and_can_include_seen_items(spark, mf):
    df = spark.createDataFrame([("1",), ("2",)], ["uid"])
    got = embedrec.spark.recommend_for_all_users(mf, df, n=3, user_col="uid", exclude_seen=False, item_type="string")
    rows = got.orderBy("uid", "rank").collect()
    assert [r["uid"] for r in rows] == ["1"] * 3 + ["2"] * 3
    assert [r["item"] for r in rows[:3]] == [i for i, _ in mf.recommend("1", n=3, exclude_seen=False)]


def test_distributed_predict_equals_single_machine(spark, mf):
    test = _ratings_df(spark, ML100K / "u1.test").select("user", "item", "rating").repartition(4)
    got = embedrec.spark.predict(mf, test).toPandas()
    assert len(got) == 20000 and list(got.columns) == ["user", "item", "rating", "prediction"]
    want = mf.predict(list(got["user"]), list(got["item"]))
    assert (got["prediction"].to_numpy() == want).all()


def test_distributed_predict_at_the_times_equals_single_machine(spark):
    """An fm with the day feature, scored on the executors at each test rating's time
    (`time_col`), predicts as the single-machine `predict(..., times=...)`; without
    `time_col`, as the untimed `predict`."""
    fm = embedrec.FM(dim=4, chains=2, sweeps=8, burn_in=2, features=["day"])
    fm.fit(embedrec.Dataset.load(str(ML100K / "u1.base")))
    test = _ratings_df(spark, ML100K / "u1.test").repartition(3)
    got = embedrec.spark.predict(fm, test, time_col="timestamp").toPandas()
    users, items = list(got["user"]), list(got["item"])
    timed = fm.predict(users, items, times=[int(t) for t in got["timestamp"]])
    assert (got["prediction"].to_numpy() == timed).all()
    untimed = embedrec.spark.predict(fm, test).toPandas()
    assert (untimed["prediction"].to_numpy() == fm.predict(list(untimed["user"]), list(untimed["item"]))).all()
    assert (timed != fm.predict(users, items)).any(), "the day matters"


def test_a_model_file_path_is_scored_as_the_model(spark, mf, tmp_path):
    path = tmp_path / "mf.emb"
    mf.save(path)
    df = spark.createDataFrame([(1, 1), (2, 50)], ["user", "item"])
    by_path = embedrec.spark.predict(str(path), df).orderBy("user").toPandas()["prediction"]
    assert list(by_path) == list(mf.predict(["1", "2"], ["1", "50"]))


def _cli_json(*args):
    _require(CLI.exists(), f"needs the embedrec binary at {CLI}")
    out = subprocess.run([str(CLI), *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_distributed_cross_validation_equals_embedrec_cv(spark):
    df = _ratings_df(spark, ML100K / "u.data")
    got = embedrec.spark.cross_validate(df, embedrec.MF(dim=8, epochs=3, seed=5), folds=5, time_col="timestamp")
    want = _cli_json("cv", "--data", str(ML100K / "u.data"), "--folds", "5", "--model", "mf",
                     "--dim", "8", "--epochs", "3", "--seed", "5")
    assert got["folds"] == want["folds"] == 5
    for key in ["rmse", "mae", "precision@10", "recall@10", "ndcg@10", "hr@10", "map@10", "mrr@10"]:
        assert got[key]["folds"] == pytest.approx(want[key]["folds"], rel=1e-12, abs=1e-12), key
        assert got[key]["mean"] == pytest.approx(want[key]["mean"], rel=1e-12), key


def test_distributed_search_equals_embedrec_search(spark):
    df = _ratings_df(spark, ML100K / "u1.base")
    grid = {"lr": [0.01, 0.03], "dim": [4, 8]}
    got = embedrec.spark.search(df, embedrec.MF(epochs=3, seed=7), grid, folds=1, val_share=0.1, time_col="timestamp")
    want = _cli_json("search", "--data", str(ML100K / "u1.base"), "--model", "mf", "--epochs", "3",
                     "--grid", "lr=0.01,0.03 dim=4,8", "--folds", "1", "--val-share", "0.1", "--seed", "7")
    assert len(got["trials"]) == len(want["trials"]) == 4
    for g, w in zip(got["trials"], want["trials"]):
        assert g["params"] == w["params"]
        assert g["val_rmse"] == pytest.approx(w["val_rmse"], rel=1e-12)
    assert got["best"]["params"] == want["best"]["params"]


def test_parquet_written_by_spark_round_trips_through_the_command_line(spark, tmp_path):
    df = _ratings_df(spark, ML100K / "u1.base").repartition(3)
    folder = tmp_path / "ratings.parquet"
    df.write.parquet(str(folder))
    assert (folder / "_SUCCESS").exists()
    from_parquet = _cli_json("train", "--model", "baseline", "--train", str(folder), "--test", str(ML100K / "u1.test"))
    # the folder holds the same ratings in another order: the same baseline model
    from_file = _cli_json("train", "--model", "baseline", "--train", str(ML100K / "u1.base"), "--test", str(ML100K / "u1.test"))
    assert from_parquet["test_rmse"] == pytest.approx(from_file["test_rmse"], abs=1e-4)
    model = tmp_path / "b.emb"
    trained = _cli_json("train", "--model", "baseline", "--data", str(folder), "--split", "random:0.2",
                        "--out", str(model))
    recs = tmp_path / "recs.parquet"
    subprocess.run([str(CLI), "recommend", "--model", str(model), "--all-users", "-n", "5", "--out", str(recs)],
                   check=True, capture_output=True)
    back = spark.read.parquet(str(recs))
    assert set(back.columns) == {"user", "rank", "item", "score"}
    assert back.count() == trained["users"] * 5
    assert back.filter("rank = 1").select("user").distinct().count() == trained["users"]

"""embedrec on Apache Spark: train from a Spark DataFrame, score and cross-validate on
the cluster.

What runs where:

* ``fit`` trains on the driver (one machine trains embedrec's models far past the size
  where scoring and search outgrow it), the ratings moved from the executors as Arrow
  record batches, never one Python object per rating.
* ``recommend_for_all_users`` and ``predict`` run on the executors: the model file is
  shipped once with ``SparkContext.addFile`` and loaded once per Python worker; each
  Arrow batch of users (or pairs) is scored by the Rust core, without a Python object per
  row.
* ``cross_validate`` and ``search`` make every fold (and every fold of every grid point)
  one Spark task that trains and scores on its executor; the ratings go out once as a
  broadcast Arrow buffer. Results equal the command line's ``embedrec cv`` and
  ``embedrec search`` on the same data, seed and params (``threads=1``).

pyspark is an optional dependency: this module imports it only when called. Spark 3.3
or later (``mapInArrow``); on Spark 4 the collection uses ``DataFrame.toArrow``.
"""

import hashlib
import itertools
import json as _json
import math
import os
import shutil
import tempfile
import uuid

from . import _embedrec

__all__ = ["fit", "recommend_for_all_users", "predict", "cross_validate", "search"]


def _collect_arrow(df, columns):
    """The columns of a Spark DataFrame on the driver as one pyarrow Table, collected as
    Arrow record batches (no Python object per row)."""
    import pyarrow as pa

    selected = df.select(*columns)
    if hasattr(selected, "toArrow"):
        return selected.toArrow()
    batches = selected._collect_as_arrow()
    if not batches:
        raise ValueError("the DataFrame has no rows")
    return pa.Table.from_batches(batches)


def _columns(user_col, item_col, rating_col, time_col):
    return [c for c in (user_col, item_col, rating_col, time_col) if c]


def _dataset(table, user_col, item_col, rating_col, time_col, scale=None):
    from . import from_arrow

    return from_arrow(table, user=user_col, item=item_col, rating=rating_col, time=time_col, scale=scale)


def fit(df, model, user_col="user", item_col="item", rating_col="rating", time_col=None,
        scale=None, valid=None, verbose=False):
    """Trains ``model`` (an unfitted ``embedrec.MF(...)``, ``embedrec.Deep(...)``, ...)
    on the ratings of the Spark DataFrame ``df`` and returns it, fitted.

    The columns are collected to the driver as Arrow record batches and read by the
    Rust core (ids integer or string, ratings numeric; ``rating_col=None``: implicit
    interactions; ``time_col``: Unix seconds, timestamps or dates). ``valid`` is an
    ``embedrec.Dataset`` for early stopping, as in ``model.fit``.

    Memory bound on the driver: the Arrow table (the columns' widths: 8 bytes per
    rating for each int64 or float64 column, a string id its length plus 4) and the
    embedrec dataset built from it (12 bytes per rating, 20 with times, plus the id maps)
    are held together, then the table is dropped before training, which adds the model
    and its training state (MF: (users + items) x K x 4 bytes, and a copy of the ratings
    in grid order). Measured at 5M ratings of 100,000 users and 20,000 items
    (``benchmarks/spark_als.py``): the driver's Python process peaked at 1.02 GiB
    resident through fits at K=64 and K=512. The driver's JVM holds the collected
    batches too, limited by ``spark.driver.maxResultSize`` (1 GiB by
    default: raise it past about 40 million ratings)."""
    table = _collect_arrow(df, _columns(user_col, item_col, rating_col, time_col))
    data = _dataset(table, user_col, item_col, rating_col, time_col, scale)
    del table
    return model.fit(data, valid=valid, verbose=verbose)


# --- Scoring on the executors -------------------------------------------------------

# The models loaded in this Python worker, by shipped file name (Spark reuses a worker
# for many tasks: each model file is read once per worker).
_WORKER_MODELS = {}


def _trained(model):
    """The TrainedModel of a fitted model object, a TrainedModel, or a model file path."""
    if isinstance(model, (str, os.PathLike)):
        return _embedrec.load_model(os.fspath(model))
    inner = getattr(model, "model", model)
    if not hasattr(inner, "recommend_arrow"):
        raise TypeError(f"expected a fitted embedrec model or a model file path, got {type(model).__name__}")
    return inner


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ship(spark, model):
    """Puts the model file, once, under a name made of its contents' MD5 in a folder of
    the driver's temp dir, adds it to the SparkContext (once per name) and returns
    (name, trained model)."""
    trained = _trained(model)
    folder = os.path.join(tempfile.gettempdir(), "embedrec-spark-models")
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{uuid.uuid4().hex}.tmp")
    if isinstance(model, (str, os.PathLike)):
        shutil.copyfile(os.fspath(model), tmp)
    else:
        trained.save(tmp)
    name = f"embedrec-{_md5(tmp)}.emb"
    os.replace(tmp, os.path.join(folder, name))
    sc = spark.sparkContext
    added = getattr(sc, "_embedrec_files", None)
    if added is None:
        added = set()
        sc._embedrec_files = added
    if name not in added:
        sc.addFile(os.path.join(folder, name))
        added.add(name)
    return name, trained


def _worker_model(name):
    """The model shipped as ``name``, loaded once per Python worker."""
    entry = _WORKER_MODELS.get(name)
    if entry is None:
        from pyspark import SparkFiles

        entry = {"model": _embedrec.load_model(SparkFiles.get(name))}
        _WORKER_MODELS[name] = entry
    return entry


def _integer_ids(ids):
    """Whether every id is the decimal text of a 64-bit integer (as integer columns read
    in become)."""
    for x in ids:
        if not x or len(x) > 20:
            return False
        try:
            v = int(x)
        except ValueError:
            return False
        if str(v) != x or not (-(2**63) <= v < 2**63):
            return False
    return True


def _item_type(trained, item_type):
    if item_type == "auto":
        return "long" if _integer_ids(trained.item_ids) else "string"
    if item_type not in ("long", "string"):
        raise ValueError(f"item_type is 'auto', 'long' or 'string', got {item_type!r}")
    if item_type == "long" and not _integer_ids(trained.item_ids):
        raise ValueError("item_type='long', but the model has item ids that are not integers")
    return item_type


def _table_of(batch):
    import pyarrow as pa

    return pa.Table.from_batches([batch])


def recommend_for_all_users(model, users_df, n=10, user_col="user", exclude_seen=True,
                            item_type="auto", threads=1):
    """The top-``n`` items of every user in the column ``user_col`` of ``users_df``,
    scored on the executors: a DataFrame ``(user_col, rank, item, score)``, one row per
    recommended item, ``rank`` from 1, the users' ids as in the input, the items' ids as
    long integers when every item id of the model is an integer (``item_type="auto"``;
    or ``"long"`` / ``"string"``). Each user gets exactly the list of the single-machine
    ``recommend_many`` / ``embedrec recommend --all-users``: the items rated in training
    excluded (unless ``exclude_seen=False``), an unknown user the most popular items.

    ``model``: a fitted embedrec model, a ``TrainedModel`` or a model file path. The
    model file is added to the SparkContext once and loaded once per Python worker;
    ``threads`` threads score each batch."""
    from pyspark.sql import SparkSession
    from pyspark.sql.types import FloatType, IntegerType, LongType, StringType, StructField, StructType

    spark = SparkSession.getActiveSession() or users_df.sparkSession
    name, trained = _ship(spark, model)
    kind = _item_type(trained, item_type)
    user_field = users_df.select(user_col).schema.fields[0]
    schema = StructType([
        StructField(user_col, user_field.dataType, False),
        StructField("rank", IntegerType(), False),
        StructField("item", LongType() if kind == "long" else StringType(), False),
        StructField("score", FloatType(), False),
    ])

    def run(batches):
        import numpy as np
        import pyarrow as pa

        entry = _worker_model(name)
        m = entry["model"]
        items = entry.get(("items", kind))
        if items is None:
            items = pa.array(m.item_ids, pa.string())
            if kind == "long":
                items = items.cast(pa.int64())
            entry[("items", kind)] = items
        for batch in batches:
            if batch.num_rows == 0:
                continue
            counts, rows, scores = m.recommend_arrow(_table_of(batch), user_col, n, exclude_seen, threads)
            counts = np.frombuffer(counts, dtype="<u4").astype(np.int64)
            total = int(counts.sum())
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column(user_col).take(pa.array(np.repeat(np.arange(batch.num_rows), counts))),
                    pa.array((np.arange(total) - starts + 1).astype(np.int32)),
                    items.take(pa.array(np.frombuffer(rows, dtype="<u4"))),
                    pa.array(np.frombuffer(scores, dtype="<f4")),
                ],
                schema=pa.schema([
                    pa.field(user_col, batch.schema.field(user_col).type, False),
                    pa.field("rank", pa.int32(), False),
                    pa.field("item", items.type, False),
                    pa.field("score", pa.float32(), False),
                ]),
            )

    return users_df.select(user_col).mapInArrow(run, schema)


def predict(model, pairs_df, user_col="user", item_col="item", output_col="prediction",
            time_col=None):
    """``pairs_df`` with a column ``output_col`` (float) of the model's predictions for
    its ``(user_col, item_col)`` pairs, scored on the executors; unknown ids get the
    fallback estimate, as the single-machine ``predict`` does. ``time_col`` (Unix seconds,
    timestamps or dates; a null: no time) predicts each pair at its time, for a model
    with time features (fm's day), as ``predict(users, items, times=...)`` does."""
    from pyspark.sql import SparkSession
    from pyspark.sql.types import FloatType, StructField, StructType

    spark = SparkSession.getActiveSession() or pairs_df.sparkSession
    name, _ = _ship(spark, model)
    if output_col in pairs_df.columns:
        raise ValueError(f"the DataFrame already has a column {output_col!r}")
    schema = StructType(pairs_df.schema.fields + [StructField(output_col, FloatType(), False)])

    def run(batches):
        import numpy as np
        import pyarrow as pa

        m = _worker_model(name)["model"]
        for batch in batches:
            if batch.num_rows == 0:
                continue
            cols = [user_col, item_col] + ([time_col] if time_col else [])
            scores = np.frombuffer(m.predict_arrow(_table_of(batch.select(cols)), user_col, item_col, time_col), dtype="<f4")
            yield pa.RecordBatch.from_arrays(
                batch.columns + [pa.array(scores)],
                names=batch.schema.names + [output_col],
            )

    return pairs_df.mapInArrow(run, schema)


# --- Cross-validation and search as Spark tasks ---------------------------------------

# Datasets rebuilt in this Python worker, by broadcast id.
_WORKER_DATA = {}


def _broadcast_ratings(df, user_col, item_col, rating_col, time_col):
    """The ratings collected as Arrow and broadcast as one IPC buffer; (broadcast, n)."""
    import pyarrow as pa

    table = _collect_arrow(df, _columns(user_col, item_col, rating_col, time_col))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    spark = df.sparkSession
    return spark.sparkContext.broadcast(sink.getvalue().to_pybytes()), table.num_rows


def _worker_dataset(token, bc, cols):
    key = (token, cols)
    data = _WORKER_DATA.get(key)
    if data is None:
        import pyarrow as pa

        table = pa.ipc.open_stream(pa.py_buffer(bc.value)).read_all()
        data = _dataset(table, *cols)
        _WORKER_DATA.clear()
        _WORKER_DATA[key] = data
    return data


def _spec(model):
    """(kind, preset, params JSON, implicit) of an embedrec model object."""
    try:
        return model._kind, model._preset, model._json(), model._implicit
    except AttributeError:
        raise TypeError(f"expected an embedrec model such as embedrec.MF(...), got {type(model).__name__}") from None


def _run_folds(df, jobs, cols, folds, seed, k, threshold, val_share):
    """Runs ``jobs`` (a list of ((kind, preset, params JSON, implicit), fold)) as Spark
    tasks, one each; returns their metrics dicts in order."""
    bc, _ = _broadcast_ratings(df, *cols)
    token = uuid.uuid4().hex
    sc = df.sparkSession.sparkContext

    def task(job):
        (kind, preset, params_json, implicit), fold = job
        data = _worker_dataset(token, bc, cols)
        return _json.loads(_embedrec.fold_metrics(
            kind, preset, params_json, data, folds, fold, seed, k, threshold, implicit, val_share))

    try:
        return sc.parallelize(jobs, len(jobs)).map(task).collect()
    finally:
        bc.unpersist()


def _seed(model, seed):
    """The split seed: as given, else the model's own ``seed`` param (the command line's
    ``--seed`` sets both), else 42."""
    if seed is not None:
        return int(seed)
    return int(model.get_params().get("seed", 42))


def cross_validate(df, model, folds=5, seed=None, k=10, threshold=4.0, user_col="user",
                   item_col="item", rating_col="rating", time_col=None):
    """K-fold cross-validation of ``model`` (an unfitted embedrec model object) on the
    ratings of ``df``, each fold a Spark task that trains and scores on its executor.
    Returns what ``embedrec cv --json`` prints: ``{"folds": K, "rmse": {"mean", "std",
    "folds": [...]}, "mae": ..., "precision@k": ..., "recall@k", "ndcg@k", "hr@k",
    "map@k", "mrr@k"}`` (std: the sample standard deviation), equal to ``embedrec cv
    --folds K --seed SEED`` on the same ratings (same order) with the same params and
    ``threads=1``. ``seed`` seeds the folds; None takes the model's own ``seed`` param,
    as the command line's ``--seed`` seeds both."""
    if not 2 <= folds <= 100:
        raise ValueError(f"folds must be in 2..=100, got {folds}")
    spec = _spec(model)
    seed = _seed(model, seed)
    cols = (user_col, item_col, rating_col, time_col)
    results = _run_folds(df, [(spec, f) for f in range(1, folds + 1)], cols, folds, seed, k, threshold, 0.1)
    report = {"folds": folds}
    keys = ["rmse", "mae"] + [f"{m}@{k}" for m in ("precision", "recall", "ndcg", "hr", "map", "mrr")]
    for key in keys:
        values = [r[key] for r in results]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
        report[key] = {"mean": mean, "std": math.sqrt(var), "folds": values}
    return report


def search(df, model, grid, folds=1, val_share=0.1, seed=None, threshold=4.0, user_col="user",
           item_col="item", rating_col="rating", time_col=None):
    """A grid search over ``grid`` (``{"dim": [32, 64], "lr": [0.01, 0.02]}``: keyword
    arguments of the model's class laid over ``model``'s), every candidate scored on
    validation data carved from ``df`` (``folds=1``: a random holdout of ``val_share``;
    ``folds=K``: K-fold), each (candidate, fold) one Spark task. Rating models are
    ranked by validation RMSE (lower first), implicit ones by NDCG@10 (higher first).
    Returns what ``embedrec search --json`` prints: ``{"folds", "trials": [{"params",
    "val_rmse" (or "val_ndcg@10"), "val_std"}], "best"}``, trials best first, equal to
    ``embedrec search --grid ...`` with the same params, seed and ``threads=1``.
    ``seed`` seeds the carve; None takes the model's own ``seed`` param, as the command
    line's ``--seed`` seeds both."""
    if not 1 <= folds <= 100 or (folds == 1 and not 0.0 < val_share < 1.0):
        raise ValueError("folds must be in 1..=100 and val_share in (0, 1)")
    if not grid:
        raise ValueError("the grid names no parameter")
    _spec(model)
    seed = _seed(model, seed)
    axes = [(key, list(values)) for key, values in grid.items()]
    for key, values in axes:
        if not values:
            raise ValueError(f"the grid gives no value for {key!r}")
    points = [dict(zip([a for a, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]
    candidates = []
    for point in points:
        params = dict(model._params)
        params.update(point)
        if model._implicit:
            params["implicit"] = True
        if model._preset is not None:
            candidates.append(type(model).preset(model._preset, **params))
        else:
            candidates.append(type(model)(**params))
    implicit = model._implicit
    metric = "ndcg@10" if implicit else "rmse"
    jobs = [(_spec(c), f) for c in candidates for f in range(1, folds + 1)]
    cols = (user_col, item_col, rating_col, time_col)
    results = _run_folds(df, jobs, cols, folds, seed, 10 if implicit else None, threshold, val_share)
    trials = []
    for c, point in enumerate(points):
        scores = [r[metric] for r in results[c * folds:(c + 1) * folds]]
        mean = sum(scores) / len(scores)
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        trials.append((mean, c, {"params": point, f"val_{metric}": mean, "val_std": std}))
    sign = -1.0 if implicit else 1.0
    trials.sort(key=lambda t: (sign * t[0], t[1]))
    out = [t[2] for t in trials]
    return {"folds": folds, "trials": out, "best": out[0]}

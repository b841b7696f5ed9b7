"""The Python package as a user meets it: data in, every model class, raw ids out, the
shared model file, errors, and the thread released while Rust works."""

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import embedrec

ROOT = Path(__file__).resolve().parents[3]
ML100K = Path(os.environ.get("EMBEDREC_DATA", ROOT.parent / "shared" / "data")) / "ml-100k"
CLI = Path(os.environ.get("EMBEDREC_BIN", ROOT / "target" / "release" / "embedrec"))
REQUIRED = os.environ.get("EMBEDREC_REQUIRE_DATA", "") not in ("", "0")


def _need_ml100k():
    """Skips a test without ML-100K, or fails it under EMBEDREC_REQUIRE_DATA (.ci/run)."""
    if not (ML100K / "u1.base").exists():
        if REQUIRED:
            pytest.fail(f"{ML100K} is absent (EMBEDREC_REQUIRE_DATA is set)")
        pytest.skip(f"{ML100K} is absent")


@pytest.fixture(scope="module")
def split():
    data = embedrec.Dataset.synthetic(users=200, items=150, ratings=5000, seed=3)
    return data.split("random:0.2", seed=42)


SMALL = {
    embedrec.MF: dict(dim=8, epochs=3),
    embedrec.Deep: dict(dim=8, hidden=[16], epochs=2),
    embedrec.NeuMF: dict(dim=4, mlp_dim=4, hidden=[8], epochs=2),
    embedrec.AutoRec: dict(hidden=8, epochs=2),
    embedrec.KNN: dict(neighbors=20),
    embedrec.Baseline: dict(),
    embedrec.IALS: dict(dim=8, epochs=2),
    embedrec.EASE: dict(),
    embedrec.Popularity: dict(),
    embedrec.Blend: dict(members=["baseline", "mf"]),
    embedrec.FM: dict(dim=4, sweeps=8, burn_in=2, features=["rated", "raters"]),
}


@pytest.mark.parametrize("cls", list(SMALL), ids=lambda c: c.__name__)
def test_every_class_fits_predicts_recommends_and_round_trips(cls, split, tmp_path):
    train, test = split
    model = cls(**SMALL[cls]).fit(train)
    scores = model.predict(["1", "2", 3], ["1", "2", "no such item"])
    assert len(scores) == 3
    recs = model.recommend("1", n=5)
    assert len(recs) == 5 and all(isinstance(i, str) for i, _ in recs)
    path = tmp_path / "m.emb"
    model.save(path)
    back = embedrec.load_model(str(path))
    assert back.kind == model.model.kind
    assert back.recommend("1", 5) == model.model.recommend("1", 5)
    metrics = model.evaluate(test)
    assert "ndcg@10" in metrics
    rating_kind = cls not in (embedrec.IALS, embedrec.EASE, embedrec.Popularity)
    assert ("rmse" in metrics) == rating_kind


def test_params_repr_presets_and_errors():
    mf = embedrec.MF(dim=16, lr=0.02, optimizer="adam")
    p = mf.get_params()
    assert p["dim"] == 16 and p["optimizer"]["kind"] == "adam" and p["seed"] == 42
    assert "dim=16" in repr(mf)
    book = embedrec.MF.preset("book-mf")
    assert book.get_params()["dim"] == 200
    assert embedrec.Deep.presets() == ["book-dl", "book-dl-occ"]
    with pytest.raises(ValueError, match="dimm"):
        embedrec.MF(dimm=3)
    with pytest.raises(ValueError, match="preset"):
        embedrec.KNN.preset("book-mf")
    assert embedrec.MF(implicit=True).get_params()["loss"] in ("bpr", "warp", "bce", "softmax")


def test_keyword_arguments_take_the_flag_names_and_the_field_names():
    # Named as the command line's flags, they land where the flags do (the same table).
    mf = embedrec.MF(momentum=0.8, nesterov=True, lr_decay=0.5).get_params()
    assert mf["optimizer"]["momentum"] == 0.8 and mf["optimizer"]["nesterov"]
    assert mf["lr_decay"] == 0.5
    assert embedrec.KNN(neighbors=30).get_params()["k"] == 30
    assert embedrec.IALS(epochs=7).get_params()["iterations"] == 7
    assert embedrec.Deep(hidden="64,32").get_params()["hidden"] == [64, 32]
    assert embedrec.Blend(blend_folds=3).get_params()["folds"] == 3
    # Named as the params fields (what get_params shows), they are those fields.
    assert embedrec.KNN(k=25).get_params()["k"] == 25
    assert embedrec.Deep(hidden=[16]).get_params()["hidden"] == [16]
    deep = embedrec.Deep(dim=8)
    assert embedrec.Deep(**deep.get_params()).get_params() == deep.get_params()
    with pytest.raises(ValueError, match="hidden"):
        embedrec.Deep(hidden="64,x")


def test_fm_takes_the_ordered_probit_link_and_chains(split, tmp_path):
    train, test = split
    fm = embedrec.FM(dim=4, chains=2, sweeps=12, burn_in=4, keep=3, features=["rated"],
                     link="ordered-probit", threads=2)
    assert fm.get_params()["link"] == "ordered-probit"
    assert fm.get_params()["chains"] == 2
    assert embedrec.FM().get_params()["link"] == "gaussian"
    with pytest.raises(ValueError, match="chains"):
        embedrec.FM(chains=0).fit(train)
    assert "link = 'gaussian'" in embedrec.FM.__doc__
    fm.fit(train)
    _, _, width = fm.model.item_factors_flat()
    assert width == 2 * 3 * 4, "K = 4 factors of each of 2 chains x 3 kept samples"
    scores = fm.predict(["1", "2"], ["1", "2"])
    assert all(1.0 <= s <= 5.0 for s in scores)
    assert "rmse" in fm.evaluate(test)
    folded = fm.fold_in([("1", 5.0), ("2", 1.0)], n=3)
    assert len(folded) == 3
    fm.save(tmp_path / "fm.emb")
    back = embedrec.load_model(str(tmp_path / "fm.emb"))
    assert back.recommend("1", 5) == fm.model.recommend("1", 5)
    with pytest.raises(ValueError, match="ordered-probit"):
        embedrec.FM(link="logit")


def test_predict_takes_times_for_a_model_with_time_features():
    rng = random.Random(5)
    n = 3000
    users = [str(rng.randrange(80)) for _ in range(n)]
    items = [str(rng.randrange(60)) for _ in range(n)]
    days = [rng.randrange(50) for _ in range(n)]
    # Later days rate higher: the day feature has something to learn.
    ratings = [float(min(5, max(1, 1 + d // 12 + rng.randrange(2)))) for d in days]
    times = [1_000_000_000 + d * 86_400 for d in days]
    data = embedrec.Dataset.from_arrays(users, items, ratings, times=times)
    fm = embedrec.FM(dim=4, chains=2, sweeps=10, burn_in=2, features=["day"]).fit(data)
    early, late = 1_000_000_000, 1_000_000_000 + 49 * 86_400
    p = fm.predict(["1", "1", "1"], ["2", "2", "2"], times=[early, late, late])
    assert p[0] < p[1] - 0.5, "later days rate higher"
    assert p[1] == p[2]
    assert list(fm.predict(["1"], ["2"], times=None)) == list(fm.predict(["1"], ["2"]))
    assert fm.model.predict(["1"], ["2"], [late]) == [p[1]]
    with pytest.raises(ValueError, match="times"):
        fm.predict(["1", "1"], ["2", "2"], times=[early])
    with pytest.raises(TypeError, match="Unix seconds"):
        fm.predict(["1"], ["2"], times=["2024-01-01"])
    mf = embedrec.MF(dim=4, epochs=2).fit(data)
    assert list(mf.predict(["1"], ["2"], times=[early])) == list(mf.predict(["1"], ["2"]))


def test_patience_needs_validation_and_uses_it(split):
    train, test = split
    with pytest.raises(ValueError, match="patience"):
        embedrec.MF(dim=8, epochs=4, patience=1).fit(train)
    fit_part, held = train.split("random:0.1", seed=7)
    m = embedrec.MF(dim=8, epochs=4, patience=1).fit(fit_part, valid=held)
    assert all(e["val_rmse"] is not None for e in m.history)


def test_data_in_from_arrays_and_bad_files(tmp_path):
    d = embedrec.Dataset.from_arrays([1, 1, 2, "u3"], ["a", "b", "a", "b"], [5.0, 3.0, 4.0, 1.0])
    assert (len(d), d.n_users, d.n_items) == (4, 3, 2)
    assert d.scale == (1.0, 5.0)
    model = embedrec.Baseline().fit(d)
    # User 2 rated only "a": "b" is all that is left to recommend.
    assert model.recommend(2, n=5) == model.recommend("2", n=5)
    assert [i for i, _ in model.recommend("2", n=5)] == ["b"]
    with pytest.raises(ValueError):
        embedrec.Dataset.from_arrays([1], ["a", "b"], [5.0])
    bad = tmp_path / "u1.base"
    bad.write_text("1\t2\t5\t881250949\n1\t3\tfive\t881250949\n")
    with pytest.raises(ValueError, match=r"u1.base:2: field `rating`"):
        embedrec.load(bad)
    with pytest.raises(FileNotFoundError):
        embedrec.load(tmp_path / "missing.csv")


def test_recommend_many_fold_in_similar_and_unknown_users(split):
    train, _ = split
    model = embedrec.MF(dim=8, epochs=3).fit(train)
    many = model.recommend_many(["1", "2", "nobody"], n=4)
    assert many[0] == model.recommend("1", n=4)
    assert many[2] == model.recommend("nobody", n=4)  # the popularity fallback
    new = model.fold_in([("1", 5.0), ("2", 1.0), ("no such item", 3.0)], n=3)
    assert len(new) == 3 and all(i not in ("1", "2") for i, _ in new)
    assert len(model.similar_items("1", n=4)) == 4
    with pytest.raises(KeyError):
        model.similar_items("no such item")
    with pytest.raises(ValueError, match="item embeddings"):
        embedrec.Baseline().fit(train).similar_items("1")
    sampled = model.evaluate(split[1], protocol="sampled")
    assert "hr@10" in sampled and "precision@10" not in sampled


def test_the_thread_is_released_while_rust_trains():
    data = embedrec.Dataset.synthetic(users=400, items=300, ratings=40000, seed=1)
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        # Adam with small batches: long enough for the other thread to tick many times.
        embedrec.MF(dim=64, epochs=150, optimizer="adam", batch=32).fit(data)
        after = counter[0]
    finally:
        stop.set()
        t.join()
    # Had fit held the interpreter throughout, the counter could not have moved at all
    # while it ran.
    assert after - before >= 20, (before, after)


@pytest.mark.skipif(not CLI.exists(), reason="needs the embedrec binary (cargo build --release)")
def test_the_model_file_is_shared_with_the_command_line(tmp_path):
    _need_ml100k()
    train = embedrec.load(ML100K / "u1.base")
    model = embedrec.MF(dim=16, epochs=5).fit(train)
    path = tmp_path / "py.emb"
    model.save(path)
    out = subprocess.run(
        [str(CLI), "recommend", "--model", str(path), "--user", "1", "-n", "5", "--json"],
        capture_output=True, text=True, check=True,
    )
    import json

    cli_items = [r["item"] for r in json.loads(out.stdout.strip().splitlines()[-1])["items"]]
    assert cli_items == [i for i, _ in model.recommend("1", n=5)]
    cli_model = tmp_path / "cli.emb"
    subprocess.run(
        [str(CLI), "train", "--model", "mf", "--train", str(ML100K / "u1.base"),
         "--test", str(ML100K / "u1.test"), "--dim", "16", "--epochs", "5",
         "--out", str(cli_model)],
        capture_output=True, text=True, check=True,
    )
    loaded = embedrec.load_model(str(cli_model))
    out = subprocess.run(
        [str(CLI), "recommend", "--model", str(cli_model), "--user", "1", "-n", "10", "--json"],
        capture_output=True, text=True, check=True,
    )
    cli_items = [r["item"] for r in json.loads(out.stdout.strip().splitlines()[-1])["items"]]
    assert cli_items == [i for i, _ in loaded.recommend("1", 10)]


def test_ctrl_c_interrupts_fit_within_an_epoch():
    import signal

    data = embedrec.Dataset.synthetic(users=400, items=300, ratings=40000, seed=1)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Thousands of epochs: were the interrupt not honoured, this would run on and
            # end without raising.
            embedrec.MF(dim=64, epochs=5000, optimizer="adam", batch=32).fit(data)
    finally:
        timer.cancel()


def _cli_rmse(*args):
    import json

    out = subprocess.run([str(CLI), "train", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["test_rmse"]


@pytest.mark.skipif(not CLI.exists(), reason="needs the embedrec binary (cargo build --release)")
def test_the_textbook_example_matches_the_command_line(tmp_path):
    _need_ml100k()
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "textbook.py"), str(ML100K), "--out", str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 3)
        if len(parts) == 4 and "." in parts[1] and parts[2].isdigit():
            rows[parts[0].strip()] = float(parts[1])
    assert len(rows) == 6, out
    u1 = ["--train", str(ML100K / "u1.base"), "--test", str(ML100K / "u1.test")]
    book = _cli_rmse("--model", "mf", "--preset", "book-mf", *u1)
    tuned = _cli_rmse("--model", "mf", *u1)
    assert abs(rows["MF as a neural network (Keras)"] - book) < 0.0005, (rows, book)
    assert abs(rows["MF, tuned defaults"] - tuned) < 0.0005, (rows, tuned)
    assert round(book, 4) == 1.1268  # Keras 3.15 on u1 (the textbook's model, reproduced)
    figures = list(tmp_path.glob("textbook-*"))
    assert figures and all(f.stat().st_size > 0 for f in figures)


def test_recommend_all_item_factors_and_watch(split):
    train, test = split
    model = embedrec.MF(dim=8, epochs=3).fit(train, watch=test)
    assert all(e["watch_rmse"] is not None for e in model.history)
    everyone = model.recommend_all(n=3)
    assert set(everyone) == set(model.user_ids)
    assert everyone["1"] == model.recommend("1", n=3)
    q = model.item_factors
    assert q.shape == (len(model.item_ids), 8)
    assert embedrec.Baseline().fit(train).item_factors is None
    hist = model.history
    if _has("pandas"):
        assert list(hist.to_pandas()["epoch"]) == [1, 2, 3]


def test_from_pandas():
    pandas = pytest.importorskip("pandas")
    df = pandas.DataFrame(
        {"u": [1, 1, 2], "i": ["a", "b", "a"], "r": [5.0, 3.0, 4.0], "t": [10, 20, 30]}
    )
    d = embedrec.Dataset.from_pandas(df, user="u", item="i", rating="r", time="t")
    assert (len(d), d.n_users, d.n_items) == (3, 2, 2)
    implicit = embedrec.Dataset.from_pandas(df, user="u", item="i", rating=None)
    assert implicit.scale[0] < 1.0 < implicit.scale[1]
    with pytest.raises(ValueError, match="no column `x`"):
        embedrec.Dataset.from_pandas(df, user="x", item="i")


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _stub_defs(path):
    """(class or None, name, parameter names or None for a property) of a .pyi file."""
    import ast

    tree = ast.parse(Path(path).read_text())
    out = []

    def params(fn):
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args]
        names += [a.vararg.arg] if a.vararg else []
        names += [x.arg for x in a.kwonlyargs]
        names += [a.kwarg.arg] if a.kwarg else []
        return [n for n in names if n not in ("self", "cls")]

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.append((None, node.name, params(node)))
        elif isinstance(node, ast.ClassDef):
            out.append((None, node.name, None))
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    prop = any(getattr(d, "id", None) == "property" for d in item.decorator_list)
                    out.append((node.name, item.name, None if prop else params(item)))
    return out


@pytest.mark.parametrize("stub,module", [("_embedrec.pyi", "embedrec._embedrec"), ("__init__.pyi", "embedrec"), ("spark.pyi", "embedrec.spark")])
def test_the_type_stubs_match_the_module(stub, module):
    import importlib
    import inspect

    mod = importlib.import_module(module)
    path = Path(embedrec.__file__).parent / stub
    defs = _stub_defs(path)
    assert defs, path
    for cls, name, params in defs:
        owner = getattr(mod, cls) if cls else mod
        assert hasattr(owner, name), f"{module}: {cls}.{name} is in the stub but not the module"
        if params is None or name.startswith("__"):
            continue
        try:
            sig = inspect.signature(getattr(owner, name))
        except (TypeError, ValueError):
            continue
        runtime = [p.name for p in sig.parameters.values() if p.name not in ("self", "cls")]
        assert runtime == params, f"{module}.{cls or ''}.{name}: stub {params}, module {runtime}"
    public = getattr(mod, "__all__", None)
    if public:
        import ast

        imported = {
            a.asname or a.name
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        stubbed = imported | {name for cls, name, _ in defs if cls is None}
        assert set(public) <= stubbed, set(public) - stubbed


@pytest.mark.skipif(not CLI.exists(), reason="needs the embedrec binary (cargo build --release)")
def test_a_model_trained_in_python_is_served(split, tmp_path):
    import json
    import urllib.request

    train, _ = split
    model = embedrec.MF(dim=8, epochs=3).fit(train)
    path = tmp_path / "py.emb"
    model.save(path)
    server = subprocess.Popen(
        [str(CLI), "serve", "--model", str(path), "--addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("listening on "), line
        addr = line.split()[-1]
        with urllib.request.urlopen(f"http://{addr}/v1/users/1/recommendations?n=5", timeout=10) as r:
            served = json.load(r)
        assert [x["item"] for x in served["items"]] == [i for i, _ in model.recommend("1", n=5)]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_from_arrow_matches_from_arrays():
    pa = pytest.importorskip("pyarrow")
    users = ["1", "1", "2", "7"]
    items = [10, 11, 10, 12]
    ratings = [5.0, 3.0, 4.0, 1.0]
    table = pa.table({"u": users, "i": pa.array(items, pa.int64()), "r": ratings, "t": pa.array([1, 2, 3, 4], pa.int64())})
    a = embedrec.from_arrow(table, user="u", item="i", rating="r", time="t")
    b = embedrec.Dataset.from_arrays(users, items, ratings, times=[1, 2, 3, 4])
    assert (len(a), a.n_users, a.n_items, a.scale) == (len(b), b.n_users, b.n_items, b.scale)
    ma, mb = embedrec.Baseline().fit(a), embedrec.Baseline().fit(b)
    assert list(ma.predict(users, items)) == list(mb.predict(users, items))
    # two chunks; the repeated pairs go by the duplicate policy, as in the file readers
    chunked = pa.concat_tables([table, table.slice(0, 2)])
    assert len(embedrec.from_arrow(chunked, user="u", item="i", rating="r")) == 4
    with pytest.raises(ValueError, match="duplicate"):
        embedrec.from_arrow(chunked, user="u", item="i", rating="r", duplicates="error")
    strings = pa.table({"u": users, "i": pa.array(items, pa.int64()), "r": ["5", "3", "4", "1"]})
    with pytest.raises(ValueError, match="`r`"):
        embedrec.from_arrow(strings, user="u", item="i", rating="r")
    with pytest.raises(ValueError, match="no column"):
        embedrec.from_arrow(table, user="nope", item="i")
    bad = pa.table({"u": ["1", None], "i": ["a", "b"], "rating": [1.0, 2.0]})
    with pytest.raises(ValueError, match="null id"):
        embedrec.from_arrow(bad, user="u", item="i")


def test_load_takes_the_command_lines_reading_options(tmp_path):
    f = tmp_path / "plays.txt"
    f.write_text("a;x;9\nb;y;3\na;y;6\n")
    d = embedrec.load(f, delimiter=";", header=False, rating_col=2, time_col=None, scale=(0.0, 10.0))
    assert (len(d), d.n_users, d.n_items, d.scale) == (3, 2, 2, (0.0, 10.0))
    interactions = embedrec.load(f, delimiter=";", header=False, rating_col=None, time_col=None)
    assert len(interactions) == 3
    with pytest.raises(ValueError, match="outside"):
        embedrec.load(f, delimiter=";", header=False, time_col=None, scale=(1.0, 5.0))


def test_load_reads_parquet_files_and_spark_folders(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    users = [1, 1, 2, 2, 3, 7]
    items = ["a", "b", "a", "c", "b", "c"]
    ratings = [4.0, 3.5, 5.0, 1.0, 2.5, 4.5]
    seconds = [881250949 + k for k in range(6)]
    csv = tmp_path / "r.csv"
    csv.write_text("user,item,rating,timestamp\n" + "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in zip(users, items, ratings, seconds)))
    table = pa.table({
        "userId": pa.array(users, pa.int32()),
        "movieId": pa.array(items).dictionary_encode(),
        "rating": pa.array(ratings, pa.float32()),
        "timestamp": pa.array([s * 10**9 for s in seconds], pa.timestamp("ns")),
    })
    # A Spark-style folder: two part files (INT96 timestamps, as Spark writes), the
    # marker and checksum files beside them.
    folder = tmp_path / "ratings.parquet"
    folder.mkdir()
    for k, part in enumerate([table.slice(0, 4), table.slice(4)]):
        name = f"part-0000{k}-x-c000.snappy.parquet"
        pq.write_table(part, folder / name, use_deprecated_int96_timestamps=True)
        (folder / f".{name}.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    single = tmp_path / "one.parquet"
    pq.write_table(table, single, compression="zstd")
    want = embedrec.load(csv)
    for d in [embedrec.load(folder), embedrec.load(single)]:
        assert (len(d), d.n_users, d.n_items, d.scale) == (len(want), want.n_users, want.n_items, want.scale)
        a, b = embedrec.Baseline().fit(d), embedrec.Baseline().fit(want)
        assert list(a.predict(["1", "7"], ["a", "c"])) == list(b.predict(["1", "7"], ["a", "c"]))
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"user": [1, 2], "item": [3, 4], "rating": ["4", "5"]}), bad)
    with pytest.raises(ValueError, match="rating"):
        embedrec.load(bad)


def _fit_verbose_stderr(on_terminal):
    """What `MF(epochs=3).fit(..., verbose=True)` writes on stderr in a child process,
    its stderr a pseudo-terminal or a pipe."""
    code = (
        "import embedrec\n"
        "d = embedrec.Dataset.synthetic(users=100, items=80, ratings=2000, seed=1)\n"
        "embedrec.MF(dim=4, epochs=3).fit(d, verbose=True)\n"
    )
    if not on_terminal:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stderr
    import pty

    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-c", code], stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert child.wait(timeout=120) == 0
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_verbose_draws_a_bar_on_a_terminal_and_lines_elsewhere():
    lines = _fit_verbose_stderr(on_terminal=False)
    assert [line.split(" train RMSE")[0] for line in lines.splitlines()] == [
        "epoch 1/3", "epoch 2/3", "epoch 3/3"
    ], lines
    drawn = _fit_verbose_stderr(on_terminal=True)
    assert "epoch" in drawn and "\x1b[" in drawn, repr(drawn)  # redrawn in place, cleared at the end
    assert " s)" not in drawn, repr(drawn)  # not the per-epoch lines

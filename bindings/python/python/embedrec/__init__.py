"""embedrec: embedding recommenders in Rust, from Python.

Data in (``Dataset``), one class per model kind with keyword arguments named as the
command line's flags (``MF(dim=128, epochs=25, lr=0.02)``, ``lr_decay`` for
``--lr-decay``) or as the params fields ``get_params()`` shows, ``fit`` (the Python thread
released while Rust trains; Ctrl-C stops it within one epoch), and a trained model that
predicts, recommends, evaluates and saves by raw ids, in the same model file as the
``embedrec`` command line::

    import embedrec
    data = embedrec.Dataset.synthetic()
    train, test = data.split("random:0.2", seed=42)
    model = embedrec.MF(dim=64).fit(train)
    print(model.evaluate(test)["rmse"])
    print(model.recommend("1", n=5))
    model.save("mf.emb")
    same = embedrec.load_model("mf.emb")
"""

import json as _json
import numbers as _numbers

from ._embedrec import Dataset, TrainedModel, load_model
from . import _embedrec

__all__ = [
    "Dataset",
    "TrainedModel",
    "load",
    "load_model",
    "from_arrow",
    "MF",
    "Deep",
    "NeuMF",
    "AutoRec",
    "KNN",
    "Baseline",
    "IALS",
    "EASE",
    "Popularity",
    "Blend",
    "FM",
]


def load(path, **options):
    """Reads ratings: a MovieLens folder, a MovieLens ratings file (``u.data``,
    ``u1.base``, ``ratings.dat``, ``ratings.csv``), a Parquet file or a folder of Parquet
    part files as Spark writes it (columns found by their conventional names, e.g.
    ``userId``, ``movieId``, ``rating``, ``timestamp``, else by position), or a delimited
    file, its layout guessed or given as the command line's reading options
    (``delimiter``, ``header``, ``user_col``, ``item_col``, ``rating_col``, ``time_col``
    (None: no such column), ``scale=(min, max)``, ``duplicates``)."""
    return Dataset.load(str(path), **options)


def from_arrow(table, user="user", item="item", rating="rating", time=None, scale=None, duplicates="keep-last"):
    """Ratings from a pyarrow Table (or anything with ``__arrow_c_stream__``), read
    column by column through the Arrow C stream interface by the same code as the
    Parquet reader: no Python object per value. Ids are integer or string columns,
    ratings floating, integer or decimal (``rating=None``: every row an interaction of
    value 1), ``time`` a column of Unix seconds, timestamps or dates (None: no times);
    ``scale=(min, max)`` declared, else the observed range; ``duplicates`` as for
    ``load``. A null, a column of the wrong type or a missing column raises
    ``ValueError`` naming the column (and the row)."""
    names = [user, item] + ([rating] if rating else []) + ([time] if time else [])
    if hasattr(table, "select") and hasattr(table, "column_names"):
        missing = [n for n in names if n not in table.column_names]
        if missing:
            raise ValueError(f"the table has no column {missing[0]!r}")
        table = table.select(names)
    return Dataset.from_arrow_stream(table, user, item, rating, time, scale, duplicates)


# Command-line flag names that map onto nested or renamed params fields.
class _Model:
    """A model kind's params; ``fit`` trains and keeps the trained model."""

    _kind = None

    def __init__(self, **params):
        self._preset = None
        self._implicit = bool(params.pop("implicit", False))
        self._params = dict(params)
        self._model = None
        self.history = None
        self.get_params()  # refuses unknown names and bad values now

    @classmethod
    def preset(cls, name, **params):
        """The params of a named preset (e.g. ``MF.preset("book-mf")``), with ``params``
        laid over them."""
        obj = cls.__new__(cls)
        obj._preset = name
        obj._implicit = bool(params.pop("implicit", False))
        obj._params = dict(params)
        obj._model = None
        obj.history = None
        obj.get_params()
        return obj

    @classmethod
    def presets(cls):
        """The names of this kind's presets."""
        return list(_embedrec.presets(cls._kind))

    def _overrides(self):
        out = {}
        for key, value in self._params.items():
            if isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    def _json(self):
        return _json.dumps(self._overrides())

    def get_params(self):
        """Every param with its value (defaults included), as the model file records
        them (32-bit values shown to their 7 significant digits)."""
        return _clean(
            _json.loads(
                _embedrec.resolve_params(self._kind, self._preset, self._json(), self._implicit)
            )
        )

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(self, train, valid=None, verbose=False, watch=None):
        """Trains on ``train`` (a ``Dataset``); ``valid`` is validation data for early
        stopping (``patience``); ``watch`` is data evaluated after every epoch and kept in
        ``history`` (``watch_rmse``; implicit models ``watch_ndcg``), never used for a
        decision; ``verbose`` shows a progress bar on stderr when it is a terminal, else
        prints one line per epoch there (a notebook's log). Returns self."""
        self._model = _embedrec.fit(
            self._kind,
            self._preset,
            self._json(),
            train,
            valid,
            self._implicit,
            verbose,
            watch,
        )
        self.history = _history(_json.loads(self._model.history_json))
        return self

    @property
    def model(self):
        """The trained model (after ``fit``)."""
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(train)")
        return self._model

    def predict(self, users, items, times=None):
        """Predicted scores of the pairs ``(users[k], items[k])`` (raw ids, str or int);
        an unknown user or item gets the fallback estimate. ``times`` (Unix seconds, one
        int per pair) predicts each pair at its time, for a model with time features
        (fm's day); without them fm averages the day over the user's training days."""
        users, items = list(users), list(items)
        if len(users) != len(items):
            raise ValueError(f"{len(users)} users but {len(items)} items")
        if times is not None:
            times = list(times)
            if len(times) != len(users):
                raise ValueError(f"{len(times)} times for {len(users)} pairs")
            if not all(isinstance(t, _numbers.Integral) for t in times):
                raise TypeError("times are Unix seconds, one int per pair")
            return _array(self.model.predict(users, items, [int(t) for t in times]))
        if not users:
            return _array([])
        sep = "\x1f"
        joined_users, joined_items = _join(sep, users), _join(sep, items)
        if joined_users.count(sep) == len(users) - 1 and joined_items.count(sep) == len(items) - 1:
            raw = self.model.predict_joined(joined_users, joined_items)
            try:
                import numpy

                return numpy.frombuffer(raw, dtype="<f4")
            except ImportError:
                import array

                return array.array("f", raw).tolist()
        return _array(self.model.predict(users, items))

    def recommend(self, user, n=10, exclude_seen=True):
        """The ``n`` best items for ``user`` as ``(item, score)`` tuples."""
        return self.model.recommend(user, n, exclude_seen)

    def recommend_many(self, users, n=10, threads=1):
        """The lists of many users at once."""
        return self.model.recommend_many(list(users), n, threads)

    def recommend_all(self, n=10, threads=1):
        """Every known user's list: ``{user: [(item, score), ...]}``."""
        return dict(self.model.recommend_all(n, threads))

    @property
    def item_factors(self):
        """The item factors (a numpy array ``items x K``, rows in ``item_ids`` order), or
        None for a kind without them."""
        flat = self.model.item_factors_flat()
        if flat is None:
            return None
        values, rows, k = flat
        try:
            import numpy

            return numpy.asarray(values, dtype=numpy.float32).reshape(rows, k)
        except ImportError:
            return [values[r * k : (r + 1) * k] for r in range(rows)]

    @property
    def item_ids(self):
        """Raw item ids of the model's rows."""
        return self.model.item_ids

    @property
    def user_ids(self):
        """Raw user ids of the model's rows."""
        return self.model.user_ids

    def similar_items(self, item, n=10):
        """The ``n`` items most similar to ``item`` (``KeyError`` for an item the model
        does not know; ``ValueError`` for a kind without item factors)."""
        return self.model.similar_items(item, n)

    def fold_in(self, ratings, n=10):
        """The ``n`` best items for a new user given ``(item, rating)`` pairs."""
        return self.model.fold_in(list(ratings), n)

    def evaluate(self, test, k=10, threshold=4.0, protocol="full"):
        """Metrics on ``test`` keyed as ``embedrec eval --json`` (``rmse``, ``mae`` for
        rating models; ``ndcg@10``, ``hr@10``, ...)."""
        return _json.loads(self.model.evaluate_json(test, k, threshold, protocol))

    def save(self, path):
        """Writes the model file (loads in ``embedrec serve`` and ``load_model``)."""
        self.model.save(str(path))


def _join(sep, ids):
    """The ids joined by ``sep`` (ints as their decimal text)."""
    try:
        return sep.join(ids)
    except TypeError:
        return sep.join(map(str, ids))


def _clean(value):
    """Floats to 7 significant digits (the params are 32-bit floats)."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _array(values):
    try:
        import numpy

        return numpy.asarray(values, dtype=numpy.float32)
    except ImportError:
        return values


class _History(list):
    """The per-epoch record: a list of dicts, and ``to_pandas()`` where pandas is
    installed."""

    def to_pandas(self):
        import pandas

        return pandas.DataFrame(self)


def _history(records):
    return _History(records)


class MF(_Model):
    """Matrix factorization as a neural network: mu + b_u + b_i + dot(P_u, Q_i).
    ``implicit=True`` trains it with a ranking loss on interactions."""

    _kind = "mf"


class Deep(_Model):
    """Hidden dense layers over concatenated embeddings, biases and side variables."""

    _kind = "deep"


class NeuMF(_Model):
    """NeuMF: a GMF tower and an MLP tower fused by one output unit."""

    _kind = "neumf"


class AutoRec(_Model):
    """I-AutoRec: an autoencoder of each item's ratings."""

    _kind = "autorec"


class KNN(_Model):
    """Item-based k-nearest neighbours with baselines."""

    _kind = "knn"


class Baseline(_Model):
    """mu + user bias + item bias, fitted by ALS."""

    _kind = "baseline"


class IALS(_Model):
    """Weighted ALS for implicit feedback (conjugate gradient)."""

    _kind = "ials"


class EASE(_Model):
    """EASE: closed-form item-item model for implicit feedback."""

    _kind = "ease"


class Popularity(_Model):
    """Item popularity: the top-N baseline."""

    _kind = "popularity"


class Blend(_Model):
    """A linear blend of other models: ridge weights fitted on the members' out-of-fold
    predictions of the training ratings (``folds`` folds; ``folds=1``: one validation
    carve), then the members refitted on all the training data."""

    _kind = "blend"


class FM(_Model):
    """Factorization machine trained by Gibbs sampling (Bayesian FM): the user, the item,
    their side variables and the implicit sets (``rated``, ``raters``) as features;
    predictions averaged over the samples kept after burn-in, pooled over ``chains``
    independent chains (``threads`` runs chains at once). ``link="ordered-probit"``
    treats the rating levels as intervals of a latent normal with learned cut points
    (a prediction is the expected level); the default ``"gaussian"`` adds normal noise."""

    _kind = "fm"


def _document(cls):
    """Appends every param with its default to the class docstring (``help(cls)``)."""
    try:
        defaults = cls().get_params()
    except ValueError:
        return
    lines = [f"    {k} = {v!r}" for k, v in defaults.items()]
    presets = cls.presets()
    cls.__doc__ = (
        (cls.__doc__ or "")
        + "\n\nParameters (keyword arguments, with their defaults):\n"
        + "\n".join(lines)
        + (f"\n\nPresets: {', '.join(presets)}" if presets else "")
    )


for _cls in (MF, Deep, NeuMF, AutoRec, KNN, Baseline, IALS, EASE, Popularity, Blend, FM):
    _document(_cls)
del _cls

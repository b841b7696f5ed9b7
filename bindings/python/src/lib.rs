//! The `embedrec._embedrec` extension module: a thin front over the embedrec library's
//! typed API (`Dataset`, `Fit` through the registry, `TrainedModel`). The Python classes
//! users meet (`embedrec.MF`, ...) are in `python/embedrec/__init__.py`.

use arrow_array::RecordBatchReader;
use embedrec::data::{Column, Columns, Dataset, RatingScale, Ratings, ReadOptions, SplitSpec};
use embedrec::eval::{EvalOptions, Protocol};
use embedrec::models::{EpochStats, FitOptions, Recommender, Validation, params_for};
use embedrec::{Error, TrainedModel};
use pyo3::exceptions::{PyConnectionError, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The conventional Python exception for a library error: bad data and bad arguments are
/// `ValueError` (the message names the file, line and field), a missing file is
/// `FileNotFoundError`, other I/O `OSError`, the network `ConnectionError`.
fn py_err(e: Error) -> PyErr {
    match &e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        Error::Network(_) => PyConnectionError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// An id given from Python: a str, or an int (converted to its decimal text).
fn id_text(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = ob.extract::<String>() {
        return Ok(s);
    }
    if let Ok(i) = ob.extract::<i64>() {
        return Ok(i.to_string());
    }
    Err(PyValueError::new_err(format!(
        "ids are str or int, got {}",
        ob.get_type().name()?
    )))
}

/// Ratings with their raw ids, side variables and scale.
#[pyclass(name = "Dataset", module = "embedrec", frozen)]
struct PyDataset {
    inner: Arc<Dataset>,
}

#[pymethods]
impl PyDataset {
    /// Loads a MovieLens folder, a MovieLens ratings file (`u.data`, `u1.base`,
    /// `ratings.dat`, `ratings.csv`) or a delimited file: its layout guessed, or given
    /// as the command line's reading flags (`delimiter`, `header`, `user_col`,
    /// `item_col`, `rating_col` and `time_col`: 0-based, None for none), with an
    /// optional `scale` (min, max) and `duplicates` (`error`, `keep-last`, `mean`).
    #[staticmethod]
    #[pyo3(signature = (path, delimiter=None, header=true, user_col=0, item_col=1, rating_col=Some(2), time_col=Some(3), scale=None, duplicates="keep-last"))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        delimiter: Option<String>,
        header: bool,
        user_col: usize,
        item_col: usize,
        rating_col: Option<usize>,
        time_col: Option<usize>,
        scale: Option<(f32, f32)>,
        duplicates: &str,
    ) -> PyResult<Self> {
        let duplicates = duplicate_policy(duplicates)?;
        let options = embedrec::data::ReadOptions {
            delimited: delimiter.map(|delimiter| embedrec::data::DelimitedSpec {
                delimiter,
                header,
                user_col,
                item_col,
                rating_col,
                time_col,
            }),
            scale: scale.map(|(min, max)| RatingScale { min, max }),
            duplicates,
            ..Default::default()
        };
        let data = py
            .detach(|| Dataset::load_with(&path, &options))
            .map_err(py_err)?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// Seeded MovieLens-shaped synthetic ratings (side variables and titles included).
    #[staticmethod]
    #[pyo3(signature = (users=943, items=1682, ratings=100_000, seed=42))]
    fn synthetic(users: usize, items: usize, ratings: usize, seed: u64) -> PyResult<Self> {
        let data = Dataset::synthetic(users, items, ratings, seed).map_err(py_err)?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// Ratings from equally long sequences (lists, tuples, numpy arrays): user ids, item
    /// ids (str or int), ratings and optionally Unix times. The scale is `(min, max)`,
    /// or the observed range.
    #[staticmethod]
    #[pyo3(signature = (users, items, ratings, times=None, scale=None))]
    fn from_arrays(
        users: Vec<Bound<'_, PyAny>>,
        items: Vec<Bound<'_, PyAny>>,
        ratings: Vec<f32>,
        times: Option<Vec<i64>>,
        scale: Option<(f32, f32)>,
    ) -> PyResult<Self> {
        if times.as_ref().is_some_and(|t| t.len() != ratings.len()) {
            return Err(PyValueError::new_err("times and ratings differ in length"));
        }
        if users.len() != items.len() || users.len() != ratings.len() {
            return Err(PyValueError::new_err(format!(
                "users, items and ratings differ in length: {}, {}, {}",
                users.len(),
                items.len(),
                ratings.len()
            )));
        }
        if ratings.is_empty() {
            return Err(PyValueError::new_err("no ratings"));
        }
        let mut data = Dataset {
            ratings: Ratings::default(),
            users: Default::default(),
            items: Default::default(),
            features: Default::default(),
            scale: RatingScale { min: 0.0, max: 0.0 },
            source: PathBuf::from("<arrays>"),
            warnings: Vec::new(),
        };
        for (k, ((u, i), &r)) in users.iter().zip(&items).zip(&ratings).enumerate() {
            if !r.is_finite() {
                return Err(PyValueError::new_err(format!(
                    "rating {k} is not a number: {r}"
                )));
            }
            let u = data.users.get_or_insert(&id_text(u)?);
            let i = data.items.get_or_insert(&id_text(i)?);
            data.ratings.push(u, i, r, times.as_ref().map(|t| t[k]));
        }
        let (lo, hi) = ratings
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        data.scale = match scale {
            Some((min, max)) => {
                if let Some(k) = ratings.iter().position(|&r| r < min || r > max) {
                    return Err(PyValueError::new_err(format!(
                        "rating {k} ({}) is outside the scale {min}..{max}",
                        ratings[k]
                    )));
                }
                RatingScale { min, max }
            }
            None if lo < hi => RatingScale { min: lo, max: hi },
            None => RatingScale {
                min: lo - 0.5,
                max: hi + 0.5,
            },
        };
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// Ratings from a pandas DataFrame's columns (`rating=None`: every row is an
    /// interaction of value 1; `time`: Unix seconds). The columns are read through
    /// `tolist()`.
    #[staticmethod]
    #[pyo3(signature = (df, user="user", item="item", rating=Some("rating"), time=None, scale=None))]
    fn from_pandas(
        df: &Bound<'_, PyAny>,
        user: &str,
        item: &str,
        rating: Option<&str>,
        time: Option<&str>,
        scale: Option<(f32, f32)>,
    ) -> PyResult<Self> {
        let column = |name: &str| -> PyResult<Bound<'_, PyAny>> {
            df.get_item(name)
                .map_err(|_| {
                    PyValueError::new_err(format!("the DataFrame has no column `{name}`"))
                })?
                .call_method0("tolist")
        };
        let users: Vec<Bound<'_, PyAny>> = column(user)?.extract()?;
        let items: Vec<Bound<'_, PyAny>> = column(item)?.extract()?;
        let ratings: Vec<f32> = match rating {
            Some(r) => column(r)?
                .extract()
                .map_err(|e| PyValueError::new_err(format!("column `{r}`: {e}")))?,
            None => vec![1.0; users.len()],
        };
        let times: Option<Vec<i64>> = match time {
            Some(t) => Some(
                column(t)?
                    .extract()
                    .map_err(|e| PyValueError::new_err(format!("column `{t}`: {e}")))?,
            ),
            None => None,
        };
        Self::from_arrays(users, items, ratings, times, scale)
    }

    /// Ratings from an Arrow table (anything with `__arrow_c_stream__`: a pyarrow Table
    /// or RecordBatch, a Spark DataFrame's Arrow batches), read through the Arrow C
    /// stream interface by the core's record-batch reader: no Python object per value,
    /// the types, checks and errors of the Parquet reader. Columns by name (`rating` or
    /// `time` None: none); ids are string or integer columns, ratings floating, integer
    /// or decimal, times integers (Unix seconds), timestamps or dates; `scale` (min, max)
    /// declared, else the observed range; `duplicates` as for `load`.
    #[staticmethod]
    #[pyo3(signature = (stream, user="user", item="item", rating=Some("rating"), time=None, scale=None, duplicates="keep-last"))]
    #[allow(clippy::too_many_arguments)]
    fn from_arrow_stream(
        py: Python<'_>,
        stream: &Bound<'_, PyAny>,
        user: &str,
        item: &str,
        rating: Option<&str>,
        time: Option<&str>,
        scale: Option<(f32, f32)>,
        duplicates: &str,
    ) -> PyResult<Self> {
        let reader = arrow_stream(stream)?;
        let named = |n: Option<&str>| n.map_or(Column::Absent, |n| Column::Name(n.to_string()));
        let options = ReadOptions {
            scale: scale.map(|(min, max)| RatingScale { min, max }),
            duplicates: duplicate_policy(duplicates)?,
            columns: Columns {
                user: named(Some(user)),
                item: named(Some(item)),
                rating: named(rating),
                time: named(time),
            },
            ..ReadOptions::default()
        };
        let schema = reader.schema();
        let data = py
            .detach(|| Dataset::from_record_batches("<arrow>", &schema, reader, &options))
            .map_err(py_err)?;
        Ok(PyDataset {
            inner: Arc::new(data),
        })
    }

    /// `(train, test)` by a split spec: `random:F`, `kfold:K:I`, `user-out:K[:latest]`,
    /// `temporal:F`. The test dataset keeps every id, so unknown ones count as unknown.
    #[pyo3(signature = (spec, seed=42))]
    fn split(&self, py: Python<'_>, spec: &str, seed: u64) -> PyResult<(Self, Self)> {
        let spec: SplitSpec = spec.parse().map_err(py_err)?;
        let data = self.inner.clone();
        let (train, test) = py.detach(|| data.split(&spec, seed)).map_err(py_err)?;
        Ok((
            PyDataset {
                inner: Arc::new(train),
            },
            PyDataset {
                inner: Arc::new(test),
            },
        ))
    }

    /// Number of ratings.
    fn __len__(&self) -> usize {
        self.inner.ratings.len()
    }

    /// Distinct users.
    #[getter]
    fn n_users(&self) -> usize {
        self.inner.users.len()
    }

    /// Distinct items.
    #[getter]
    fn n_items(&self) -> usize {
        self.inner.items.len()
    }

    /// `(min, max)` of the rating scale.
    #[getter]
    fn scale(&self) -> (f32, f32) {
        (self.inner.scale.min, self.inner.scale.max)
    }

    fn __repr__(&self) -> String {
        format!(
            "Dataset({} ratings, {} users, {} items, scale {}..{})",
            self.inner.ratings.len(),
            self.inner.users.len(),
            self.inner.items.len(),
            self.inner.scale.min,
            self.inner.scale.max
        )
    }
}

/// A duplicate policy by its command-line name.
fn duplicate_policy(name: &str) -> PyResult<embedrec::data::DuplicatePolicy> {
    Ok(match name {
        "error" => embedrec::data::DuplicatePolicy::Error,
        "keep-last" => embedrec::data::DuplicatePolicy::KeepLast,
        "mean" => embedrec::data::DuplicatePolicy::Mean,
        other => {
            return Err(PyValueError::new_err(format!(
                "duplicates is 'error', 'keep-last' or 'mean', got '{other}'"
            )));
        }
    })
}

/// A reader of the Arrow C stream that `ob.__arrow_c_stream__()` exports.
fn arrow_stream(
    ob: &Bound<'_, PyAny>,
) -> PyResult<arrow_array::ffi_stream::RecordBatchStreamReader> {
    let capsule = ob.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast_into::<pyo3::types::PyCapsule>()?;
    let ptr = capsule
        .pointer_checked(Some(c"arrow_array_stream"))?
        .cast::<arrow_array::ffi_stream::FFI_ArrowArrayStream>();
    // SAFETY: the capsule holds a valid ArrowArrayStream (the capsule's name was
    // checked); `from_raw` moves it out and marks the original released, as the Arrow C
    // stream interface prescribes for a consumer.
    let stream = unsafe { arrow_array::ffi_stream::FFI_ArrowArrayStream::from_raw(ptr.as_ptr()) };
    arrow_array::ffi_stream::RecordBatchStreamReader::try_new(stream)
        .map_err(|e| PyValueError::new_err(format!("arrow: {e}")))
}

/// The id columns `names` of every batch of an Arrow stream, as raw id strings.
fn arrow_ids(
    reader: arrow_array::ffi_stream::RecordBatchStreamReader,
    names: &[&str],
) -> Result<Vec<Vec<String>>, String> {
    Ok(arrow_ids_and_times(reader, names, None)?.0)
}

/// [`arrow_ids`], and the column `time` in Unix seconds when named (a null: no time).
#[allow(clippy::type_complexity)]
fn arrow_ids_and_times(
    reader: arrow_array::ffi_stream::RecordBatchStreamReader,
    names: &[&str],
    time: Option<&str>,
) -> Result<(Vec<Vec<String>>, Option<Vec<Option<i64>>>), String> {
    use arrow_array::RecordBatchReader;
    let schema = reader.schema();
    let index = |n: &str| {
        schema
            .index_of(n)
            .map_err(|_| format!("the table has no column `{n}`"))
    };
    let at: Vec<usize> = names.iter().map(|n| index(n)).collect::<Result<_, _>>()?;
    let time_at = time.map(|t| index(t).map(|c| (t, c))).transpose()?;
    let mut out = vec![Vec::new(); names.len()];
    let mut times = time_at.map(|_| Vec::new());
    for batch in reader {
        let batch = batch.map_err(|e| format!("arrow: {e}"))?;
        for ((ids, &c), name) in out.iter_mut().zip(&at).zip(names) {
            ids.extend(embedrec::data::parquet::id_strings(
                batch.column(c).as_ref(),
                name,
            )?);
        }
        if let (Some((name, c)), Some(times)) = (time_at, times.as_mut()) {
            times.extend(embedrec::data::parquet::time_values(
                batch.column(c).as_ref(),
                name,
            )?);
        }
    }
    Ok((out, times))
}

/// A trained model with its ids: what `fit` returns and `load_model` reads.
#[pyclass(name = "TrainedModel", module = "embedrec", frozen)]
struct PyTrainedModel {
    inner: Arc<TrainedModel>,
}

/// A top-N list as `(item, score)` tuples.
/// Lists by item rows as Python lists of `(item, score)` tuples; each item's id string
/// is made once per call and shared by every list naming it.
fn py_lists<'py>(
    py: Python<'py>,
    m: &TrainedModel,
    lists: Vec<embedrec::recommend::RowList>,
) -> PyResult<Vec<Bound<'py, PyList>>> {
    let mut ids: Vec<Option<Bound<'py, PyString>>> = vec![None; m.items.len()];
    lists
        .into_iter()
        .map(|l| {
            let pairs = l.items.into_iter().map(|(i, s)| {
                let id = ids[i as usize]
                    .get_or_insert_with(|| PyString::new(py, m.items.raw(i)))
                    .clone();
                (id, s)
            });
            PyList::new(py, pairs.collect::<Vec<_>>())
        })
        .collect()
}

/// A list as `(item, score)` tuples.
fn pairs(list: embedrec::recommend::RecommendationList) -> Vec<(String, f32)> {
    list.into_iter().map(|r| (r.item, r.score)).collect()
}

#[pymethods]
impl PyTrainedModel {
    /// The model kind (`mf`, `deep`, ...).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.model.kind()
    }

    /// `ratings` or `preferences` (implicit feedback).
    #[getter]
    fn feedback(&self) -> String {
        serde_json::to_value(self.inner.feedback)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The params as JSON text.
    #[getter]
    fn params_json(&self) -> String {
        self.inner.params.to_string()
    }

    /// The per-epoch history as JSON text.
    #[getter]
    fn history_json(&self) -> String {
        serde_json::to_string(&self.inner.history).unwrap_or_else(|_| "[]".into())
    }

    /// Predictions for pairs of raw ids (an unknown user or item gets the fallback
    /// estimate, as the command line does); clipped when the model clips.
    #[pyo3(signature = (users, items, times=None))]
    fn predict(
        &self,
        py: Python<'_>,
        users: Vec<Bound<'_, PyAny>>,
        items: Vec<Bound<'_, PyAny>>,
        times: Option<Vec<i64>>,
    ) -> PyResult<Vec<f32>> {
        if users.len() != items.len() {
            return Err(PyValueError::new_err("users and items differ in length"));
        }
        if let Some(t) = &times
            && t.len() != users.len()
        {
            return Err(PyValueError::new_err(format!(
                "{} times for {} pairs",
                t.len(),
                users.len()
            )));
        }
        let users: Vec<String> = users.iter().map(id_text).collect::<PyResult<_>>()?;
        let items: Vec<String> = items.iter().map(id_text).collect::<PyResult<_>>()?;
        let m = self.inner.clone();
        Ok(py.detach(|| {
            (users.iter().zip(&items).enumerate())
                .map(|(k, (u, i))| m.predict_at(u, i, times.as_ref().map(|t| t[k])).value)
                .collect()
        }))
    }

    /// [`PyTrainedModel::predict`] for ids joined by the unit separator `\x1f` (one
    /// string per side, no per-id conversion), returning the predictions as
    /// little-endian f32 bytes. A count mismatch (an id holding the separator) is a
    /// `ValueError`.
    fn predict_joined<'py>(
        &self,
        py: Python<'py>,
        users: &str,
        items: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let m = self.inner.clone();
        let bytes = py.detach(|| -> Result<Vec<u8>, String> {
            let (us, is) = (users.split('\x1f'), items.split('\x1f'));
            let mut out = Vec::new();
            let mut pairs = us.zip(is);
            for (u, i) in pairs.by_ref() {
                out.extend_from_slice(&m.predict(u, i).value.to_le_bytes());
            }
            let (nu, ni) = (users.split('\x1f').count(), items.split('\x1f').count());
            if nu != ni {
                return Err(format!("{nu} users but {ni} items"));
            }
            Ok(out)
        });
        let bytes = bytes.map_err(PyValueError::new_err)?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    /// Predictions for the `(user, item)` columns of an Arrow stream (ids as strings or
    /// integers; no Python object per value), as little-endian f32 bytes in row order;
    /// unknown ids get the fallback estimate as in [`PyTrainedModel::predict`]. `time`
    /// names a column of times (Unix seconds, timestamps or dates; a null: none) at
    /// which a model with time features predicts.
    #[pyo3(signature = (stream, user="user", item="item", time=None))]
    fn predict_arrow<'py>(
        &self,
        py: Python<'py>,
        stream: &Bound<'_, PyAny>,
        user: &str,
        item: &str,
        time: Option<&str>,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let reader = arrow_stream(stream)?;
        let m = self.inner.clone();
        let bytes = py
            .detach(|| -> Result<Vec<u8>, String> {
                let (ids, times) = arrow_ids_and_times(reader, &[user, item], time)?;
                let mut out = Vec::with_capacity(ids[0].len() * 4);
                for (k, (u, i)) in ids[0].iter().zip(&ids[1]).enumerate() {
                    let t = times.as_ref().and_then(|t| t[k]);
                    out.extend_from_slice(&m.predict_at(u, i, t).value.to_le_bytes());
                }
                Ok(out)
            })
            .map_err(PyValueError::new_err)?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    /// The top-`n` lists of the users of the `user` column of an Arrow stream, flat:
    /// `(counts, items, scores)` as little-endian bytes — each user's list length (u32),
    /// then every list's item rows (u32, indices into `item_ids`) and scores (f32), in
    /// the users' order. Lists are exactly those of `recommend_many`; an unknown user
    /// gets the popularity fallback.
    #[pyo3(signature = (stream, user="user", n=10, exclude_seen=true, threads=1))]
    fn recommend_arrow<'py>(
        &self,
        py: Python<'py>,
        stream: &Bound<'_, PyAny>,
        user: &str,
        n: usize,
        exclude_seen: bool,
        threads: usize,
    ) -> PyResult<(
        Bound<'py, pyo3::types::PyBytes>,
        Bound<'py, pyo3::types::PyBytes>,
        Bound<'py, pyo3::types::PyBytes>,
    )> {
        let reader = arrow_stream(stream)?;
        let m = self.inner.clone();
        let (counts, items, scores) = py
            .detach(|| -> Result<_, String> {
                let users = arrow_ids(reader, &[user])?.remove(0);
                let lists = m
                    .recommend_rows(&users, n, threads.max(1), exclude_seen)
                    .map_err(|e| e.to_string())?;
                let (mut counts, mut items, mut scores) = (Vec::new(), Vec::new(), Vec::new());
                for list in &lists {
                    counts.extend_from_slice(&(list.items.len() as u32).to_le_bytes());
                    for &(row, score) in &list.items {
                        items.extend_from_slice(&row.to_le_bytes());
                        scores.extend_from_slice(&score.to_le_bytes());
                    }
                }
                Ok((counts, items, scores))
            })
            .map_err(PyValueError::new_err)?;
        Ok((
            pyo3::types::PyBytes::new(py, &counts),
            pyo3::types::PyBytes::new(py, &items),
            pyo3::types::PyBytes::new(py, &scores),
        ))
    }

    /// The `n` best items for a user as `(item, score)`; an unknown user gets the most
    /// popular items (the command line's fallback).
    #[pyo3(signature = (user, n=10, exclude_seen=true))]
    fn recommend(
        &self,
        user: Bound<'_, PyAny>,
        n: usize,
        exclude_seen: bool,
    ) -> PyResult<Vec<(String, f32)>> {
        let user = id_text(&user)?;
        let list = self
            .inner
            .recommend_with(&user, n, exclude_seen)
            .map_err(py_err)?;
        Ok(pairs(list))
    }

    /// The lists of many users at once (blocked scoring on `threads` threads).
    #[pyo3(signature = (users, n=10, threads=1))]
    fn recommend_many<'py>(
        &self,
        py: Python<'py>,
        users: Vec<Bound<'_, PyAny>>,
        n: usize,
        threads: usize,
    ) -> PyResult<Vec<Bound<'py, PyList>>> {
        let users: Vec<String> = users.iter().map(id_text).collect::<PyResult<_>>()?;
        let m = self.inner.clone();
        let lists = py
            .detach(|| m.recommend_rows(&users, n, threads.max(1), true))
            .map_err(py_err)?;
        py_lists(py, &m, lists)
    }

    /// Every user's list (the model's users, in their order): `[(user, [(item, score),
    /// ...]), ...]`.
    #[pyo3(signature = (n=10, threads=1))]
    fn recommend_all<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        threads: usize,
    ) -> PyResult<Vec<(Bound<'py, PyString>, Bound<'py, PyList>)>> {
        let m = self.inner.clone();
        let users = self.inner.users.raw_ids();
        let lists = py
            .detach(|| m.recommend_rows(users, n, threads.max(1), true))
            .map_err(py_err)?;
        Ok(users
            .iter()
            .map(|u| PyString::new(py, u))
            .zip(py_lists(py, &m, lists)?)
            .collect())
    }

    /// The item factors as `(values, rows, K)` (row-major), or None for a kind without.
    fn item_factors_flat(&self) -> Option<(Vec<f32>, usize, usize)> {
        let (q, k) = self.inner.model.item_factors()?;
        Some((q.to_vec(), q.len() / k, k))
    }

    /// Raw item ids, in row order.
    #[getter]
    fn item_ids(&self) -> Vec<String> {
        self.inner.items.raw_ids().to_vec()
    }

    /// Raw user ids, in row order.
    #[getter]
    fn user_ids(&self) -> Vec<String> {
        self.inner.users.raw_ids().to_vec()
    }

    /// The `n` items most similar to `item`.
    #[pyo3(signature = (item, n=10))]
    fn similar_items(&self, item: Bound<'_, PyAny>, n: usize) -> PyResult<Vec<(String, f32)>> {
        let item = id_text(&item)?;
        if self.inner.item_index(&item).is_none() {
            return Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "item {item} is unknown to the model"
            )));
        }
        Ok(pairs(self.inner.similar(&item, n).map_err(py_err)?))
    }

    /// The `n` best items for a new user given `(item, rating)` pairs (fold-in with the
    /// model frozen); items the model does not know are skipped.
    #[pyo3(signature = (ratings, n=10))]
    fn fold_in(
        &self,
        ratings: Vec<(Bound<'_, PyAny>, f32)>,
        n: usize,
    ) -> PyResult<Vec<(String, f32)>> {
        let ratings: Vec<(String, f32)> = ratings
            .iter()
            .map(|(i, r)| Ok((id_text(i)?, *r)))
            .collect::<PyResult<_>>()?;
        let (user, _) = self.inner.fold_in(&ratings).map_err(py_err)?;
        Ok(pairs(
            self.inner.recommend_folded(&user, n).map_err(py_err)?,
        ))
    }

    /// Metrics on `test` as JSON text, keyed as `embedrec eval --json`.
    #[pyo3(signature = (test, k=10, threshold=Some(4.0), protocol="full"))]
    fn evaluate_json(
        &self,
        py: Python<'_>,
        test: &PyDataset,
        k: usize,
        threshold: Option<f32>,
        protocol: &str,
    ) -> PyResult<String> {
        let protocol = match protocol {
            "full" => Protocol::Full,
            "sampled" => Protocol::Sampled,
            other => {
                return Err(PyValueError::new_err(format!(
                    "protocol is 'full' or 'sampled', got '{other}'"
                )));
            }
        };
        let options = EvalOptions {
            k,
            threshold,
            protocol,
        };
        let (m, data) = (self.inner.clone(), test.inner.clone());
        let e = py
            .detach(|| m.evaluate_with(&data, &options))
            .map_err(py_err)?;
        Ok(e.to_json().to_string())
    }

    /// Writes the model file (the same format as `embedrec train --out`).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let m = self.inner.clone();
        py.detach(|| m.save(&path)).map_err(py_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "TrainedModel(kind={:?}, users={}, items={})",
            self.inner.model.kind(),
            self.inner.users.len(),
            self.inner.items.len()
        )
    }
}

/// Reads a model file written by `save` or by `embedrec train --out`.
#[pyfunction]
fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<PyTrainedModel> {
    let m = py.detach(|| TrainedModel::load(&path)).map_err(py_err)?;
    Ok(PyTrainedModel { inner: Arc::new(m) })
}

/// The full params of a kind as JSON text: its defaults (or a preset) with `params_json`
/// (names and values) laid over them, checked.
#[pyfunction]
#[pyo3(signature = (kind, preset, params_json, implicit=false))]
fn resolve_params(
    kind: &str,
    preset: Option<&str>,
    params_json: &str,
    implicit: bool,
) -> PyResult<String> {
    let over: serde_json::Value = serde_json::from_str(params_json)
        .map_err(|e| PyValueError::new_err(format!("params: {e}")))?;
    let p = params_for(kind, preset, &named(kind, implicit, &over)?, implicit).map_err(py_err)?;
    Ok(p.to_json().to_string())
}

/// Keyword arguments (CLI flag names with `_`, or params field names) as params fields
/// ([`embedrec::models::flags::fields_of_named`]).
fn named(kind: &str, implicit: bool, over: &serde_json::Value) -> PyResult<serde_json::Value> {
    let k = embedrec::models::kind(kind).map_err(PyValueError::new_err)?;
    // A kind that trains on implicit feedback only takes its implicit flags.
    let implicit = implicit || !k.trains_on_ratings();
    embedrec::models::flags::fields_of_named(k, implicit, over).map_err(py_err)
}

/// Presets of a kind.
#[pyfunction]
fn presets(kind: &str) -> PyResult<Vec<&'static str>> {
    Ok(embedrec::models::kind(kind)
        .map_err(PyValueError::new_err)?
        .presets
        .to_vec())
}

/// Trains a model of `kind` on `train`, the Python thread released while Rust works;
/// Ctrl-C stops it within one epoch (KeyboardInterrupt). With `verbose`, a progress bar
/// on stderr when it is a terminal, else one line per epoch.
#[pyfunction]
#[pyo3(signature = (kind, preset, params_json, train, valid=None, implicit=false, verbose=false, watch=None))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    kind: &str,
    preset: Option<&str>,
    params_json: &str,
    train: &PyDataset,
    valid: Option<&PyDataset>,
    implicit: bool,
    verbose: bool,
    watch: Option<&PyDataset>,
) -> PyResult<PyTrainedModel> {
    let over: serde_json::Value = serde_json::from_str(params_json)
        .map_err(|e| PyValueError::new_err(format!("params: {e}")))?;
    let params =
        params_for(kind, preset, &named(kind, implicit, &over)?, implicit).map_err(py_err)?;
    let train = train.inner.clone();
    let valid = valid.map(|v| v.inner.clone());
    let watch = watch.map(|w| w.inner.clone());
    let interrupted: Mutex<Option<PyErr>> = Mutex::new(None);
    let bar = embedrec::train::EpochBar::new(verbose);
    let on_epoch = |e: &EpochStats, _: &dyn Recommender| -> embedrec::Result<()> {
        if verbose {
            let figure = match (e.train_rmse, e.val_rmse, e.watch_ndcg) {
                (_, Some(v), _) => format!("validation RMSE {v:.4}"),
                (Some(t), None, _) => format!("train RMSE {t:.4}"),
                (None, None, Some(n)) => format!("watched NDCG@10 {n:.4}"),
                _ => String::new(),
            };
            if bar.is_drawn() {
                bar.epoch(e.epochs, Some(figure));
            } else {
                eprintln!(
                    "epoch {}/{} {figure} ({:.2} s)",
                    e.epoch, e.epochs, e.seconds
                );
            }
        }
        if let Err(err) = Python::attach(|py| py.check_signals()) {
            *interrupted.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
            return Err(Error::Usage("interrupted".into()));
        }
        Ok(())
    };
    let result = py.detach(|| {
        let options = FitOptions {
            validation: match &valid {
                Some(v) => Validation::Data(v),
                None => Validation::Params,
            },
            watch: watch.as_deref(),
            on_epoch: Some(&on_epoch),
            ..FitOptions::default()
        };
        params.fit(&train, &options)
    });
    bar.finish();
    if let Some(err) = interrupted.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(err);
    }
    // A signal that arrived during a kind without epochs is raised now.
    py.check_signals()?;
    let model = result.map_err(py_err)?;
    Ok(PyTrainedModel {
        inner: Arc::new(model),
    })
}

/// Trains a model of `kind` on fold `fold` (1-based) of `data` and scores it on the
/// held-out part, as `embedrec cv` (`folds` >= 2: a seeded K-fold split) and `embedrec
/// search` (`folds` 1: a random holdout of `val_share`) do; with `k`, the ranking
/// metrics at that cut-off too (relevance from `threshold`, None: every held-out
/// item). Returns the figures as JSON text keyed as `eval --json`. The Python thread is
/// released while it trains.
#[pyfunction]
#[pyo3(signature = (kind, preset, params_json, data, folds, fold, seed=42, k=None, threshold=Some(4.0), implicit=false, val_share=0.1))]
#[allow(clippy::too_many_arguments)]
fn fold_metrics(
    py: Python<'_>,
    kind: &str,
    preset: Option<&str>,
    params_json: &str,
    data: &PyDataset,
    folds: usize,
    fold: usize,
    seed: u64,
    k: Option<usize>,
    threshold: Option<f32>,
    implicit: bool,
    val_share: f64,
) -> PyResult<String> {
    use embedrec::eval::folds::{Folds, Ranked};
    let over: serde_json::Value = serde_json::from_str(params_json)
        .map_err(|e| PyValueError::new_err(format!("params: {e}")))?;
    let params =
        params_for(kind, preset, &named(kind, implicit, &over)?, implicit).map_err(py_err)?;
    let folds = if folds == 1 {
        Folds::Holdout(val_share)
    } else {
        Folds::KFold(folds)
    };
    let ranked = k.map(|k| Ranked { k, threshold });
    let data = data.inner.clone();
    let m = py
        .detach(|| {
            embedrec::eval::folds::fold_metrics(params.as_ref(), &data, folds, fold, seed, ranked)
        })
        .map_err(py_err)?;
    Ok(m.to_json().to_string())
}

/// Draws train and test RMSE per epoch into an SVG (labelled) or PNG (no text) file.
#[pyfunction]
fn plot_learning_curve(
    path: PathBuf,
    title: &str,
    epochs: Vec<usize>,
    train: Vec<f64>,
    test: Vec<f64>,
) -> PyResult<()> {
    embedrec::plot::learning_curve(&path, title, &epochs, &train, &test).map_err(py_err)
}

#[pymodule]
fn _embedrec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(plot_learning_curve, m)?)?;
    m.add_class::<PyDataset>()?;
    m.add_class::<PyTrainedModel>()?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_params, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(fold_metrics, m)?)?;
    Ok(())
}

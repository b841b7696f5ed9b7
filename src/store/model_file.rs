//! The model file: one [safetensors](https://github.com/huggingface/safetensors) file
//! holding a trained model and everything needed to use it without the training data.
//!
//! Format version 3 ([`FORMAT_VERSION`]): the tensors of the model's kind, as its
//! [`crate::models::Model::tensors`] (f32) and [`crate::models::Model::int_tensors`]
//! (u32) name them and its loader in [`crate::models::REGISTRY`] reads them back, plus
//! `rated_offsets` / `rated_items` (each user's training items, CSR) in every file. The
//! safetensors `__metadata__` map holds the JSON metadata under [`METADATA_KEY`] (format
//! version, kind, params, feedback, raw ids, scale, clip, titles, training info, and the
//! fingerprint: an MD5 of the training triples) and, under [`CHECKSUM_KEY`], an MD5 over
//! that metadata text and every tensor's name, dtype, shape and data ([`file_checksum`]).
//! [`load`] verifies the checksum, then every tensor's presence, dtype and shape against
//! the ids and the params, and answers [`Error::BadInput`] naming the file and the
//! problem, never a panic. Versions 1 and 2 are still read, with their tensors-only
//! `data_md5`.
//!
//! The layout of every kind, the metadata keys, the checksum and the older versions are
//! documented in `docs/model-file.md`.

use super::write_atomically;
use crate::data::{IdMap, RatingScale, TrainTest};
use crate::error::{Error, Result};
use crate::model::{Feedback, Recommender};
pub use crate::model::{TrainedModel, TrainingInfo, fingerprint_of};
use crate::models::{TensorFile, Tensors};
use md5::{Digest, Md5};
use safetensors::{Dtype, SafeTensors, View};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// The model-file format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 3;

/// The oldest format version this build reads: version 1 files lack `feedback`, which
/// is then derived as version 1 writers decided it (see [`legacy_feedback`]); versions
/// 1 and 2 carry only the tensors' `data_md5` (see the module docs).
pub const OLDEST_FORMAT_VERSION: u64 = 1;

/// The key of the safetensors `__metadata__` map holding embedrec's JSON metadata.
pub const METADATA_KEY: &str = "embedrec";

/// The key of the safetensors `__metadata__` map holding the file's checksum (format
/// version 3): see [`file_checksum`].
pub const CHECKSUM_KEY: &str = "embedrec_checksum";

impl TrainedModel {
    /// Writes the model file to `path` atomically (see [`save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save(path.as_ref(), self)
    }

    /// Reads and validates a model file (see [`load`]).
    pub fn load(path: impl AsRef<Path>) -> Result<TrainedModel> {
        load(path.as_ref())
    }

    /// The model file's bytes. Fails ([`Error::Usage`]) when the model is inconsistent
    /// (e.g. non-finite weights after a diverged training run).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.encode().map_err(Error::Usage)
    }

    /// Reads a model file's bytes; `file` is only used in error messages. See [`load`].
    pub fn from_bytes(bytes: &[u8], file: &Path) -> Result<TrainedModel> {
        decode(bytes).map_err(|m| Error::bad_input(file, m))
    }

    /// Every invariant that [`load`] guarantees, on the decoded struct.
    fn check(&self) -> Result<(), String> {
        let (u, i) = (self.model.n_users() as usize, self.model.n_items() as usize);
        if self.users.len() != u || self.items.len() != i {
            return Err(format!(
                "{} user ids and {} item ids for a model of {u} users and {i} items",
                self.users.len(),
                self.items.len()
            ));
        }
        if self.titles.len() != i {
            return Err(format!("{} titles for {i} items", self.titles.len()));
        }
        let s = self.scale;
        if !(s.min.is_finite() && s.max.is_finite() && s.min < s.max) {
            return Err(format!("invalid rating scale {}..{}", s.min, s.max));
        }
        if self.fingerprint.len() != 32 || !self.fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(format!(
                "fingerprint `{}` is not 32 hex digits",
                self.fingerprint
            ));
        }
        if !(self.training.train_seconds.is_finite() && self.training.train_seconds >= 0.0) {
            return Err("training.train_seconds must be a finite number >= 0".into());
        }
        for t in self.model.tensors() {
            if let Some(k) = t.data.iter().position(|x| !x.is_finite()) {
                return Err(format!(
                    "tensor `{}` has a non-finite value at position {k}",
                    t.name
                ));
            }
        }
        let offsets = &self.rated_offsets;
        if offsets.len() != u + 1 || offsets[0] != 0 {
            return Err(format!(
                "tensor `rated_offsets` must hold {} offsets starting at 0",
                u + 1
            ));
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) || offsets[u] != self.rated_items.len() {
            return Err(format!(
                "tensor `rated_offsets` must rise monotonically to {} (the length of `rated_items`)",
                self.rated_items.len()
            ));
        }
        for user in 0..u {
            let list = &self.rated_items[offsets[user]..offsets[user + 1]];
            if let Some(&bad) = list.iter().find(|&&x| x as usize >= i) {
                return Err(format!(
                    "tensor `rated_items`: item {bad} of user row {user} is out of range (items: {i})"
                ));
            }
            if list.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!(
                    "tensor `rated_items`: the items of user row {user} are not strictly ascending"
                ));
            }
        }
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>, String> {
        self.check()
            .map_err(|m| format!("cannot save the model: {m}"))?;
        let mut tensors: Vec<RawTensor> = self
            .model
            .tensors()
            .into_iter()
            .map(|t| RawTensor {
                name: t.name.to_string(),
                dtype: Dtype::F32,
                shape: t.shape,
                bytes: t.data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            })
            .collect();
        for (name, ints) in self.model.int_tensors() {
            tensors.push(RawTensor {
                name,
                dtype: Dtype::U32,
                shape: vec![ints.len()],
                bytes: ints.iter().flat_map(|x| x.to_le_bytes()).collect(),
            });
        }
        tensors.push(RawTensor {
            name: "rated_offsets".into(),
            dtype: Dtype::I64,
            shape: vec![self.rated_offsets.len()],
            bytes: self
                .rated_offsets
                .iter()
                .flat_map(|&o| (o as i64).to_le_bytes())
                .collect(),
        });
        tensors.push(RawTensor {
            name: "rated_items".into(),
            dtype: Dtype::U32,
            shape: vec![self.rated_items.len()],
            bytes: self
                .rated_items
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
        });
        let meta = json!({
            "format_version": FORMAT_VERSION,
            "kind": self.model.kind(),
            "params": self.params,
            "users": self.users.raw_ids(),
            "items": self.items.raw_ids(),
            "scale": self.scale,
            "clip": self.clip,
            "feedback": self.feedback,
            "titles": self.titles,
            "fingerprint": self.fingerprint,
            "training": self.training,
        });
        encode_raw(meta, tensors)
    }
}

/// MD5 (lowercase hex) of `split.train` as (user index, item index, value bits) triples,
/// each a little-endian u32, in rating order.
pub fn fingerprint(split: &TrainTest) -> String {
    fingerprint_of(&split.train)
}

/// Whether a saved model was trained on implicit feedback: its scores are preferences,
/// not ratings.
pub fn is_implicit_model(saved: &TrainedModel) -> bool {
    saved.feedback == Feedback::Preferences
}

/// The feedback of a format-version-1 file, which did not store it: ials, ease and
/// popularity scored preferences, and so did mf, deep and neumf trained with a ranking
/// loss (their params name it); every other model scored ratings.
fn legacy_feedback(kind: &str, params: &Value) -> Feedback {
    let ranking_loss = params
        .get("loss")
        .and_then(|l| l.as_str())
        .is_some_and(|l| l.parse::<crate::models::RankLoss>().is_ok());
    if matches!(kind, "ials" | "ease" | "popularity") || ranking_loss {
        Feedback::Preferences
    } else {
        Feedback::Ratings
    }
}

/// Writes `model` to `path` atomically (a temporary file renamed over the target, so a
/// failed save leaves any previous file intact).
///
/// ```
/// use embedrec::data::{synthetic, TrainTest};
/// use embedrec::models::{BaselineParams, Recommender};
/// use embedrec::models::Feedback;
/// use embedrec::store::{self, TrainedModel};
///
/// let params = synthetic::SynthParams { users: 30, items: 40, ratings: 600, ..Default::default() };
/// let data = synthetic::generate(&params).unwrap().dataset;
/// let n = data.ratings.len();
/// let (train, test): (Vec<usize>, Vec<usize>) = ((0..n - 50).collect(), (n - 50..n).collect());
/// let split = TrainTest::from_indices(&data, &train, &test);
/// let p = BaselineParams::default();
/// let model = p.train(&split.train, split.train_users, split.train_items, |_, _| Ok(())).unwrap();
/// let saved = TrainedModel::new(model.into(), serde_json::json!(p), Feedback::Ratings, &split, &data, true, 0.1, 10).unwrap();
///
/// let path = std::env::temp_dir().join(format!("embedrec-doc-save-{}.safetensors", std::process::id()));
/// store::save(&path, &saved).unwrap();
/// let back = store::load(&path).unwrap();
/// assert_eq!(back, saved);
/// let raw_user = saved.users.raw(0);
/// let raw_item = saved.items.raw(0);
/// assert_eq!(back.predict_raw(raw_user, raw_item), saved.predict_raw(raw_user, raw_item));
/// assert!(back.predict_raw("no such user", raw_item).fallback);
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn save(path: &Path, model: &TrainedModel) -> Result<()> {
    let bytes = model.encode().map_err(|m| Error::bad_input(path, m))?;
    write_atomically(path, &bytes)
}

/// Reads and validates a model file: the safetensors header, the `embedrec` metadata,
/// the format version and kind, every tensor's presence, dtype and shape against the id
/// counts and K, finite weights, the data checksum, and the rated-items CSR. Any problem
/// is an [`Error::BadInput`] naming the file (exit code 2); a missing file is an
/// [`Error::Io`] (exit code 2 too).
///
/// ```
/// use embedrec::store;
/// let path = std::env::temp_dir().join(format!("embedrec-doc-load-{}.bin", std::process::id()));
/// std::fs::write(&path, b"certainly not a model").unwrap();
/// let err = store::load(&path).unwrap_err();
/// assert_eq!(err.exit_code(), 2);
/// assert!(err.to_string().contains("embedrec-doc-load"));
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn load(path: &Path) -> Result<TrainedModel> {
    let bytes = crate::files::read_regular_file(path)?;
    TrainedModel::from_bytes(&bytes, path)
}

/// [`load`], and the MD5 (lowercase hex) of the file's bytes as read ([`file_md5`]):
/// what identifies the model file itself (two models trained on the same data share
/// their `fingerprint`, not this).
pub fn load_identified(path: &Path) -> Result<(TrainedModel, String)> {
    let bytes = crate::files::read_regular_file(path)?;
    let model = TrainedModel::from_bytes(&bytes, path)?;
    Ok((model, file_md5(&bytes)))
}

/// The MD5 (lowercase hex) of a model file's bytes, as `md5sum` prints it.
pub fn file_md5(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

/// The JSON metadata as stored (owned, for reading).
#[derive(serde::Deserialize)]
struct Meta {
    kind: String,
    params: Value,
    users: Vec<String>,
    items: Vec<String>,
    scale: RatingScale,
    clip: bool,
    #[serde(default)]
    feedback: Option<Feedback>,
    titles: Vec<Option<String>>,
    fingerprint: String,
    #[serde(default)]
    data_md5: Option<String>,
    training: TrainingInfo,
}

/// The tensors of a file being read, as a kind's loader asks for them: each name
/// checked for presence and dtype, and remembered.
struct FileTensors<'a> {
    views: &'a HashMap<&'a str, (Dtype, &'a [usize], &'a [u8])>,
    kind: &'a str,
    read: Vec<String>,
}

impl FileTensors<'_> {
    fn words(&mut self, name: &str, want: Dtype) -> Result<(Vec<usize>, Vec<[u8; 4]>), String> {
        let &(dtype, shape, bytes) = self
            .views
            .get(name)
            .ok_or_else(|| format!("missing tensor `{name}` (a {} model needs it)", self.kind))?;
        if dtype != want {
            return Err(format!(
                "tensor `{name}` has dtype {dtype}, expected {want}"
            ));
        }
        self.read.push(name.to_string());
        Ok((
            shape.to_vec(),
            bytes
                .chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect(),
        ))
    }
}

impl TensorFile for FileTensors<'_> {
    fn f32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
        let (shape, words) = self.words(name, Dtype::F32)?;
        Ok((shape, words.into_iter().map(f32::from_le_bytes).collect()))
    }
    fn u32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<u32>), String> {
        let (shape, words) = self.words(name, Dtype::U32)?;
        Ok((shape, words.into_iter().map(u32::from_le_bytes).collect()))
    }
    fn has(&self, name: &str) -> bool {
        self.views.contains_key(name)
    }
}

/// One tensor to write.
struct RawTensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 over `(name, data)` pairs in name order: the tensors-only checksum of format
/// versions 1 and 2 (`data_md5`), still verified when such a file is read.
fn data_md5<'a>(tensors: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut sorted: Vec<_> = tensors.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Md5::new();
    for (name, data) in sorted {
        h.update(name.as_bytes());
        h.update(data);
    }
    hex(&h.finalize())
}

/// The checksum of a format-version-3 file (MD5, lowercase hex) over everything that
/// determines an answer: the domain tag `embedrec model file v3`, then the exact text
/// of the `embedrec` metadata (every field: kind, params, feedback, ids, scale, clip,
/// titles, fingerprint, training), then every tensor in name order as its name, dtype,
/// shape and data bytes; each piece is preceded by its length (u64 LE) so that no two
/// different files hash the same input. It detects corruption and accidental edits
/// (it is not a signature: whoever can write the file can recompute it).
pub fn file_checksum<'a>(
    metadata: &str,
    tensors: impl IntoIterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
) -> String {
    let mut h = Md5::new();
    let mut piece = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    piece(b"embedrec model file v3");
    piece(metadata.as_bytes());
    let mut sorted: Vec<_> = tensors.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (name, dtype, shape, data) in sorted {
        piece(name.as_bytes());
        piece(dtype.to_string().as_bytes());
        let dims: Vec<u8> = shape
            .iter()
            .flat_map(|&d| (d as u64).to_le_bytes())
            .collect();
        piece(&dims);
        piece(data);
    }
    hex(&h.finalize())
}

/// Serializes `tensors` with `meta` (a JSON object) and the checksum of both under
/// [`CHECKSUM_KEY`] (format version 3).
fn encode_raw(meta: Value, tensors: Vec<RawTensor>) -> Result<Vec<u8>, String> {
    let text = meta.to_string();
    let sum = file_checksum(
        &text,
        tensors
            .iter()
            .map(|t| (t.name.as_str(), t.dtype, &t.shape[..], &t.bytes[..])),
    );
    let info = HashMap::from([
        (METADATA_KEY.to_string(), text),
        (CHECKSUM_KEY.to_string(), sum),
    ]);
    safetensors::serialize(tensors.iter().map(|t| (t.name.as_str(), t)), Some(info))
        .map_err(|e| format!("cannot serialize the model: {e}"))
}

/// Rejects headers whose tensor offsets lie past the end of the buffer before the
/// safetensors parser sees them (its end-of-data sum can overflow on such offsets).
fn precheck_offsets(bytes: &[u8]) -> Result<(), String> {
    let Some(head) = bytes.get(..8) else {
        return Ok(());
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(head);
    let header = usize::try_from(u64::from_le_bytes(n))
        .ok()
        .and_then(|n| bytes.get(8..8usize.checked_add(n)?));
    let Some(header) = header else {
        return Ok(());
    };
    let Ok(map) = serde_json::from_slice::<serde_json::Map<String, Value>>(header) else {
        return Ok(());
    };
    for (name, info) in &map {
        let offsets = info.get("data_offsets").and_then(Value::as_array);
        for o in offsets.into_iter().flatten() {
            if o.as_u64().is_some_and(|o| o > bytes.len() as u64) {
                return Err(format!(
                    "tensor `{name}`: data offsets lie past the end of the file ({} bytes): \
                     the file is truncated or corrupt",
                    bytes.len()
                ));
            }
        }
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<TrainedModel, String> {
    precheck_offsets(bytes)?;
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        format!("not a valid model file (safetensors: {e}); is it truncated or of another format?")
    })?;
    let data = bytes
        .get(8 + n..)
        .ok_or("not a valid model file: header past the end")?;
    let text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| {
            format!("no `{METADATA_KEY}` metadata: a safetensors file, but not an embedrec model")
        })?;
    // Every tensor of the file, by name.
    let present = header.tensors();
    let mut views: HashMap<&str, (Dtype, &[usize], &[u8])> = HashMap::new();
    for name in present.keys() {
        let info = header
            .info(name)
            .ok_or_else(|| format!("missing tensor `{name}`"))?;
        let (s, e) = info.data_offsets;
        let slice = data
            .get(s..e)
            .ok_or_else(|| format!("tensor `{name}`: data offsets out of range"))?;
        views.insert(name.as_str(), (info.dtype, &info.shape, slice));
    }
    // The whole-file checksum first, whatever the version says: a file that carries
    // one is verified against it (so a flipped `format_version` cannot skip it).
    let stored_sum = header.metadata().as_ref().and_then(|m| m.get(CHECKSUM_KEY));
    if let Some(stored) = stored_sum {
        let actual = file_checksum(text, views.iter().map(|(k, v)| (*k, v.0, v.1, v.2)));
        if &actual != stored {
            return Err(format!(
                "checksum mismatch: the file's content hashes to {actual}, its `{CHECKSUM_KEY}` \
                 says {stored}: the file is corrupt or was edited"
            ));
        }
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("`{METADATA_KEY}` metadata is not valid JSON: {e}"))?;
    let version = match value.get("format_version").map(|v| (v, v.as_u64())) {
        None => return Err("metadata has no `format_version`".into()),
        Some((_, Some(v))) if (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) => v,
        Some((v, _)) => {
            return Err(format!(
                "unsupported model format version {v} (this embedrec reads versions \
                 {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})"
            ));
        }
    };
    let meta: Meta = serde_json::from_value(value)
        .map_err(|e| format!("invalid `{METADATA_KEY}` metadata: {e}"))?;
    match (stored_sum, version, &meta.data_md5) {
        (Some(_), _, _) => {}
        (None, FORMAT_VERSION, _) => {
            return Err(format!(
                "no `{CHECKSUM_KEY}`: a format version {FORMAT_VERSION} file must carry its \
                 checksum; the file is corrupt or was edited"
            ));
        }
        // Versions 1 and 2: their tensors-only checksum (the metadata is not covered).
        (None, _, Some(stored)) => {
            let actual = data_md5(views.iter().map(|(k, v)| (*k, v.2)));
            if &actual != stored {
                return Err(format!(
                    "checksum mismatch: the tensors' MD5 is {actual}, the metadata says \
                     {stored}: the file is corrupt"
                ));
            }
        }
        (None, _, None) => {
            return Err(format!(
                "no checksum: a format version {version} file must carry `data_md5` \
                 in its metadata"
            ));
        }
    }
    // The kind's loader reads the tensors it needs; any it did not read is refused.
    let kind = crate::models::kind(&meta.kind)?;
    for name in ["rated_offsets", "rated_items"] {
        if !views.contains_key(name) {
            return Err(format!("missing tensor `{name}` (every model file has it)"));
        }
    }

    let users = unique_ids(&meta.users, "user")?;
    let items = unique_ids(&meta.items, "item")?;
    let (n_users, n_items) = (users.len(), items.len());
    let mut file = FileTensors {
        views: &views,
        kind: &meta.kind,
        read: Vec::new(),
    };
    let model = (kind.load)(&meta.params, n_users, n_items, &mut Tensors::new(&mut file))?;
    let mut extra: Vec<&str> = views
        .keys()
        .copied()
        .filter(|k| {
            !file.read.iter().any(|r| r == k) && !matches!(*k, "rated_offsets" | "rated_items")
        })
        .collect();
    extra.sort();
    if let Some(name) = extra.first() {
        return Err(format!(
            "unexpected tensor `{name}` in a {} model",
            meta.kind
        ));
    }

    let view = |name: &str| {
        views
            .get(name)
            .copied()
            .ok_or_else(|| format!("missing tensor `{name}`"))
    };
    let (dtype, shape, bytes) = view("rated_items")?;
    if dtype != Dtype::U32 || shape.len() != 1 {
        return Err(format!(
            "tensor `rated_items` has dtype {dtype} and shape {shape:?}, expected U32 [R]"
        ));
    }
    let rated_items: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let (dtype, shape, bytes) = view("rated_offsets")?;
    if dtype != Dtype::I64 || shape != [n_users + 1] {
        return Err(format!(
            "tensor `rated_offsets` has dtype {dtype} and shape {shape:?}, expected I64 [{}]",
            n_users + 1
        ));
    }
    let rated_offsets = bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            usize::try_from(i64::from_le_bytes(b))
                .ok()
                .filter(|&o| o <= rated_items.len())
                .ok_or_else(|| {
                    format!(
                        "tensor `rated_offsets`: offset {} outside 0..={}",
                        i64::from_le_bytes(b),
                        rated_items.len()
                    )
                })
        })
        .collect::<Result<Vec<usize>, String>>()?;

    let feedback = match (meta.feedback, version) {
        (Some(f), _) => f,
        (None, 1) => legacy_feedback(model.kind(), &meta.params),
        (None, _) => return Err("metadata has no `feedback` (ratings or preferences)".into()),
    };
    let saved = TrainedModel {
        model,
        params: meta.params,
        users,
        items,
        scale: meta.scale,
        clip: meta.clip,
        feedback,
        history: Vec::new(),
        titles: meta.titles,
        fingerprint: meta.fingerprint,
        training: meta.training,
        rated_offsets,
        rated_items,
    };
    saved.check()?;
    Ok(saved)
}

fn unique_ids(raw: &[String], what: &str) -> Result<IdMap, String> {
    let map = IdMap::from_raw(raw);
    if map.len() != raw.len() {
        let dup = raw
            .iter()
            .enumerate()
            .find(|(k, id)| map.index_of(id) != Some(*k as u32))
            .map_or("?", |(_, id)| id.as_str());
        return Err(format!("duplicate {what} id `{dup}` in the metadata"));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::data::synthetic::{SynthParams, generate};
    use crate::models::{BaselineParams, DeepParams, MfParams};
    use crate::train::EvalSets;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn data() -> &'static (Dataset, TrainTest) {
        static DATA: OnceLock<(Dataset, TrainTest)> = OnceLock::new();
        DATA.get_or_init(|| {
            let p = SynthParams {
                users: 40,
                items: 60,
                ratings: 900,
                seed: 5,
                ..SynthParams::default()
            };
            let data = generate(&p).unwrap().dataset;
            let (train, test) = crate::data::split::random_holdout(data.ratings.len(), 0.2, 1);
            let split = TrainTest::from_indices(&data, &train, &test);
            (data, split)
        })
    }

    fn baseline() -> TrainedModel {
        let (data, split) = data();
        let p = BaselineParams::default();
        let m = p
            .train(
                &split.train,
                split.train_users,
                split.train_items,
                |_, _| Ok(()),
            )
            .unwrap();
        TrainedModel::new(
            m.into(),
            json!(p),
            Feedback::Ratings,
            split,
            data,
            true,
            0.5,
            10,
        )
        .unwrap()
    }

    fn mf() -> TrainedModel {
        let (data, split) = data();
        let p = MfParams {
            dim: 6,
            epochs: 3,
            ..MfParams::default()
        };
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: None,
            clip: None,
        };
        let (m, h) = p
            .train(sets, split.train_users, split.train_items, |_, _| Ok(()))
            .unwrap();
        TrainedModel::new(
            m.into(),
            json!(p),
            Feedback::Ratings,
            split,
            data,
            false,
            0.25,
            h.epochs.len(),
        )
        .unwrap()
    }

    /// The implicit-feedback kinds: iALS, MF with a ranking loss, popularity.
    fn implicit_models() -> Vec<TrainedModel> {
        use crate::models::{EaseParams, IalsParams, MfRankParams, Popularity};
        let (data, split) = data();
        let (u, i) = (split.train_users, split.train_items);
        let ip = IalsParams {
            dim: 5,
            iterations: 2,
            ..IalsParams::default()
        };
        let ials = ip.train(&split.train, u, i, |_, _| Ok(())).unwrap();
        let rp = MfRankParams {
            dim: 4,
            epochs: 2,
            ..MfRankParams::default()
        };
        let warp = rp.train(&split.train, u, i, |_, _| Ok(())).unwrap();
        let pop = Popularity::train(&split.train, u, i);
        let ep = EaseParams {
            l2: 3.0,
            ..EaseParams::default()
        };
        let ease = ep.train(&split.train, u, i).unwrap();
        vec![
            TrainedModel::new(
                ease.into(),
                json!(ep),
                Feedback::Preferences,
                split,
                data,
                false,
                0.1,
                0,
            )
            .unwrap(),
            TrainedModel::new(
                ials.into(),
                json!(ip),
                Feedback::Preferences,
                split,
                data,
                false,
                0.1,
                2,
            )
            .unwrap(),
            TrainedModel::new(
                warp.into(),
                json!(rp),
                Feedback::Preferences,
                split,
                data,
                false,
                0.1,
                2,
            )
            .unwrap(),
            TrainedModel::new(
                pop.into(),
                json!({}),
                Feedback::Preferences,
                split,
                data,
                false,
                0.0,
                0,
            )
            .unwrap(),
        ]
    }

    /// A small deep model with a user variable and a multi-valued item variable.
    fn deep() -> TrainedModel {
        let (data, split) = data();
        let p = DeepParams {
            dim: 4,
            hidden: vec![5, 3],
            epochs: 2,
            features: vec![("occupation".into(), 2), ("genres".into(), 3)],
            product: true,
            bias_shortcut: true,
            ..DeepParams::default()
        };
        let sides = crate::models::deep::side_inputs(&p.features, data, split).unwrap();
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: None,
            clip: None,
        };
        let (m, h) = p
            .train(sets, split.train_users, split.train_items, sides, |_, _| {
                Ok(())
            })
            .unwrap();
        TrainedModel::new(
            m.into(),
            json!(p),
            Feedback::Ratings,
            split,
            data,
            true,
            0.25,
            h.epochs.len(),
        )
        .unwrap()
    }

    /// A small NeuMF model with two hidden layers in its MLP tower.
    fn neumf() -> TrainedModel {
        let (data, split) = data();
        let p = crate::models::NeuMfParams {
            dim: 3,
            mlp_dim: 2,
            hidden: vec![4, 3],
            epochs: 2,
            ..Default::default()
        };
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: None,
            clip: None,
        };
        let (m, h) = p
            .train(sets, split.train_users, split.train_items, |_, _| Ok(()))
            .unwrap();
        TrainedModel::new(
            m.into(),
            json!(p),
            Feedback::Ratings,
            split,
            data,
            true,
            0.25,
            h.epochs.len(),
        )
        .unwrap()
    }

    /// A fusion unit of the wrong width is named.
    #[test]
    fn neumf_bad_fusion_shape_is_named() {
        let bytes = neumf().to_bytes().unwrap();
        let (meta, mut tensors) = parts(&bytes);
        let t = tensors
            .iter_mut()
            .find(|t| t.name == "fuse.weight")
            .expect("fusion saved");
        t.shape = vec![2, 1];
        t.bytes.truncate(8);
        let msg = err(&encode_raw(meta, tensors).unwrap());
        assert!(msg.contains("fuse.weight"), "{msg}");
    }

    #[test]
    fn deep_round_trip_and_bad_lookups() {
        let saved = deep();
        let bytes = saved.to_bytes().unwrap();
        let back = TrainedModel::from_bytes(&bytes, Path::new("x")).unwrap();
        assert!(back == saved, "deep model changed in the round trip");
        // A level index past the table is a named error, not a panic.
        let (meta, mut tensors) = parts(&bytes);
        let t = tensors
            .iter_mut()
            .find(|t| t.name == "user.occupation.levels")
            .expect("lookup saved");
        t.bytes[..4].copy_from_slice(&1000u32.to_le_bytes());
        let msg = err(&encode_raw(meta, tensors).unwrap());
        assert!(msg.contains("occupation"), "{msg}");
        // A dense layer of the wrong shape is named.
        let (meta, mut tensors) = parts(&bytes);
        let t = tensors
            .iter_mut()
            .find(|t| t.name == "dense1.bias")
            .unwrap();
        t.shape = vec![2];
        t.bytes.truncate(8);
        let msg = err(&encode_raw(meta, tensors).unwrap());
        assert!(msg.contains("dense1.bias"), "{msg}");
    }

    fn err(bytes: &[u8]) -> String {
        match TrainedModel::from_bytes(bytes, Path::new("m.safetensors")) {
            Ok(_) => panic!("loaded a bad file"),
            Err(e) => {
                assert_eq!(e.exit_code(), 2);
                let s = e.to_string();
                assert!(s.starts_with("m.safetensors: "), "{s}");
                s
            }
        }
    }

    /// The file's tensors (as raw) and metadata (without `data_md5`), for rewriting.
    fn parts(bytes: &[u8]) -> (Value, Vec<RawTensor>) {
        let st = SafeTensors::deserialize(bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
        let mut meta: Value =
            serde_json::from_str(&header.metadata().as_ref().unwrap()[METADATA_KEY]).unwrap();
        meta.as_object_mut().unwrap().remove("data_md5");
        let tensors = st
            .tensors()
            .into_iter()
            .map(|(name, v)| RawTensor {
                name,
                dtype: v.dtype(),
                shape: v.shape().to_vec(),
                bytes: v.data().to_vec(),
            })
            .collect();
        (meta, tensors)
    }

    #[test]
    fn round_trip_each_kind_predicts_identically() {
        let (_, split) = data();
        let mut all = vec![baseline(), mf(), deep(), neumf()];
        all.extend(implicit_models());
        for (n, saved) in all.into_iter().enumerate() {
            // The first four are rating models, the rest implicit ones.
            assert_eq!(is_implicit_model(&saved), n >= 4, "{}", saved.model.kind());
            let bytes = saved.to_bytes().unwrap();
            let back = TrainedModel::from_bytes(&bytes, Path::new("x")).unwrap();
            assert!(
                back == saved,
                "{} model changed in the round trip",
                saved.model.kind()
            );
            for u in 0..split.users.len() as u32 {
                for i in (0..split.items.len() as u32).step_by(7) {
                    let (ru, ri) = (split.users.raw(u), split.items.raw(i));
                    let (a, b) = (saved.predict_raw(ru, ri), back.predict_raw(ru, ri));
                    assert_eq!(a.value.to_bits(), b.value.to_bits());
                    assert_eq!(a.fallback, b.fallback);
                    assert_eq!(a.fallback, u >= split.train_users || i >= split.train_items);
                }
            }
        }
    }

    #[test]
    fn accessors_follow_the_training_data() {
        let (data, split) = data();
        let saved = baseline();
        for u in 0..split.train_users {
            let mut want: Vec<u32> = (0..split.train.len())
                .filter(|&k| split.train.users[k] == u)
                .map(|k| split.train.items[k])
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(saved.rated_items(u), &want[..]);
        }
        assert!(saved.rated_items(u32::MAX).is_empty());
        let raw = saved.items.raw(3);
        assert_eq!(saved.title(3), data.features.items.title(raw));
        assert!(saved.title(3).is_some());
        assert_eq!(saved.title(u32::MAX), None);
        assert_eq!(saved.user_index(split.users.raw(2)), Some(2));
        assert_eq!(saved.item_index("nope"), None);
        // Clipping: a wild score is clipped when `clip` is set, never otherwise.
        let mut m = saved.clone();
        let b = m
            .model
            .downcast_mut::<crate::models::Baseline>()
            .expect("a baseline");
        b.user_bias[0] = 100.0;
        let (ru, ri) = (m.users.raw(0).to_string(), m.items.raw(0).to_string());
        assert_eq!(m.predict_raw(&ru, &ri).value, m.scale.max);
        m.clip = false;
        assert!(m.predict_raw(&ru, &ri).value > 100.0);
        let p = m.predict_raw("unknown", "also unknown");
        assert!(p.fallback && p.value == m.model.fallback(None, None));
        assert_eq!(saved.fingerprint, fingerprint(split));
    }

    #[test]
    fn truncated_files_are_clear_errors() {
        let bytes = mf().to_bytes().unwrap();
        let step = (bytes.len() / 300).max(1);
        for cut in (0..bytes.len())
            .step_by(step)
            .chain(bytes.len() - 8..bytes.len())
        {
            err(&bytes[..cut]);
        }
        let msg = err(&bytes[..bytes.len() - 4]);
        assert!(msg.contains("truncated"), "{msg}");
    }

    /// The class of byte `pos` of a model file, for the mutation test: the header
    /// length, a metadata field (by its key), the checksum, the rest of the safetensors
    /// header, or tensor data.
    fn byte_class(bytes: &[u8], pos: usize) -> String {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        if pos < 8 {
            return "header length".into();
        }
        if pos >= 8 + n {
            return "tensor data".into();
        }
        let header = &bytes[8..8 + n];
        let at = pos - 8;
        let find = |pat: &[u8]| header.windows(pat.len()).position(|w| w == pat);
        let sum = find(format!("\"{CHECKSUM_KEY}\":\"").as_bytes()).unwrap();
        if (sum..sum + CHECKSUM_KEY.len() + 4 + 32).contains(&at) {
            return "checksum".into();
        }
        let start =
            find(format!("\"{METADATA_KEY}\":\"").as_bytes()).unwrap() + METADATA_KEY.len() + 4;
        // The metadata is a JSON string inside the header: it ends at the first quote
        // that is not escaped.
        let mut end = start;
        while header[end] != b'"' {
            end += if header[end] == b'\\' { 2 } else { 1 };
        }
        if !(start..end).contains(&at) {
            return "safetensors header".into();
        }
        // Inside the metadata string the keys are escaped (\"key\":); the field of a
        // byte is the last top-level key before it.
        let mut class = "metadata {".to_string();
        let mut best = 0;
        for key in [
            "format_version",
            "kind",
            "params",
            "users",
            "items",
            "scale",
            "clip",
            "feedback",
            "titles",
            "fingerprint",
            "training",
        ] {
            let k = find(format!("\\\"{key}\\\":").as_bytes()).unwrap();
            if k <= at && k >= best {
                best = k;
                class = format!("metadata {key}");
            }
        }
        class
    }

    /// Every byte of saved models, flipped several ways: each variant is refused (a
    /// `BadInput`, exit 2) or decodes to exactly the model saved (e.g. a JSON space of
    /// the header turned into a tab). Every metadata field is covered by the checksum,
    /// so turning the scale's 5 into a 3 or a digit of a raw id is refused.
    #[test]
    fn every_byte_flipped_is_refused_or_changes_nothing() {
        for saved in [baseline(), mf(), neumf()] {
            let bytes = saved.to_bytes().unwrap();
            let mut refused: std::collections::BTreeMap<String, (usize, usize)> =
                Default::default();
            for pos in 0..bytes.len() {
                let class = byte_class(&bytes, pos);
                for mask in [0x01u8, 0x02, 0x10, 0x29, 0x5a, 0xff] {
                    let mut b = bytes.clone();
                    b[pos] ^= mask;
                    let entry = refused.entry(class.clone()).or_default();
                    entry.1 += 1;
                    match TrainedModel::from_bytes(&b, Path::new("m")) {
                        Err(e) => {
                            assert_eq!(e.exit_code(), 2);
                            entry.0 += 1;
                        }
                        Ok(back) => assert!(
                            back == saved,
                            "{} file, byte {pos} ({class}) ^ {mask:#04x}: accepted with \
                             another content",
                            saved.model.kind()
                        ),
                    }
                }
            }
            for class in [
                "header length",
                "safetensors header",
                "checksum",
                "tensor data",
                "metadata format_version",
                "metadata kind",
                "metadata params",
                "metadata users",
                "metadata items",
                "metadata scale",
                "metadata clip",
                "metadata feedback",
                "metadata titles",
                "metadata fingerprint",
                "metadata training",
            ] {
                assert!(
                    refused.contains_key(class),
                    "{}: no byte of class {class}",
                    saved.model.kind()
                );
            }
            // Inside the metadata, the checksum and the tensors, every change is
            // refused (only the framing has bytes whose change means nothing).
            for (class, (r, n)) in &refused {
                if class != "safetensors header" {
                    assert_eq!(r, n, "{}: {class}", saved.model.kind());
                }
            }
        }
    }

    /// The flips the checksum exists for: the scale maximum 5 -> 3, a digit of a raw
    /// item id, a params value, the format version 3 -> 2 (which must not skip the
    /// check) — each one byte of the file, each refused naming the checksum.
    #[test]
    fn metadata_edits_fail_the_checksum() {
        let saved = mf();
        let bytes = saved.to_bytes().unwrap();
        let edit = |from: &str, to: &str| {
            let (from, to) = (from.as_bytes(), to.as_bytes());
            let k = bytes
                .windows(from.len())
                .position(|w| w == from)
                .unwrap_or_else(|| panic!("{} not in the file", String::from_utf8_lossy(from)));
            let mut b = bytes.clone();
            b[k..k + to.len()].copy_from_slice(to);
            b
        };
        let item = saved.items.raw(3).to_string();
        let mut other = item.clone().into_bytes();
        other[0] = if other[0] == b'9' { b'8' } else { other[0] + 1 };
        let other = String::from_utf8(other).unwrap();
        assert!(saved.items.index_of(&other).is_none() || other != item);
        for (from, to) in [
            (r#"\"max\":5.0"#.to_string(), r#"\"max\":3.0"#.to_string()),
            (format!(r#",\"{item}\","#), format!(r#",\"{other}\","#)),
            (r#"\"dim\":6"#.into(), r#"\"dim\":5"#.into()),
            (r#"\"clip\":false"#.into(), r#"\"clip\":fals "#.into()),
            (
                r#"\"format_version\":3"#.into(),
                r#"\"format_version\":2"#.into(),
            ),
        ] {
            let e = err(&edit(&from, &to));
            assert!(e.contains("checksum mismatch"), "{from} -> {to}: {e}");
        }
    }

    /// Version 1 and 2 files (no whole-file checksum) are still read, their tensors
    /// checked by `data_md5`; a version 3 file without its checksum is refused.
    #[test]
    fn older_versions_are_read_with_their_tensor_checksum() {
        let saved = mf();
        let (meta, tensors) = parts(&saved.to_bytes().unwrap());
        let legacy = |version: u64, flip: bool| {
            let mut m = meta.clone();
            m["format_version"] = json!(version);
            if version == 1 {
                m.as_object_mut().unwrap().remove("feedback");
            }
            let md5 = data_md5(tensors.iter().map(|t| (t.name.as_str(), &t.bytes[..])));
            m["data_md5"] = json!(md5);
            let mut t: Vec<RawTensor> = tensors
                .iter()
                .map(|t| RawTensor {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    bytes: t.bytes.clone(),
                })
                .collect();
            if flip {
                let k = t.iter().position(|t| t.name == "q").unwrap();
                t[k].bytes[5] ^= 0x10;
            }
            let info = HashMap::from([(METADATA_KEY.to_string(), m.to_string())]);
            safetensors::serialize(t.iter().map(|t| (t.name.as_str(), t)), Some(info)).unwrap()
        };
        for version in [1, 2] {
            let back = TrainedModel::from_bytes(&legacy(version, false), Path::new("old"));
            assert!(back.unwrap() == saved, "version {version}");
            let e = err(&legacy(version, true));
            assert!(e.contains("checksum mismatch"), "{e}");
        }
        // Version 3 requires the whole-file checksum.
        let e = err(&legacy(3, false));
        assert!(e.contains("no `embedrec_checksum`"), "{e}");
    }

    #[test]
    fn unknown_version_kind_and_missing_metadata() {
        let bytes = baseline().to_bytes().unwrap();
        let (meta, tensors) = parts(&bytes);
        let rewrite = |f: &dyn Fn(&mut Value)| {
            let (mut m, _) = (meta.clone(), ());
            f(&mut m);
            let t = tensors
                .iter()
                .map(|t| RawTensor {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    bytes: t.bytes.clone(),
                })
                .collect();
            encode_raw(m, t).unwrap()
        };
        let e = err(&rewrite(&|m| m["format_version"] = json!(4)));
        assert!(e.contains("unsupported model format version 4"), "{e}");
        // Versions 2 and 3 state the feedback; version 1 files did not, and derive it.
        let e = err(&rewrite(&|m| {
            m.as_object_mut().unwrap().remove("feedback");
        }));
        assert!(e.contains("no `feedback`"), "{e}");
        let v1 = rewrite(&|m| {
            m.as_object_mut().unwrap().remove("feedback");
            m["format_version"] = json!(1);
        });
        let back = TrainedModel::from_bytes(&v1, Path::new("v1.safetensors")).unwrap();
        assert_eq!(back.feedback, Feedback::Ratings);
        let e = err(&rewrite(&|m| m["kind"] = json!("wide-and-deep")));
        assert!(e.contains("unknown model kind `wide-and-deep`"), "{e}");
        let e = err(&rewrite(&|m| m["kind"] = json!("neumf")));
        assert!(e.contains("invalid neumf model params"), "{e}");
        let e = err(&rewrite(&|m| m["kind"] = json!("deep")));
        assert!(e.contains("invalid deep model params"), "{e}");
        let e = err(&rewrite(&|m| {
            m.as_object_mut().unwrap().remove("users");
        }));
        assert!(e.contains("users"), "{e}");
        let e = err(&rewrite(&|m| m["items"][1] = m["items"][0].clone()));
        assert!(e.contains("duplicate item id"), "{e}");
        let e = err(&rewrite(&|m| m["titles"] = json!([])));
        assert!(e.contains("titles"), "{e}");
        let e = err(&rewrite(&|m| m["scale"] = json!({"min": 5.0, "max": 1.0})));
        assert!(e.contains("scale"), "{e}");
        // A plain safetensors file without our metadata.
        let plain = safetensors::serialize(
            tensors.iter().map(|t| (t.name.as_str(), t)),
            None::<HashMap<String, String>>,
        )
        .unwrap();
        let e = err(&plain);
        assert!(e.contains("not an embedrec model"), "{e}");
    }

    #[test]
    fn wrong_tensors_are_named() {
        let bytes = mf().to_bytes().unwrap();
        let (meta, tensors) = parts(&bytes);
        let with = |f: &dyn Fn(&mut Vec<RawTensor>)| {
            let mut t: Vec<RawTensor> = tensors
                .iter()
                .map(|t| RawTensor {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    bytes: t.bytes.clone(),
                })
                .collect();
            f(&mut t);
            encode_raw(meta.clone(), t).unwrap()
        };
        let find =
            |t: &mut Vec<RawTensor>, name: &str| t.iter().position(|x| x.name == name).unwrap();
        let e = err(&with(&|t| {
            let k = find(t, "q");
            t.remove(k);
        }));
        assert!(e.contains("missing tensor `q`"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "q");
            let (i, d) = (t[k].shape[0], t[k].shape[1]);
            t[k].shape = vec![d, i];
        }));
        assert!(e.contains("tensor `q` has shape"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "user_bias");
            let len = t[k].bytes.len();
            t[k].bytes.truncate(len - 4);
            t[k].shape[0] -= 1;
        }));
        assert!(e.contains("tensor `user_bias` has shape"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "item_bias");
            t[k].dtype = Dtype::I32;
        }));
        assert!(e.contains("`item_bias` has dtype I32"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "p");
            t[k].bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        }));
        assert!(e.contains("tensor `p` has a non-finite value"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "rated_items");
            t[k].bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        }));
        assert!(
            e.contains("`rated_items`") && e.contains("out of range"),
            "{e}"
        );
        let e = err(&with(&|t| {
            let k = find(t, "rated_offsets");
            t[k].bytes[8..16].copy_from_slice(&(-1i64).to_le_bytes());
        }));
        assert!(e.contains("`rated_offsets`"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "rated_offsets");
            let big = (t[k].bytes.len() as i64) * 1000;
            t[k].bytes[8..16].copy_from_slice(&big.to_le_bytes());
        }));
        assert!(e.contains("`rated_offsets`"), "{e}");
        let e = err(&with(&|t| {
            let k = find(t, "rated_offsets");
            // Swap two offsets of different values: no longer monotone.
            let (a, b) = (t[k].bytes[8..16].to_vec(), t[k].bytes[16..24].to_vec());
            t[k].bytes[8..16].copy_from_slice(&b);
            t[k].bytes[16..24].copy_from_slice(&a);
        }));
        assert!(e.contains("`rated_offsets`"), "{e}");
        let e = err(&with(&|t| {
            t.push(RawTensor {
                name: "extra".into(),
                dtype: Dtype::F32,
                shape: vec![1],
                bytes: vec![0; 4],
            });
        }));
        assert!(e.contains("unexpected tensor `extra`"), "{e}");
    }

    #[test]
    fn hostile_headers_are_errors() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0; 7],
            u64::MAX.to_le_bytes().to_vec(),
            [&16u64.to_le_bytes()[..], b"{}"].concat(),
            [&2u64.to_le_bytes()[..], b"{}"].concat(),
            // Eight U8 tensors of 2^61 - 1 bytes: their offsets sum to 2^64 - 8, which
            // overflows the parser's end-of-data sum (a panic under overflow checks).
            {
                let size = (1u64 << 61) - 1;
                let entries: Vec<String> = (0..8)
                    .map(|k| {
                        format!(
                            r#""t{k}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
                            k * size,
                            (k + 1) * size
                        )
                    })
                    .collect();
                let h = format!("{{{}}}", entries.join(","));
                [&(h.len() as u64).to_le_bytes()[..], h.as_bytes()].concat()
            },
        ];
        for bytes in cases {
            err(&bytes);
        }
    }

    proptest! {
        #[test]
        fn random_bytes_are_errors(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert!(TrainedModel::from_bytes(&bytes, Path::new("r")).is_err());
        }

        /// A valid header length and JSON-ish prefix followed by noise.
        #[test]
        fn random_headers_are_errors(body in "\\{[ -~]{0,200}\\}", tail in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(body.as_bytes());
            bytes.extend_from_slice(&tail);
            prop_assert!(TrainedModel::from_bytes(&bytes, Path::new("r")).is_err());
        }
    }

    #[test]
    fn failed_save_keeps_the_previous_file() {
        let dir = std::env::temp_dir().join(format!("embedrec-modelfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        let good = baseline();
        save(&path, &good).unwrap();
        let before = std::fs::read(&path).unwrap();
        // An inconsistent model (NaN weight) is refused before anything is written.
        let mut bad = good.clone();
        if let Some(b) = bad.model.downcast_mut::<crate::models::Baseline>() {
            b.item_bias[0] = f32::NAN;
        }
        let e = save(&path, &bad).unwrap_err();
        assert!(e.to_string().contains("non-finite"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // A write that fails (target is a folder inside a missing folder) changes nothing.
        assert!(save(&dir.join("missing/m.safetensors"), &good).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

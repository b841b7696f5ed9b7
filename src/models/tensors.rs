//! How a kind's loader reads its tensors back from the model file: [`TensorFile`] and
//! the scoped reader [`Tensors`], and [`params_of`].

/// Where a model's tensors are read from: the model file's tensors by full name.
pub trait TensorFile {
    /// The f32 tensor `name`: shape and values.
    fn f32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<f32>), String>;
    /// The u32 tensor `name`: shape and values.
    fn u32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<u32>), String>;
    /// Whether the file holds a tensor `name`.
    fn has(&self, name: &str) -> bool;
}

/// A scoped view of a [`TensorFile`] (candle's `VarBuilder::pp`): names are read under
/// the prefix ([`Tensors::pp`] nests one more), so a blend hands each member `m{k}.`.
pub struct Tensors<'a> {
    pub(super) file: &'a mut dyn TensorFile,
    pub(super) prefix: String,
}

impl<'a> Tensors<'a> {
    /// The whole file, unprefixed.
    pub fn new(file: &'a mut dyn TensorFile) -> Self {
        Tensors {
            file,
            prefix: String::new(),
        }
    }

    /// The view of the names under `prefix.` within this one.
    pub fn pp(&mut self, prefix: &str) -> Tensors<'_> {
        Tensors {
            prefix: format!("{}{prefix}.", self.prefix),
            file: &mut *self.file,
        }
    }

    pub(super) fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether the tensor `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.file.has(&self.full(name))
    }

    /// The f32 tensor `name`, its shape checked against `want` when given.
    pub fn f32(
        &mut self,
        name: &str,
        want: Option<&[usize]>,
    ) -> Result<(Vec<usize>, Vec<f32>), String> {
        let full = self.full(name);
        let (shape, data) = self.file.f32(&full)?;
        match want {
            Some(want) if shape != want => Err(format!(
                "tensor `{full}` has shape {shape:?}, expected {want:?}"
            )),
            _ => Ok((shape, data)),
        }
    }

    /// The values of the f32 tensor `name` of shape `want`.
    pub fn values(&mut self, name: &str, want: &[usize]) -> Result<Vec<f32>, String> {
        Ok(self.f32(name, Some(want))?.1)
    }

    /// The one value of the f32 tensor `name` of shape `[1]`.
    pub fn scalar(&mut self, name: &str) -> Result<f32, String> {
        Ok(self.values(name, &[1])?[0])
    }

    /// The u32 tensor `name` (1-dimensional).
    pub fn u32(&mut self, name: &str) -> Result<Vec<u32>, String> {
        let full = self.full(name);
        let (shape, data) = self.file.u32(&full)?;
        if shape.len() != 1 {
            return Err(format!(
                "tensor `{full}` must be 1-dimensional, has shape {shape:?}"
            ));
        }
        Ok(data)
    }
}

/// A kind's params from a model file's metadata, checked.
pub fn params_of<P: serde::de::DeserializeOwned>(
    kind: &str,
    params: &serde_json::Value,
    check: impl FnOnce(&P) -> crate::Result<()>,
) -> Result<P, String> {
    let p: P = serde_json::from_value(params.clone())
        .map_err(|e| format!("invalid {kind} model params: {e}"))?;
    check(&p).map_err(|e| format!("invalid {kind} model params: {e}"))?;
    Ok(p)
}

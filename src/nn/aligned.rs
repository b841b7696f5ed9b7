//! A heap buffer of f32 that starts on a cache line.
//!
//! The embedding kernels load rows with 512-bit vectors, which the processor executes as
//! 256-bit halves (Zen 4) or whole (Intel). A half that straddles two cache lines costs
//! two accesses. `Vec<f32>` only guarantees 4-byte alignment (in practice 16 bytes, from
//! the allocator), which puts every row of a table at 16 bytes into a line and splits
//! half of its 32-byte chunks; starting the table on a line keeps every row whose width
//! is a multiple of 8 floats free of split chunks (book-mf: median 0.70 -> 0.62 s).

use std::fmt;
use std::ops::{Deref, DerefMut};

/// One cache line of floats.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// `len` f32 values stored from the start of a 64-byte aligned allocation; derefs to
/// `[f32]`.
///
/// ```
/// use embedrec::nn::aligned::AlignedF32;
/// let mut w = AlignedF32::from_slice(&[1.0, 2.0, 3.0]);
/// w[1] = 5.0;
/// assert_eq!(&w[..], &[1.0, 5.0, 3.0]);
/// assert_eq!(w.as_ptr() as usize % 64, 0);
/// ```
#[derive(Clone, Default)]
pub struct AlignedF32 {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedF32 {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        AlignedF32 {
            lines: vec![Line([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    /// A copy of `values`.
    pub fn from_slice(values: &[f32]) -> Self {
        let mut buf = Self::zeros(values.len());
        buf.copy_from_slice(values);
        buf
    }

    /// The values as a `Vec` (a copy).
    pub fn to_vec(&self) -> Vec<f32> {
        self.deref().to_vec()
    }
}

impl Deref for AlignedF32 {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` over `[f32; 16]` with size 64 = its alignment, so
        // `lines` is `16 * lines.len()` contiguous, initialised f32s, and `len` is at most
        // that many. The slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const f32, self.len) }
    }
}

impl DerefMut for AlignedF32 {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, with the unique borrow of `self`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut f32, self.len) }
    }
}

impl fmt::Debug for AlignedF32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.deref().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_for_every_length_and_round_trips() {
        for len in [0, 1, 15, 16, 17, 200, 1000] {
            let values: Vec<f32> = (0..len).map(|x| x as f32 * 0.5).collect();
            let buf = AlignedF32::from_slice(&values);
            assert_eq!(buf.len(), len);
            assert_eq!(buf.to_vec(), values);
            assert_eq!(buf.clone().to_vec(), values);
            if len > 0 {
                assert_eq!(buf.as_ptr() as usize % 64, 0, "len {len}");
            }
        }
    }
}

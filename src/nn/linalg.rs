//! Dense matrix products for the dense layers: the one safe wrapper around the `gemm`
//! crate (built with its `x86-v4` feature, so AVX-512 kernels are chosen at run time on
//! machines that have them).
//!
//! Matrices are row-major `f32` slices. A [`Mat`] is a view of one with its shape;
//! [`Mat::t`] views it transposed without moving any data (the strides change).

use gemm::Parallelism;

/// A read-only matrix view: `rows x cols` elements of a row-major slice, possibly
/// transposed.
///
/// ```
/// use embedrec::nn::linalg::Mat;
/// let a = Mat::new(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
/// assert_eq!(a.shape(), (2, 3));
/// assert_eq!(a.t().shape(), (3, 2));
/// assert_eq!(a.t().get(2, 1), 6.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    data: &'a [f32],
    /// Shape as stored (row-major).
    stored_rows: usize,
    stored_cols: usize,
    transposed: bool,
}

impl<'a> Mat<'a> {
    /// The `rows x cols` row-major matrix held in `data`.
    ///
    /// # Panics
    /// When `data.len() != rows * cols`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            Some(data.len()),
            rows.checked_mul(cols),
            "matrix data must hold rows x cols = {rows} x {cols} elements"
        );
        Mat {
            data,
            stored_rows: rows,
            stored_cols: cols,
            transposed: false,
        }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Mat {
            transposed: !self.transposed,
            ..self
        }
    }

    /// `(rows, cols)` of the view.
    pub fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.stored_cols, self.stored_rows)
        } else {
            (self.stored_rows, self.stored_cols)
        }
    }

    /// Element `(i, j)` of the view.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        let (rs, cs) = self.strides();
        let (rows, cols) = self.shape();
        assert!(
            i < rows && j < cols,
            "index ({i}, {j}) out of {rows} x {cols}"
        );
        self.data[i * rs + j * cs]
    }

    /// `(row stride, column stride)` of the view, in elements.
    fn strides(&self) -> (usize, usize) {
        if self.transposed {
            (1, self.stored_cols)
        } else {
            (self.stored_cols, 1)
        }
    }
}

/// `c = a b` (or `c += a b` when `accumulate`), single-threaded; `c` is the row-major
/// `m x n` result of an `m x k` by `k x n` product.
///
/// ```
/// use embedrec::nn::linalg::{matmul, Mat};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let mut c = [0.0; 4];
/// matmul(Mat::new(&a, 2, 2), Mat::new(&a, 2, 2).t(), &mut c, false); // a a^T
/// assert_eq!(c, [5.0, 11.0, 11.0, 25.0]);
/// matmul(Mat::new(&a, 2, 2), Mat::new(&a, 2, 2).t(), &mut c, true);
/// assert_eq!(c, [10.0, 22.0, 22.0, 50.0]);
/// ```
///
/// # Panics
/// When the inner dimensions differ or `c` does not hold `m x n` elements.
pub fn matmul(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool) {
    matmul_threads(a, b, c, accumulate, 1)
}

/// As [`matmul`], on up to `threads` threads of rayon's global pool (gemm's
/// `Parallelism::Rayon`; 0 means all of the pool's threads, 1 runs on the calling
/// thread). gemm itself decides whether a product is big enough to split.
pub fn matmul_threads(a: Mat<'_>, b: Mat<'_>, c: &mut [f32], accumulate: bool, threads: usize) {
    let (m, k) = a.shape();
    let (kb, n) = b.shape();
    assert_eq!(
        k, kb,
        "matmul: inner dimensions differ ({m} x {k} times {kb} x {n})"
    );
    assert_eq!(
        Some(c.len()),
        m.checked_mul(n),
        "matmul: the result must hold m x n = {m} x {n} elements"
    );
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    let parallelism = if threads == 1 {
        Parallelism::None
    } else {
        Parallelism::Rayon(threads)
    };
    // Every dimension fits in isize: the slices hold at least that many f32s.
    let s = |x: usize| x as isize;
    // SAFETY: gemm reads `lhs` at offsets i*a_rs + p*a_cs for i < m, p < k. For the
    // plain view these are i*k + p <= (m-1)*k + k-1 < m*k; for the transposed view
    // (stored k x m) they are i + p*m < k*m; either way inside `a.data` (its length was
    // checked in `Mat::new`). The same holds for `rhs` (k x n) and `b.data`. It writes
    // (and, when `read_dst`, reads) `dst` at i*n + j < m*n = c.len() (asserted above),
    // and nowhere when m or n is 0; when k is 0 it reads neither input. `c` is a unique
    // `&mut` borrow, so it cannot alias `a` or `b`, and all three outlive the call. The
    // element type is f32, which gemm supports (alpha 1 keeps `c`, beta 1 scales the
    // product; alpha is ignored when `read_dst` is false).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            s(n),
            accumulate,
            a.data.as_ptr(),
            s(a_cs),
            s(a_rs),
            b.data.as_ptr(),
            s(b_cs),
            s(b_rs),
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Ridge regression of one user's `(item, rating)` pairs on frozen item rows:
/// minimises `sum (r - offset(i) - b - w.row(i))^2 + l2 |w|^2 + l2_bias b^2`; returns
/// `(w, b)`.
pub fn ridge_user<'a>(
    ratings: &[(u32, f32)],
    k: usize,
    row: impl Fn(u32) -> &'a [f32],
    offset: impl Fn(u32) -> f32,
    l2: f64,
    l2_bias: f64,
) -> (Vec<f32>, f32) {
    let dim = k + 1; // factors, then the bias
    let mut a = vec![0.0f64; dim * dim];
    let mut rhs = vec![0.0f64; dim];
    let mut x = vec![0.0f64; dim];
    for &(i, r) in ratings {
        x[..k]
            .iter_mut()
            .zip(row(i))
            .for_each(|(x, &q)| *x = q as f64);
        x[k] = 1.0;
        let y = (r - offset(i)) as f64;
        for r in 0..dim {
            rhs[r] += x[r] * y;
            for c in 0..dim {
                a[r * dim + c] += x[r] * x[c];
            }
        }
    }
    for d in 0..k {
        a[d * dim + d] += l2;
    }
    a[k * dim + k] += l2_bias;
    let w = solve_spd(a, rhs, dim);
    (w[..k].iter().map(|&v| v as f32).collect(), w[k] as f32)
}

/// Solves `A w = b` for a symmetric positive-definite `A` (Cholesky).
pub fn solve_spd(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    b
}

#[cfg(test)]
mod tests {
    /// Cholesky solve against a hand-checked 3x3 system.
    #[test]
    fn solves_spd_systems() {
        let a = vec![4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let x = [1.0, -2.0, 0.5];
        let b: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum())
            .collect();
        let got = super::solve_spd(a, b, 3);
        for (g, e) in got.iter().zip(x) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
    }

    use super::*;
    use crate::rng::Rng;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect()
    }

    /// The naive triple loop in f64 over the views' elements.
    fn naive(a: Mat<'_>, b: Mat<'_>) -> Vec<f64> {
        let ((m, k), (_, n)) = (a.shape(), b.shape());
        let mut c = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a.get(i, p) as f64 * b.get(p, j) as f64;
                }
            }
        }
        c
    }

    /// Odd shapes, all four transpose combinations, overwrite and accumulate, 1 and 2
    /// threads: gemm agrees with the triple loop.
    #[test]
    fn matmul_matches_triple_loop() {
        let mut rng = Rng::seeded(3);
        let shapes = [
            (1, 1, 1),
            (3, 5, 2),
            (2, 5, 3),
            (1, 7, 1),
            (4, 1, 6),
            (17, 33, 9),
            (37, 129, 65),
            (0, 3, 2),
            (3, 0, 2),
            (3, 2, 0),
        ];
        for &(m, k, n) in &shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    for accumulate in [false, true] {
                        for threads in [1, 2] {
                            let ad = random(m * k, &mut rng);
                            let bd = random(k * n, &mut rng);
                            let a = if ta {
                                Mat::new(&ad, k, m).t()
                            } else {
                                Mat::new(&ad, m, k)
                            };
                            let b = if tb {
                                Mat::new(&bd, n, k).t()
                            } else {
                                Mat::new(&bd, k, n)
                            };
                            let start = random(m * n, &mut rng);
                            let mut c = if accumulate {
                                start.clone()
                            } else {
                                // overwrite must not read what was there
                                vec![f32::NAN; m * n]
                            };
                            matmul_threads(a, b, &mut c, accumulate, threads);
                            let mut want = naive(a, b);
                            if accumulate {
                                want.iter_mut()
                                    .zip(&start)
                                    .for_each(|(w, &s)| *w += s as f64);
                            }
                            for (x, y) in c.iter().zip(&want) {
                                assert!(
                                    (*x as f64 - y).abs() < 1e-5 * (1.0 + k as f64),
                                    "{m}x{k}x{n} ta {ta} tb {tb} acc {accumulate}: {x} vs {y}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn mismatched_shapes_panic() {
        let x = [0.0f32; 6];
        let mut c = [0.0f32; 4];
        matmul(Mat::new(&x, 2, 3), Mat::new(&x, 2, 3), &mut c, false);
    }

    #[test]
    #[should_panic(expected = "m x n")]
    fn short_result_panics() {
        let x = [0.0f32; 6];
        let mut c = [0.0f32; 3];
        matmul(Mat::new(&x, 2, 3), Mat::new(&x, 2, 3).t(), &mut c, false);
    }
}

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
///
/// With `n` ratings and `K` factors the normal equations are a `(K+1) x (K+1)` system
/// (`O(n K^2 + K^3)`: ~29 ms at K = 512). When `n <= K` and both penalties are
/// positive it is solved in the space of the ratings instead (the dual, or Woodbury's
/// identity): with `X` the `n x (K+1)` design (rows `[row(i), 1]`), `D` the diagonal
/// penalty and `y` the targets, `(X'X + D)^-1 X'y = D^-1 X' (X D^-1 X' + I)^-1 y`, an
/// `n x n` solve (`O(n^2 K + n^3)`): the same minimiser, to rounding
/// ([`ridge_user_primal`] is the `(K+1) x (K+1)` solve, kept for larger `n`).
pub fn ridge_user<'a>(
    ratings: &[(u32, f32)],
    k: usize,
    row: impl Fn(u32) -> &'a [f32],
    offset: impl Fn(u32) -> f32,
    l2: f64,
    l2_bias: f64,
) -> (Vec<f32>, f32) {
    if ratings.len() <= k && l2 > 0.0 && l2_bias > 0.0 {
        ridge_user_dual(ratings, k, row, offset, l2, l2_bias)
    } else {
        ridge_user_primal(ratings, k, row, offset, l2, l2_bias)
    }
}

/// [`ridge_user`] by the `n x n` dual system `(X D^-1 X' + I) a = y`, then
/// `w = D^-1 X' a`. Needs `l2 > 0` and `l2_bias > 0`.
pub fn ridge_user_dual<'a>(
    ratings: &[(u32, f32)],
    k: usize,
    row: impl Fn(u32) -> &'a [f32],
    offset: impl Fn(u32) -> f32,
    l2: f64,
    l2_bias: f64,
) -> (Vec<f32>, f32) {
    let n = ratings.len();
    // The rated items' rows in f64, one after the other.
    let mut xs = vec![0.0f64; n * k];
    for (x, &(i, _)) in xs.chunks_exact_mut(k).zip(ratings) {
        x.iter_mut()
            .zip(&row(i)[..k])
            .for_each(|(x, &q)| *x = q as f64);
    }
    let y: Vec<f64> = ratings
        .iter()
        .map(|&(i, r)| (r - offset(i)) as f64)
        .collect();
    // G = X D^-1 X' + I: (q_a . q_b) / l2 + 1 / l2_bias, plus 1 on the diagonal.
    let mut g = vec![0.0f64; n * n];
    for a in 0..n {
        for b in 0..=a {
            let dot = dot_f64(&xs[a * k..(a + 1) * k], &xs[b * k..(b + 1) * k]);
            let v = dot / l2 + 1.0 / l2_bias + if a == b { 1.0 } else { 0.0 };
            g[a * n + b] = v;
            g[b * n + a] = v;
        }
    }
    let alpha = solve_spd(g, y, n);
    let mut w = vec![0.0f64; k];
    for (x, &a) in xs.chunks_exact(k).zip(&alpha) {
        w.iter_mut().zip(x).for_each(|(w, &x)| *w += a * x);
    }
    let bias = alpha.iter().sum::<f64>() / l2_bias;
    (w.iter().map(|&v| (v / l2) as f32).collect(), bias as f32)
}

/// `a . b` with eight independent sums (so that the compiler can keep them in vector
/// registers).
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// [`ridge_user`] by the `(K+1) x (K+1)` normal equations `(X'X + D) w = X'y`.
pub fn ridge_user_primal<'a>(
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

    /// The dual (`n x n`) ridge solve equals the `(K+1) x (K+1)` one within 1e-5
    /// relative, for few and many ratings, repeated items, strong and tiny penalties;
    /// `ridge_user` picks the dual up to `n = K` and the primal beyond.
    #[test]
    fn dual_ridge_matches_the_primal_solve() {
        let mut rng = Rng::seeded(7);
        for &(k, items) in &[(8usize, 40usize), (64, 300), (512, 200)] {
            let q: Vec<f32> = (0..items * k)
                .map(|_| rng.uniform_in(-0.3, 0.3) as f32)
                .collect();
            let bias: Vec<f32> = (0..items)
                .map(|_| rng.uniform_in(-0.5, 0.5) as f32)
                .collect();
            let row = |i: u32| &q[i as usize * k..(i as usize + 1) * k];
            let offset = |i: u32| 3.5 + bias[i as usize];
            for n in [1, 2, 7, 50, k, k + 1] {
                let ratings: Vec<(u32, f32)> = (0..n)
                    .map(|j| {
                        // A few repeats of the same item.
                        let i = if j % 9 == 8 {
                            0
                        } else {
                            rng.below(items) as u32
                        };
                        (i, 1.0 + rng.below(5) as f32)
                    })
                    .collect();
                for (l2, l2b) in [(0.05, 0.01), (1e-6, 1e-6), (3.0, 0.5)] {
                    let (l2, l2b) = (l2 * n as f64, l2b * n as f64);
                    let (wp, bp) = ridge_user_primal(&ratings, k, row, offset, l2, l2b);
                    let (wd, bd) = ridge_user_dual(&ratings, k, row, offset, l2, l2b);
                    let norm =
                        |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                    let diff: Vec<f32> = wp.iter().zip(&wd).map(|(a, b)| a - b).collect();
                    let scale = norm(&wp).max(bp.abs() as f64).max(1e-12);
                    assert!(
                        norm(&diff) <= 1e-5 * scale && ((bp - bd).abs() as f64) <= 1e-5 * scale,
                        "K {k} n {n} l2 {l2}: |dw| {} |w| {} b {bp} vs {bd}",
                        norm(&diff),
                        norm(&wp)
                    );
                    let (wa, ba) = ridge_user(&ratings, k, row, offset, l2, l2b);
                    let (we, be) = if n <= k { (&wd, bd) } else { (&wp, bp) };
                    assert!(
                        wa == *we && ba == be,
                        "K {k} n {n}: ridge_user chose the other solve"
                    );
                }
            }
        }
    }

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

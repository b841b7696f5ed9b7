//! Small f32 vector kernels for the embedding hot loops, written with 16 independent
//! accumulators so that the compiler vectorises them (AVX2 / AVX-512 when the build
//! targets them) while the summation order stays fixed: results are bit-reproducible
//! for a given build.

const LANES: usize = 16;

#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    // A fused multiply-add when the target has one; never a slow libm call.
    if cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `sum_k a[k] * b[k]` (the slices must have equal lengths).
///
/// ```
/// assert_eq!(embedrec::nn::kernels::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        // SAFETY: the build targets AVX-512F (cfg above), and the function reads only
        // within the bounds of `a` and `b`, which have equal lengths (asserted).
        unsafe { dot_avx512(a, b) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    dot_portable(a, b)
}

/// AVX-512 dot product: two 16-lane accumulators, a masked load for the tail.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut k = 0;
    // SAFETY (whole body): every load reads 16 floats at offsets k..k+16 <= n, or a
    // masked load whose mask covers only the n - k < 16 remaining elements.
    unsafe {
        let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        while k + 32 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(k)), _mm512_loadu_ps(pb.add(k)), acc0);
            acc1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(k + 16)),
                _mm512_loadu_ps(pb.add(k + 16)),
                acc1,
            );
            k += 32;
        }
        if k + 16 <= n {
            acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(k)), _mm512_loadu_ps(pb.add(k)), acc0);
            k += 16;
        }
        if k < n {
            let mask: __mmask16 = (1u32 << (n - k)) as u16 - 1;
            let (x, y) = (
                _mm512_maskz_loadu_ps(mask, pa.add(k)),
                _mm512_maskz_loadu_ps(mask, pb.add(k)),
            );
            acc1 = _mm512_fmadd_ps(x, y, acc1);
        }
        _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1))
    }
}

/// Portable dot product with 16 independent accumulators.
#[allow(dead_code)]
#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] = fma(x[l], y[l], acc[l]);
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = fma(*x, *y, tail);
    }
    // Pairwise reduction of the lanes, in a fixed order.
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// `y += alpha * x` (equal lengths).
///
/// ```
/// let mut y = [1.0, 1.0];
/// embedrec::nn::kernels::axpy(2.0, &[3.0, 4.0], &mut y);
/// assert_eq!(y, [7.0, 9.0]);
/// ```
#[inline(always)]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (y, &x) in y.iter_mut().zip(x) {
        *y = fma(alpha, x, *y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_f64_for_all_lengths() {
        for n in 0..70 {
            let a: Vec<f32> = (0..n).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|k| (k as f32 * 0.11).cos()).collect();
            let exact: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            assert!((dot(&a, &b) as f64 - exact).abs() < 1e-5, "n={n}");
            assert!((dot_portable(&a, &b) as f64 - exact).abs() < 1e-5, "n={n}");
        }
    }
}

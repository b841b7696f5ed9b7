//! The `n` best of a score vector with a bounded heap: the selection that the ranking
//! metrics and every top-N list share.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored item, ordered so that a `BinaryHeap` of them is a min-heap on score
/// (ties: the larger index is "smaller", so lower indices win ties).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Worst(pub(crate) f32, pub(crate) u32);

impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The `n` highest `scores` as `(item, score)`, best first, skipping the items in
/// `exclude` (sorted ascending) and NaN scores. Uses a heap of at most `n` entries, not
/// a full sort; ties go to the lower item index.
///
/// ```
/// use embedrec::recommend::top_n;
/// let scores = [0.5, 3.0, 2.0, 4.0, 1.0];
/// assert_eq!(top_n(&scores, 2, &[3]), vec![(1, 3.0), (2, 2.0)]);
/// ```
pub fn top_n(scores: &[f32], n: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
    debug_assert!(
        exclude.windows(2).all(|w| w[0] <= w[1]),
        "exclude must be sorted"
    );
    if n == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(n + 1);
    let mut skip = exclude.iter().peekable();
    for (item, &score) in scores.iter().enumerate() {
        let item = item as u32;
        while skip.next_if(|&&e| e < item).is_some() {}
        if skip.peek() == Some(&&item) {
            continue;
        }
        offer(&mut heap, n, score, item);
    }
    best_first(heap)
}

/// Offers `(item, score)` to a heap holding the `n` best so far (NaN is never kept).
#[inline]
pub(crate) fn offer(heap: &mut BinaryHeap<Worst>, n: usize, score: f32, item: u32) {
    if score.is_nan() {
        return;
    }
    let entry = Worst(score, item);
    if heap.len() < n {
        heap.push(entry);
    } else if heap.peek().is_some_and(|worst| entry < *worst) {
        heap.pop();
        heap.push(entry);
    }
}

/// The heap's entries as `(item, score)`, best first (ties: lower item first).
pub(crate) fn best_first(heap: BinaryHeap<Worst>) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = heap.into_iter().map(|Worst(s, i)| (i, s)).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best
}

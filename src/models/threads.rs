//! Work spread over scoped threads with results in a fixed order, so that what a caller
//! computes never depends on how many threads it ran on.

/// `f` of every item, on up to `threads` scoped threads (item `i` on thread
/// `i % threads`), the results in the items' order. One thread (or one item) runs on the
/// caller's thread. A panic in `f` resumes on the caller's thread.
pub(crate) fn map_ordered<I: Send, T: Send>(
    items: Vec<I>,
    threads: usize,
    f: impl Fn(I) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let mut work: Vec<Vec<(usize, I)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, x) in items.into_iter().enumerate() {
        work[i % threads].push((i, x));
    }
    let f = &f;
    let mut out: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|mine| scope.spawn(move || mine.into_iter().map(|(i, x)| (i, f(x))).collect()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h: std::thread::ScopedJoinHandle<'_, Vec<(usize, T)>>| {
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
            })
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The results come in the items' order whatever the threads, each item seen once,
    /// and items borrowed mutably are changed in place.
    #[test]
    fn results_keep_the_items_order_on_any_threads() {
        let one = map_ordered((0..37).collect(), 1, |i: u64| i * i);
        for threads in [2, 3, 8, 100] {
            assert_eq!(map_ordered((0..37).collect(), threads, |i: u64| i * i), one);
        }
        assert!(map_ordered(Vec::<u8>::new(), 4, |x| x).is_empty());
        let mut xs = vec![1, 2, 3, 4, 5];
        let seen = map_ordered(xs.iter_mut().collect(), 2, |x: &mut i32| {
            *x *= 10;
            std::thread::current().id()
        });
        assert_eq!(xs, [10, 20, 30, 40, 50]);
        assert_ne!(seen[0], seen[1], "items 0 and 1 on different threads");
        assert_eq!(seen[0], seen[2]);
    }

    /// A panic in `f` reaches the caller with its own message.
    #[test]
    #[should_panic(expected = "item 3")]
    fn a_panic_resumes_on_the_caller() {
        map_ordered((0..6).collect(), 2, |i: usize| {
            assert!(i != 3, "item 3");
            i
        });
    }
}

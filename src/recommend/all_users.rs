//! Top-N lists for every user of a model, scored in tiles.

use crate::error::Result;
use crate::metrics::heap::{Worst, best_first, offer, top_n};
use crate::model::{AnyModel, Recommender};
use std::collections::BinaryHeap;
/// Users scored together by [`top_n_all_users`].
const USER_BLOCK: usize = 128;
/// Items scored together: a `USER_BLOCK x ITEM_BLOCK` score tile (2 MB) stays in cache
/// while the users' heaps read it.
const ITEM_BLOCK: usize = 4096;

/// The top-`n` list of every user of `model` (users `0..n_users`, in order): see
/// [`top_n_for_users`].
pub fn top_n_all_users<'a>(
    model: &AnyModel,
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    n: usize,
    threads: usize,
    emit: impl FnMut(u32, &[(u32, f32)]) -> Result<()>,
) -> Result<()> {
    let rows: Vec<u32> = (0..model.n_users()).collect();
    top_n_for_users(model, &rows, rated, n, threads, emit)
}

/// The top-`n` list of each user row of `rows` (in that order), each without the items
/// `rated(user)` (sorted ascending), passed to `emit(user, list)`.
///
/// For MF the scores come in tiles: `USER_BLOCK` users x `ITEM_BLOCK` items as one
/// matrix product `P_users Q_items^T` (gemm) plus the biases, each user's row of the
/// tile then fed to that user's bounded heap; memory is one tile per thread plus the
/// heaps, never users x items. A block always has `USER_BLOCK` rows (the users' factor
/// rows gathered, zeros after the last), so a user's scores do not depend on which
/// other users share the block: any subset of users (a partition of a distributed job)
/// gets exactly the lists of [`top_n_all_users`]. Other models score user by user
/// ([`Recommender::score_items`]). `threads` threads take one block of users each; the
/// lists are the same for every thread count. Ties go to the lower item index as in
/// [`top_n`]; scores may differ from [`Recommender::score`] in the last bits (another
/// summation order).
pub fn top_n_for_users<'a>(
    model: &AnyModel,
    rows: &[u32],
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    n: usize,
    threads: usize,
    mut emit: impl FnMut(u32, &[(u32, f32)]) -> Result<()>,
) -> Result<()> {
    let threads = threads.max(1);
    let tile = USER_BLOCK * ITEM_BLOCK.min(model.n_items() as usize);
    let mut scratch: Vec<Vec<f32>> = (0..threads).map(|_| vec![0.0; tile]).collect();
    let blocks: Vec<&[u32]> = rows.chunks(USER_BLOCK).collect();
    for wave in blocks.chunks(threads) {
        let block = |users: &[u32], buf: &mut Vec<f32>| block_lists(model, users, n, rated, buf);
        let results: Vec<Vec<Vec<(u32, f32)>>> = if wave.len() == 1 {
            vec![block(wave[0], &mut scratch[0])]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .iter()
                    .zip(scratch.iter_mut())
                    .map(|(&users, buf)| scope.spawn(move || block(users, buf)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        for (users, lists) in wave.iter().zip(&results) {
            for (&u, list) in users.iter().zip(lists) {
                emit(u, list)?;
            }
        }
    }
    Ok(())
}

/// The lists of the user rows `users` (at most `USER_BLOCK`; see [`top_n_for_users`]);
/// `buf` is the score tile.
fn block_lists<'a>(
    model: &AnyModel,
    users: &[u32],
    n: usize,
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    buf: &mut [f32],
) -> Vec<Vec<(u32, f32)>> {
    use crate::nn::linalg::{Mat, matmul};
    let items = model.n_items() as usize;
    let Some(m) = model.downcast_ref::<crate::models::Mf>() else {
        let mut scores = vec![0.0f32; items];
        return users
            .iter()
            .map(|&u| {
                model.score_items(u, &mut scores);
                top_n(&scores, n, rated(u))
            })
            .collect();
    };
    let (k, nb) = (m.dim, users.len());
    let mut heaps: Vec<BinaryHeap<Worst>> =
        (0..nb).map(|_| BinaryHeap::with_capacity(n + 1)).collect();
    let mut cursors = vec![0usize; nb];
    // The users' factor rows, padded with zero rows to a full block.
    let mut rows = vec![0.0f32; USER_BLOCK * k];
    for (dst, &u) in rows.chunks_exact_mut(k).zip(users) {
        let u = u as usize;
        dst.copy_from_slice(&m.p[u * k..(u + 1) * k]);
    }
    let p = Mat::new(&rows, USER_BLOCK, k);
    for i0 in (0..items).step_by(ITEM_BLOCK) {
        let i1 = (i0 + ITEM_BLOCK).min(items);
        let w = i1 - i0;
        let tile = &mut buf[..USER_BLOCK * w];
        matmul(p, Mat::new(&m.q[i0 * k..i1 * k], w, k).t(), tile, false);
        for (r, row) in tile.chunks_exact(w).take(nb).enumerate() {
            let u = users[r] as usize;
            let base = m.mu + m.user_bias[u];
            let exclude = rated(u as u32);
            let cursor = &mut cursors[r];
            let heap = &mut heaps[r];
            // Once the heap is full, a score at or below its worst cannot enter (an equal
            // score loses the tie: its item index is higher): one compare per item.
            let floor = |h: &BinaryHeap<Worst>| match h.peek() {
                Some(w) if h.len() >= n => w.0,
                _ => f32::NEG_INFINITY,
            };
            let mut worst = floor(heap);
            for ((j, &s), &bi) in row.iter().enumerate().zip(&m.item_bias[i0..i1]) {
                let score = base + bi + s;
                if score <= worst {
                    continue;
                }
                let item = (i0 + j) as u32;
                while exclude.get(*cursor).is_some_and(|&e| e < item) {
                    *cursor += 1;
                }
                if exclude.get(*cursor) == Some(&item) {
                    continue;
                }
                offer(heap, n, score, item);
                worst = floor(heap);
            }
        }
    }
    heaps.into_iter().map(best_first).collect()
}

#[cfg(test)]
mod tests {
    use super::{top_n_all_users, top_n_for_users};
    use crate::metrics::heap::top_n;
    use crate::models::{AnyModel, Mf, Recommender};
    use crate::rng::Rng;
    use proptest::prelude::*;

    /// Blocked (gemm tiles, several item blocks, several threads) top-N for all users
    /// against brute force in f64: the same scores at every rank, and never a rated item.
    #[test]
    fn all_users_blocked_matches_brute_force() {
        let (users, items, k) = (300usize, 9000usize, 7usize);
        let mut rng = Rng::seeded(5);
        let mut draw = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
        let model = Mf {
            mu: 3.5,
            dim: k,
            p: draw(users * k),
            q: draw(items * k),
            user_bias: draw(users),
            item_bias: draw(items),
        };
        let mut rng = Rng::seeded(6);
        let rated: Vec<Vec<u32>> = (0..users)
            .map(|_| {
                let mut r: Vec<u32> = (0..rng.below(60))
                    .map(|_| rng.below(items) as u32)
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        let any = AnyModel::new(model.clone());
        for threads in [1, 3] {
            let mut got: Vec<Vec<(u32, f32)>> = Vec::new();
            top_n_all_users(&any, &|u| &rated[u as usize], 10, threads, |u, list| {
                assert_eq!(u as usize, got.len());
                got.push(list.to_vec());
                Ok(())
            })
            .unwrap();
            assert_eq!(got.len(), users);
            for (u, list) in got.iter().enumerate() {
                let exact = |i: usize| -> f64 {
                    model.mu as f64
                        + model.user_bias[u] as f64
                        + model.item_bias[i] as f64
                        + (0..k)
                            .map(|d| model.p[u * k + d] as f64 * model.q[i * k + d] as f64)
                            .sum::<f64>()
                };
                let mut all: Vec<f64> = (0..items)
                    .filter(|i| rated[u].binary_search(&(*i as u32)).is_err())
                    .map(exact)
                    .collect();
                all.sort_by(|a, b| b.total_cmp(a));
                assert_eq!(list.len(), 10);
                for (rank, &(item, score)) in list.iter().enumerate() {
                    assert!(
                        rated[u].binary_search(&item).is_err(),
                        "user {u} got rated item {item}"
                    );
                    assert!((score as f64 - exact(item as usize)).abs() < 1e-4);
                    assert!(
                        (score as f64 - all[rank]).abs() < 1e-4,
                        "user {u} rank {rank}"
                    );
                }
                let scores: Vec<f32> = {
                    let mut s = vec![0.0; items];
                    model.score_items(u as u32, &mut s);
                    s
                };
                let brute = top_n(&scores, 10, &rated[u]);
                let same = brute.iter().zip(list).filter(|(a, b)| a.0 == b.0).count();
                assert!(same >= 9, "user {u}: {brute:?} vs {list:?}");
            }
        }
    }

    /// Any subset of users, in any blocks, gets bit for bit the lists it gets among all
    /// users (a distributed job's partitions give the single-machine lists).
    #[test]
    fn a_subset_of_users_gets_the_lists_of_all_users() {
        let (users, items, k) = (700usize, 5000usize, 24usize);
        let mut rng = Rng::seeded(8);
        let mut draw = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
        let model = Mf {
            mu: 3.5,
            dim: k,
            p: draw(users * k),
            q: draw(items * k),
            user_bias: draw(users),
            item_bias: draw(items),
        };
        let rated: Vec<Vec<u32>> = (0..users as u32).map(|u| vec![u % 7, u + 100]).collect();
        let any = AnyModel::new(model);
        let mut all: Vec<Vec<(u32, f32)>> = Vec::new();
        top_n_all_users(&any, &|u| &rated[u as usize], 10, 1, |_, list| {
            all.push(list.to_vec());
            Ok(())
        })
        .unwrap();
        let mut rng = Rng::seeded(9);
        for threads in [1, 2] {
            let mut subset: Vec<u32> = (0..users as u32).filter(|_| rng.below(3) == 0).collect();
            rng.shuffle(&mut subset);
            let mut got = Vec::new();
            top_n_for_users(
                &any,
                &subset,
                &|u| &rated[u as usize],
                10,
                threads,
                |u, list| {
                    got.push((u, list.to_vec()));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got.len(), subset.len());
            for ((u, list), &want) in got.iter().zip(&subset) {
                assert_eq!(*u, want);
                assert_eq!(list, &all[want as usize], "user {u}");
            }
        }
    }

    proptest! {
        /// The heap agrees with a full sort, and never returns an excluded item.
        #[test]
        fn matches_full_sort(scores in prop::collection::vec(-10i32..10, 0..200), n in 0usize..20,
                             exclude in prop::collection::btree_set(0u32..200, 0..50)) {
            let scores: Vec<f32> = scores.into_iter().map(|s| s as f32).collect();
            let exclude: Vec<u32> = exclude.into_iter().collect();
            let got = top_n(&scores, n, &exclude);
            let mut all: Vec<(u32, f32)> = scores.iter().enumerate()
                .filter(|(i, _)| exclude.binary_search(&(*i as u32)).is_err())
                .map(|(i, &s)| (i as u32, s)).collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(n);
            prop_assert_eq!(got, all);
        }
    }
}

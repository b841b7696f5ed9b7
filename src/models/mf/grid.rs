//! LIBMF-style grid: the ratings cut into user x item blocks, trained in diagonal order
//! on threads; each block sorted by user and trained as two interleaved streams.

use super::*;

/// Training sets at least this large run per-example SGD on the [`Grid`] even on one
/// thread (a cache-friendly order and no per-epoch copy of the data); smaller ones keep
/// the classic global shuffle when `threads = 1`.
pub const GRID_MIN_RATINGS: usize = 1 << 20;

/// Side of the grid for `n` ratings: blocks of about 90K ratings, at least 4 x 4 and at
/// most 64 x 64. On 22.5M ratings (16 x 16 blocks, each over about 10K users and 3.7K
/// items, K = 64) this measured fastest among sides 8 to 48: 1.6-2x the throughput of
/// one random pass over all the data. It does not depend on the thread count, so neither
/// does the result.
pub fn grid_side(n: usize) -> usize {
    ((n as f64 / 90_000.0).sqrt().ceil() as usize).clamp(4, 64)
}

/// One training rating, packed for the hot loop (12 bytes: one sequential stream).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub(super) struct Entry {
    pub(super) user: u32,
    pub(super) item: u32,
    pub(super) value: f32,
}

impl Entry {
    /// The rating at position `k` of `data`.
    pub(super) fn at(data: &Ratings, k: usize) -> Self {
        Entry {
            user: data.users[k],
            item: data.items[k],
            value: data.values[k],
        }
    }
}

/// The ratings of `data` as entries, in order.
pub(super) fn entries(data: &Ratings) -> Vec<Entry> {
    (0..data.len()).map(|k| Entry::at(data, k)).collect()
}

/// LIBMF-style grid for per-example SGD: `side` user ranges x `side` item ranges, each
/// range holding about the same number of ratings, and the training ratings stored block
/// by block.
///
/// An epoch draws a random permutation of the user ranges, one of the item ranges and a
/// random order of the `side` "diagonals" (diagonal `d` = blocks (rows[a], cols[(a + d)
/// mod side]) for every `a`): every block lies on exactly one diagonal and the blocks of
/// one diagonal share no user and no item. Diagonals run one after the other; the blocks
/// of a diagonal are handed to the threads from a queue (largest first). Because the
/// blocks of a diagonal touch disjoint rows, the order in which threads take them cannot
/// change the result: weights are bit-identical for every thread count and every timing.
///
/// Within a block the ratings are sorted by user, as LIBMF does (the randomness of an
/// epoch is in the order of the blocks), and trained as two interleaved streams, the
/// block's first and second halves ([`sgd_streams`]). A user's ratings follow each other
/// in its stream, so its row stays in L1 while the item rows come from L2; and the two
/// streams' dependency chains (a rating's update of the user row feeds the next rating's
/// prediction) overlap in the processor. Against a block shuffled every epoch: 1.5-1.8x
/// the updates per second at 25M ratings, K=64, with the same test RMSE
/// (BENCHMARKS.md).
#[derive(Debug)]
pub(super) struct Grid {
    pub(super) side: usize,
    pub(super) user_bounds: Vec<u32>,
    pub(super) item_bounds: Vec<u32>,
    /// The ratings, block (a, b) at `block_start[a * side + b]..block_start[a * side + b + 1]`.
    pub(super) entries: Vec<Entry>,
    pub(super) block_start: Vec<usize>,
}

/// One block of a diagonal with the rows it may write.
pub(super) struct Task<'a> {
    pub(super) tables: Tables<'a>,
    pub(super) entries: &'a mut [Entry],
}

impl Grid {
    /// Ranges of about equal rating counts over `users` x `items`, and the ratings of
    /// `data` placed into their blocks, sorted by user within a block (file order within
    /// a user); the placement and the sorts run on `threads` threads (same grid for any
    /// count).
    pub(super) fn new(data: &Ratings, users: usize, items: usize, threads: usize) -> Self {
        let side = grid_side(data.len());
        let bounds = |ids: &[u32], n: usize| -> Vec<u32> {
            let mut counts = vec![0usize; n];
            ids.iter().for_each(|&x| counts[x as usize] += 1);
            let mut bounds = vec![0u32];
            let mut seen = 0usize;
            for (x, &cnt) in counts.iter().enumerate() {
                seen += cnt;
                let next = bounds.len();
                if next < side && seen * side >= next * ids.len() {
                    bounds.push(x as u32 + 1);
                }
            }
            while bounds.len() <= side {
                bounds.push(n as u32);
            }
            *bounds.last_mut().expect("side >= 1") = n as u32;
            bounds
        };
        let user_bounds = bounds(&data.users, users);
        let item_bounds = bounds(&data.items, items);
        // Each id's range, looked up per rating (a binary search per rating and pass cost
        // about as much as the placement itself).
        let ranges = |bounds: &[u32], n: usize| -> Vec<u16> {
            let mut of = vec![0u16; n];
            for (r, w) in bounds.windows(2).enumerate() {
                of[w[0] as usize..w[1] as usize].fill(r as u16);
            }
            of
        };
        let (user_range, item_range) = (ranges(&user_bounds, users), ranges(&item_bounds, items));
        let block_of = |k: usize| {
            user_range[data.users[k] as usize] as usize * side
                + item_range[data.items[k] as usize] as usize
        };
        // Counting sort by block, the ratings cut into one chunk per thread: each thread
        // counts its chunk's ratings per block, then writes them into its own part of each
        // block. The chunks follow each other in every block, so a block holds its
        // ratings in file order for any thread count.
        let n = data.len();
        let threads = threads.clamp(1, n.max(1));
        let chunk = |c: usize| c * n / threads..(c + 1) * n / threads;
        let blocks = side * side;
        let mut counts = vec![vec![0usize; blocks]; threads];
        on_threads(counts.iter_mut().enumerate().collect(), |(c, count)| {
            for k in chunk(c) {
                count[block_of(k)] += 1;
            }
        });
        let mut block_start = vec![0usize; blocks + 1];
        for b in 0..blocks {
            block_start[b + 1] =
                block_start[b] + counts.iter().map(|count| count[b]).sum::<usize>();
        }
        let blank = Entry {
            user: 0,
            item: 0,
            value: 0.0,
        };
        let mut entries = vec![blank; n];
        let mut parts: Vec<Vec<&mut [Entry]>> =
            (0..threads).map(|_| Vec::with_capacity(blocks)).collect();
        let mut rest = &mut entries[..];
        for b in 0..blocks {
            for (c, count) in counts.iter().enumerate() {
                let (head, tail) = rest.split_at_mut(count[b]);
                parts[c].push(head);
                rest = tail;
            }
        }
        on_threads(parts.into_iter().enumerate().collect(), |(c, mut part)| {
            let mut next = vec![0usize; blocks];
            for k in chunk(c) {
                let b = block_of(k);
                part[b][next[b]] = Entry::at(data, k);
                next[b] += 1;
            }
        });
        // Each block sorted by user (a stable counting sort over the block's user range),
        // the blocks dealt to the threads in turn.
        let mut jobs: Vec<Vec<(&mut [Entry], u32, u32)>> =
            (0..threads).map(|_| Vec::new()).collect();
        let mut rest = &mut entries[..];
        for b in 0..blocks {
            let (block, tail) = rest.split_at_mut(block_start[b + 1] - block_start[b]);
            rest = tail;
            let a = b / side;
            jobs[b % threads].push((block, user_bounds[a], user_bounds[a + 1]));
        }
        on_threads(jobs, |job| {
            let (mut scratch, mut counts) = (Vec::new(), Vec::new());
            for (block, first_user, end_user) in job {
                let span = (end_user - first_user) as usize;
                counts.clear();
                counts.resize(span + 1, 0u32);
                block
                    .iter()
                    .for_each(|e| counts[(e.user - first_user) as usize + 1] += 1);
                for u in 0..span {
                    counts[u + 1] += counts[u];
                }
                scratch.clear();
                scratch.resize(block.len(), blank);
                for e in block.iter() {
                    let at = &mut counts[(e.user - first_user) as usize];
                    scratch[*at as usize] = *e;
                    *at += 1;
                }
                block.copy_from_slice(&scratch);
            }
        });
        Grid {
            side,
            user_bounds,
            item_bounds,
            entries,
            block_start,
        }
    }

    /// One epoch over every block (see the type's docs), on `threads` threads.
    pub(super) fn run(&mut self, t: Tables<'_>, c: &SgdConstants, rng: &mut Rng, threads: usize) {
        let n = self.side;
        let mut rows: Vec<usize> = (0..n).collect();
        let mut cols: Vec<usize> = (0..n).collect();
        let mut diagonals: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut rows);
        rng.shuffle(&mut cols);
        rng.shuffle(&mut diagonals);
        let mut p_parts = split_rows(t.p, &self.user_bounds, c.k);
        let mut bu_parts = split_rows(t.bu, &self.user_bounds, 1);
        let mut q_parts = split_rows(t.q, &self.item_bounds, c.k);
        let mut bi_parts = split_rows(t.bi, &self.item_bounds, 1);
        let mut blocks: Vec<&mut [Entry]> = Vec::with_capacity(n * n);
        let mut rest = &mut self.entries[..];
        for w in self.block_start.windows(2) {
            let (head, tail) = rest.split_at_mut(w[1] - w[0]);
            blocks.push(head);
            rest = tail;
        }
        if threads > 1 {
            let parts = Parts {
                p: p_parts.into_iter().map(Some).collect(),
                bu: bu_parts.into_iter().map(Some).collect(),
                q: q_parts.into_iter().map(Some).collect(),
                bi: bi_parts.into_iter().map(Some).collect(),
                blocks: blocks.into_iter().map(Some).collect(),
            };
            let order = DiagonalOrder {
                n,
                rows: &rows,
                cols: &cols,
                diagonals: &diagonals,
                user_bounds: &self.user_bounds,
                item_bounds: &self.item_bounds,
            };
            order.run_dataflow(parts, c, threads);
            return;
        }
        for &d in &diagonals {
            let mut p: Vec<Option<&mut [f32]>> =
                p_parts.iter_mut().map(|x| Some(&mut **x)).collect();
            let mut bu: Vec<Option<&mut [f32]>> =
                bu_parts.iter_mut().map(|x| Some(&mut **x)).collect();
            let mut q: Vec<Option<&mut [f32]>> =
                q_parts.iter_mut().map(|x| Some(&mut **x)).collect();
            let mut bi: Vec<Option<&mut [f32]>> =
                bi_parts.iter_mut().map(|x| Some(&mut **x)).collect();
            let mut bl: Vec<Option<&mut [Entry]>> =
                blocks.iter_mut().map(|x| Some(&mut **x)).collect();
            for a in 0..n {
                let (r, s) = (rows[a], cols[(a + d) % n]);
                let block = r * n + s;
                let taken = "each range is on a diagonal once";
                Task {
                    tables: Tables {
                        p: p[r].take().expect(taken),
                        bu: bu[r].take().expect(taken),
                        q: q[s].take().expect(taken),
                        bi: bi[s].take().expect(taken),
                        first_user: self.user_bounds[r],
                        first_item: self.item_bounds[s],
                    },
                    entries: bl[block].take().expect(taken),
                }
                .run(c);
            }
        }
    }
}

/// The table parts of every user range and item range, and the blocks' ratings; a part
/// is `None` while a thread trains a block on it.
pub(super) struct Parts<'a> {
    pub(super) p: Vec<Option<&'a mut [f32]>>,
    pub(super) bu: Vec<Option<&'a mut [f32]>>,
    pub(super) q: Vec<Option<&'a mut [f32]>>,
    pub(super) bi: Vec<Option<&'a mut [f32]>>,
    pub(super) blocks: Vec<Option<&'a mut [Entry]>>,
}

/// One epoch's order of the blocks: diagonal `t` (t = 0..n) holds block
/// (`rows[a]`, `cols[(a + diagonals[t]) % n]`) for each a.
pub(super) struct DiagonalOrder<'a> {
    pub(super) n: usize,
    pub(super) rows: &'a [usize],
    pub(super) cols: &'a [usize],
    pub(super) diagonals: &'a [usize],
    pub(super) user_bounds: &'a [u32],
    pub(super) item_bounds: &'a [u32],
}

/// Ends a dataflow epoch for every thread when the thread holding it unwinds (a panic
/// in training), so that none waits forever for the block that will not finish; the
/// panic then reaches the caller through the thread scope.
pub(super) struct WakeOnUnwind<'s, 'a> {
    pub(super) state: &'s std::sync::Mutex<Progress<'a>>,
    pub(super) wake: &'s std::sync::Condvar,
    pub(super) all: usize,
}

impl Drop for WakeOnUnwind<'_, '_> {
    fn drop(&mut self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).done = self.all;
        self.wake.notify_all();
    }
}

/// Progress of a dataflow epoch: the next diagonal of each row position `a` and of each
/// column position `c`, and the blocks done.
pub(super) struct Progress<'a> {
    pub(super) parts: Parts<'a>,
    pub(super) row_next: Vec<usize>,
    pub(super) col_next: Vec<usize>,
    pub(super) done: usize,
}

impl DiagonalOrder<'_> {
    /// The epoch on `threads` threads without a barrier between diagonals: a block may
    /// start as soon as the blocks before it on its user range and on its item range (in
    /// diagonal order) are done. Every range therefore sees its blocks in the same order
    /// as with one thread, diagonal by diagonal, so the result does not depend on the
    /// thread count or on timing; but a thread never waits for a whole diagonal to finish.
    /// The block with the lowest unfinished diagonal is always ready or running, so the
    /// schedule cannot deadlock.
    pub(super) fn run_dataflow(&self, parts: Parts<'_>, c: &SgdConstants, threads: usize) {
        let n = self.n;
        let state = std::sync::Mutex::new(Progress {
            parts,
            row_next: vec![0; n],
            col_next: vec![0; n],
            done: 0,
        });
        let wake = std::sync::Condvar::new();
        let work = || {
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if guard.done >= n * n {
                    return;
                }
                let Some((a, col, task)) = self.take_ready(&mut guard) else {
                    guard = wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                    continue;
                };
                drop(guard);
                let (r, s) = (self.rows[a], self.cols[col]);
                // Should training panic, the other threads must not wait for this block.
                let unwind = WakeOnUnwind {
                    state: &state,
                    wake: &wake,
                    all: n * n,
                };
                let Task {
                    tables, entries, ..
                } = task.run_and_return(c);
                std::mem::forget(unwind);
                guard = state.lock().unwrap_or_else(|e| e.into_inner());
                let g = &mut *guard;
                g.parts.p[r] = Some(tables.p);
                g.parts.bu[r] = Some(tables.bu);
                g.parts.q[s] = Some(tables.q);
                g.parts.bi[s] = Some(tables.bi);
                g.parts.blocks[r * n + s] = Some(entries);
                g.row_next[a] += 1;
                g.col_next[col] += 1;
                g.done += 1;
                wake.notify_all();
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..threads.min(n) {
                scope.spawn(work);
            }
            work();
        });
    }

    /// Takes the parts of a ready block (its row's and its column's previous blocks done,
    /// neither part in use): the one of the lowest diagonal, the largest among those.
    pub(super) fn take_ready<'p>(&self, g: &mut Progress<'p>) -> Option<(usize, usize, Task<'p>)> {
        let n = self.n;
        let mut best: Option<(usize, usize, usize, usize)> = None; // (t, -len, a, col)
        for a in 0..n {
            let t = g.row_next[a];
            if t == n {
                continue;
            }
            let col = (a + self.diagonals[t]) % n;
            let (r, s) = (self.rows[a], self.cols[col]);
            if g.col_next[col] != t || g.parts.p[r].is_none() || g.parts.q[s].is_none() {
                continue;
            }
            let len = g.parts.blocks[r * n + s].as_ref().map_or(0, |b| b.len());
            let better = match best {
                None => true,
                Some((bt, blen, _, _)) => t < bt || (t == bt && len > blen),
            };
            if better {
                best = Some((t, len, a, col));
            }
        }
        let (_, _, a, col) = best?;
        let (r, s) = (self.rows[a], self.cols[col]);
        let block = r * n + s;
        let taken = "a ready block's parts are free";
        let task = Task {
            tables: Tables {
                p: g.parts.p[r].take().expect(taken),
                bu: g.parts.bu[r].take().expect(taken),
                q: g.parts.q[s].take().expect(taken),
                bi: g.parts.bi[s].take().expect(taken),
                first_user: self.user_bounds[r],
                first_item: self.item_bounds[s],
            },
            entries: g.parts.blocks[block].take().expect(taken),
        };
        Some((a, col, task))
    }
}

impl<'a> Task<'a> {
    /// Trains the block.
    pub(super) fn run(self, c: &SgdConstants) {
        self.run_and_return(c);
    }

    /// [`Task::run`], handing the task's parts back.
    pub(super) fn run_and_return(mut self, c: &SgdConstants) -> Task<'a> {
        let (first, second) = self.entries.split_at(self.entries.len() / 2);
        sgd_streams(self.tables.reborrow(), first, second, c);
        self
    }
}

/// Runs `work` on each of `jobs`, one scoped thread per job (the last on this thread).
pub(super) fn on_threads<T: Send>(mut jobs: Vec<T>, work: impl Fn(T) + Sync) {
    let Some(last) = jobs.pop() else { return };
    std::thread::scope(|scope| {
        for job in jobs {
            let work = &work;
            scope.spawn(move || work(job));
        }
        work(last);
    });
}

/// `w` cut into consecutive row ranges `bounds[j]..bounds[j + 1]` of `width` floats each.
pub(super) fn split_rows<'a>(
    mut w: &'a mut [f32],
    bounds: &[u32],
    width: usize,
) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(bounds.len() - 1);
    for pair in bounds.windows(2) {
        let (head, tail) = w.split_at_mut((pair[1] - pair[0]) as usize * width);
        parts.push(head);
        w = tail;
    }
    parts
}

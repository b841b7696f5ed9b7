//! Splits: no rating lost or duplicated, folds partition, seeds reproduce, leave-k-out
//! and temporal semantics, `TrainTest`, and `--split` parsing.

use embedrec::Error;
use embedrec::data::split::{
    SplitSpec, kfold, leave_k_out, random_holdout, temporal, validation_split,
};
use embedrec::data::synthetic::{SynthParams, generate};
use embedrec::data::{Dataset, IdMap, Ratings, TrainTest};
use proptest::prelude::*;

/// True when `train` and `test` are disjoint and together hold every position of `0..n`.
fn is_partition(n: usize, train: &[usize], test: &[usize]) -> bool {
    let mut seen = vec![false; n];
    for &k in train.iter().chain(test) {
        if k >= n || seen[k] {
            return false;
        }
        seen[k] = true;
    }
    seen.iter().all(|&s| s)
}

/// Random ratings: `n` ratings over up to `users` users, distinct (user, item) pairs are
/// not required by the splits; timestamps with many ties.
fn ratings_strategy() -> impl Strategy<Value = Ratings> {
    (1usize..12, 0usize..300).prop_flat_map(|(users, n)| {
        proptest::collection::vec((0..users as u32, 0u32..50, 1u8..=5, 0i64..40), n).prop_map(
            |rows| {
                let mut r = Ratings::with_capacity(rows.len(), true);
                for (u, i, v, t) in rows {
                    r.users.push(u);
                    r.items.push(i);
                    r.values.push(v as f32);
                    r.times.as_mut().unwrap().push(t);
                }
                r
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn holdout_is_a_partition_of_the_right_size(n in 0usize..2000, f in 0.0f64..=1.0, seed: u64) {
        let (train, test) = random_holdout(n, f, seed);
        prop_assert!(is_partition(n, &train, &test));
        prop_assert_eq!(test.len(), (n as f64 * f).round() as usize);
        prop_assert!(train.windows(2).all(|w| w[0] < w[1]) && test.windows(2).all(|w| w[0] < w[1]));
        prop_assert_eq!(random_holdout(n, f, seed), (train, test));
    }

    #[test]
    fn folds_partition_the_data(n in 0usize..1000, k in 2usize..12, seed: u64) {
        let mut owner = vec![usize::MAX; n];
        for fold in 0..k {
            let (train, test) = kfold(n, k, fold, seed);
            prop_assert!(is_partition(n, &train, &test));
            prop_assert!(test.len() == n / k || test.len() == n / k + 1);
            for &t in &test {
                prop_assert_eq!(owner[t], usize::MAX, "position {} in two test folds", t);
                owner[t] = fold;
            }
        }
        prop_assert!(owner.iter().all(|&o| o != usize::MAX));
    }

    #[test]
    fn leave_k_out_is_a_partition_with_k_per_eligible_user(
        r in ratings_strategy(), k in 1usize..5, latest: bool, seed: u64,
    ) {
        let (train, test) = leave_k_out(&r, k, latest, seed).unwrap();
        prop_assert!(is_partition(r.len(), &train, &test));
        let nu = r.user_bound();
        let mut total = vec![0usize; nu];
        let mut in_test = vec![0usize; nu];
        for &u in &r.users { total[u as usize] += 1; }
        for &p in &test { in_test[r.users[p] as usize] += 1; }
        for u in 0..nu {
            let want = if total[u] > k { k } else { 0 };
            prop_assert_eq!(in_test[u], want, "user {} with {} ratings", u, total[u]);
        }
        if latest {
            // Every test rating of a user is at least as late as each of their train ratings.
            let t = r.times.as_ref().unwrap();
            for &p in &test {
                for &q in &train {
                    if r.users[p] == r.users[q] {
                        prop_assert!((t[p], r.items[p]) >= (t[q], r.items[q]));
                    }
                }
            }
        }
        prop_assert_eq!(leave_k_out(&r, k, latest, seed).unwrap(), (train, test));
    }

    #[test]
    fn temporal_puts_the_latest_into_test(r in ratings_strategy(), f in 0.01f64..0.99) {
        let (train, test) = temporal(&r, f).unwrap();
        prop_assert!(is_partition(r.len(), &train, &test));
        prop_assert_eq!(test.len(), (r.len() as f64 * f).round() as usize);
        let t = r.times.as_ref().unwrap();
        let first_test = test.iter().map(|&k| t[k]).min().unwrap_or(i64::MAX);
        let last_train = train.iter().map(|&k| t[k]).max().unwrap_or(i64::MIN);
        prop_assert!(first_test >= last_train);
    }

    #[test]
    fn every_spec_keeps_every_rating(r in ratings_strategy(), seed: u64, which in 0usize..5) {
        let spec = [
            SplitSpec::Random { test_fraction: 0.25 },
            SplitSpec::KFold { k: 3, fold: 3 },
            SplitSpec::UserOut { k: 2, latest: false },
            SplitSpec::UserOut { k: 1, latest: true },
            SplitSpec::Temporal { test_fraction: 0.3 },
        ][which];
        let (train, test) = spec.indices(&r, seed).unwrap();
        prop_assert!(is_partition(r.len(), &train, &test));
    }

    #[test]
    fn spec_display_parses_back(f in 0.001f64..0.999, k in 2usize..20, i in 0usize..20, latest: bool) {
        let fold = 1 + i % k;
        for spec in [
            SplitSpec::Random { test_fraction: f },
            SplitSpec::Temporal { test_fraction: f },
            SplitSpec::KFold { k, fold },
            SplitSpec::UserOut { k, latest },
        ] {
            prop_assert_eq!(spec.to_string().parse::<SplitSpec>().unwrap(), spec);
        }
    }

    #[test]
    fn spec_parser_never_panics(s in "\\PC{0,30}") {
        let _ = s.parse::<SplitSpec>();
    }
}

#[test]
fn different_seeds_give_different_splits() {
    let n = 1000;
    assert_ne!(random_holdout(n, 0.2, 1), random_holdout(n, 0.2, 2));
    assert_ne!(kfold(n, 5, 0, 1), kfold(n, 5, 0, 2));
    let syn = generate(&SynthParams {
        users: 50,
        items: 80,
        ratings: 2000,
        ..Default::default()
    })
    .unwrap();
    let r = &syn.dataset.ratings;
    assert_ne!(
        leave_k_out(r, 3, false, 1).unwrap(),
        leave_k_out(r, 3, false, 2).unwrap()
    );
    // `latest` does not depend on the seed.
    assert_eq!(
        leave_k_out(r, 3, true, 1).unwrap(),
        leave_k_out(r, 3, true, 2).unwrap()
    );
    assert_eq!(validation_split(r, 0.1, 9), random_holdout(r.len(), 0.1, 9));
    assert_eq!(validation_split(r, 0.1, 9).1.len(), 200);
}

#[test]
fn leave_k_out_latest_breaks_ties_by_highest_item() {
    let mut r = Ratings::default();
    // User 0: items 3 and 7 share the latest time; item 7 wins.
    r.push(0, 3, 4.0, Some(10));
    r.push(0, 7, 4.0, Some(10));
    r.push(0, 5, 4.0, Some(5));
    // User 1 has only one rating: kept in train with k = 1.
    r.push(1, 2, 3.0, Some(99));
    let (train, test) = leave_k_out(&r, 1, true, 0).unwrap();
    assert_eq!(test, vec![1]);
    assert_eq!(train, vec![0, 2, 3]);
}

#[test]
fn time_based_splits_need_timestamps() {
    let mut r = Ratings::default();
    for k in 0..10 {
        r.push(k % 2, k, 3.0, None);
    }
    assert!(matches!(temporal(&r, 0.2), Err(Error::Usage(_))));
    assert!(matches!(leave_k_out(&r, 1, true, 0), Err(Error::Usage(_))));
    assert!(leave_k_out(&r, 1, false, 0).is_ok());
    let e = SplitSpec::Temporal { test_fraction: 0.2 }
        .indices(&r, 0)
        .unwrap_err();
    assert!(e.to_string().contains("timestamps"), "{e}");
}

#[test]
fn train_test_new_keeps_everything_and_counts_unknowns() {
    let users = IdMap::from_raw(["a", "b", "c", "d"]);
    let items = IdMap::from_raw(["x", "y", "z"]);
    let mut train = Ratings::default();
    train.push(1, 0, 4.0, Some(1)); // b x
    train.push(0, 1, 3.0, Some(2)); // a y
    let mut test = Ratings::default();
    test.push(0, 0, 5.0, Some(3)); // a x: known
    test.push(2, 1, 2.0, Some(4)); // c y: unknown user
    test.push(1, 2, 1.0, Some(5)); // b z: unknown item
    let tt = TrainTest::new(train, test, users, items);
    assert_eq!((tt.train.len(), tt.test.len()), (2, 3));
    assert_eq!((tt.train_users, tt.train_items), (2, 2));
    assert_eq!(tt.test_unknown(), 2);
    // Raw ids survive the renumbering; "d" (never used) is dropped.
    let raw = |r: &Ratings, k: usize| {
        (
            tt.users.raw(r.users[k]).to_string(),
            tt.items.raw(r.items[k]).to_string(),
            r.values[k],
        )
    };
    assert_eq!(raw(&tt.train, 0), ("b".into(), "x".into(), 4.0));
    assert_eq!(raw(&tt.test, 1), ("c".into(), "y".into(), 2.0));
    assert_eq!(raw(&tt.test, 2), ("b".into(), "z".into(), 1.0));
    assert_eq!(tt.users.len(), 3);
    assert_eq!(tt.test.times, Some(vec![3, 4, 5]));
}

fn small_dataset() -> Dataset {
    generate(&SynthParams {
        users: 40,
        items: 60,
        ratings: 1500,
        ..Default::default()
    })
    .unwrap()
    .dataset
}

#[test]
fn apply_splits_a_dataset() {
    let data = small_dataset();
    for s in [
        "random:0.2",
        "kfold:5:1",
        "kfold:5:5",
        "user-out:3",
        "user-out:2:latest",
        "temporal:0.1",
    ] {
        let spec: SplitSpec = s.parse().unwrap();
        let tt = spec.apply(&data, 7).unwrap();
        assert_eq!(tt.train.len() + tt.test.len(), 1500, "{s}");
        assert_eq!(tt, spec.apply(&data, 7).unwrap(), "{s}");
        // Sum of values is preserved (nothing lost or duplicated).
        let sum = |r: &Ratings| r.values.iter().map(|&v| v as f64).sum::<f64>();
        assert_eq!(sum(&tt.train) + sum(&tt.test), sum(&data.ratings), "{s}");
    }
    let tt = "user-out:3"
        .parse::<SplitSpec>()
        .unwrap()
        .apply(&data, 1)
        .unwrap();
    assert_eq!(tt.test.len(), 40 * 3);
    assert_eq!(tt.test_unknown(), 0);
    let tt = "random:0.2"
        .parse::<SplitSpec>()
        .unwrap()
        .apply(&data, 1)
        .unwrap();
    assert_eq!(tt.test.len(), 300);
    assert!(SplitSpec::KFold { k: 5, fold: 0 }.apply(&data, 1).is_err());
}

#[test]
fn spec_parsing_good_and_bad() {
    assert_eq!(
        "random:0.25".parse::<SplitSpec>().unwrap(),
        SplitSpec::Random {
            test_fraction: 0.25
        }
    );
    assert_eq!(
        "temporal:0.1".parse::<SplitSpec>().unwrap(),
        SplitSpec::Temporal { test_fraction: 0.1 }
    );
    assert_eq!(
        "kfold:5:1".parse::<SplitSpec>().unwrap(),
        SplitSpec::KFold { k: 5, fold: 1 }
    );
    assert_eq!(
        "user-out:10".parse::<SplitSpec>().unwrap(),
        SplitSpec::UserOut {
            k: 10,
            latest: false
        }
    );
    assert_eq!(
        "user-out:1:latest".parse::<SplitSpec>().unwrap(),
        SplitSpec::UserOut { k: 1, latest: true }
    );
    // Each bad string, and a piece the message must name.
    for (bad, part) in [
        ("random:abc", "`abc`"),
        ("random:0", "`0`"),
        ("random:1", "`1`"),
        ("random:-0.2", "`-0.2`"),
        ("random:NaN", "`NaN`"),
        ("random", "random:F"),
        ("random:0.2:3", "random:F"),
        ("temporal:2", "`2`"),
        ("kfold:1:1", "`1`"),
        ("kfold:5:0", "fold `0`"),
        ("kfold:5:6", "fold `6`"),
        ("kfold:x:1", "`x`"),
        ("kfold:5", "kfold:K:I"),
        ("user-out:0", "`0`"),
        ("user-out:-1", "`-1`"),
        ("user-out:3:earliest", "`earliest`"),
        ("holdout:0.2", "`holdout`"),
        ("", "unknown split kind"),
    ] {
        match bad.parse::<SplitSpec>() {
            Err(Error::Usage(m)) => {
                assert!(m.contains(part), "{bad:?}: message {m:?} lacks {part:?}");
                assert!(
                    m.contains(&format!("`{bad}`")),
                    "{bad:?}: message {m:?} lacks the spec"
                );
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

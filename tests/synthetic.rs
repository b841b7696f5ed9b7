//! Synthetic data: reproducibility, shape, signal and the writers.

use embedrec::data::synthetic::{SynthFormat, SynthParams, Synthetic, generate, write};
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

fn default_syn() -> &'static Synthetic {
    static SYN: OnceLock<Synthetic> = OnceLock::new();
    SYN.get_or_init(|| generate(&SynthParams::default()).unwrap())
}

fn small() -> SynthParams {
    SynthParams {
        users: 60,
        items: 120,
        ratings: 2500,
        ..SynthParams::default()
    }
}

#[test]
fn seeded_generation_is_reproducible() {
    let p = small();
    assert_eq!(generate(&p).unwrap(), generate(&p).unwrap());
    let other = generate(&SynthParams {
        seed: 43,
        ..p.clone()
    })
    .unwrap();
    assert_ne!(generate(&p).unwrap().dataset.ratings, other.dataset.ratings);
    // The ratings do not depend on whether features are emitted.
    let bare = generate(&SynthParams {
        side_variables: false,
        ..p.clone()
    })
    .unwrap();
    assert_eq!(bare.dataset.ratings, generate(&p).unwrap().dataset.ratings);
    assert!(bare.dataset.features.users.is_empty() && bare.dataset.features.items.is_empty());
}

#[test]
fn default_shape_counts_ids_and_values() {
    let syn = default_syn();
    let d = &syn.dataset;
    let r = &d.ratings;
    assert_eq!(r.len(), 100_000);
    assert_eq!(d.users.len(), 943);
    assert_eq!(d.items.len(), 1682);
    assert_eq!(d.users.raw(0), "1");
    assert_eq!(d.items.raw(1681), "1682");
    assert_eq!(d.scale, embedrec::data::RatingScale::STARS_1_5);
    assert_eq!(d.source, Path::new("synthetic"));
    let pairs: HashSet<(u32, u32)> = r
        .users
        .iter()
        .copied()
        .zip(r.items.iter().copied())
        .collect();
    assert_eq!(pairs.len(), r.len(), "duplicate (user, item) pairs");
    assert!(r.users.iter().all(|&u| u < 943));
    assert!(r.items.iter().all(|&i| i < 1682));
    assert!(
        r.values
            .iter()
            .all(|&v| v.fract() == 0.0 && (1.0..=5.0).contains(&v))
    );
    let mean = r.mean();
    assert!((mean - 3.53).abs() < 0.1, "mean {mean}");
    // Every user at least 20 ratings, every item at least one.
    let mut per_user = vec![0usize; 943];
    let mut per_item = vec![0usize; 1682];
    for k in 0..r.len() {
        per_user[r.users[k] as usize] += 1;
        per_item[r.items[k] as usize] += 1;
    }
    assert!(per_user.iter().all(|&c| c >= 20));
    assert!(per_item.iter().all(|&c| c >= 1));
    // Long tails: top 10% of items hold > 35% of ratings; users are uneven too.
    per_item.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = per_item[..168].iter().sum();
    assert!(top as f64 / r.len() as f64 > 0.35, "top-10% share {top}");
    per_user.sort_unstable();
    assert!(
        per_user[942] > 4 * per_user[471],
        "max {} median {}",
        per_user[942],
        per_user[471]
    );
    // Timestamps present, from 1997-09-20 on, increasing within each user.
    let t = r.times.as_ref().unwrap();
    assert!(t.iter().all(|&x| x >= 874_724_710));
    assert!((1..r.len()).all(|k| r.users[k] != r.users[k - 1] || t[k] >= t[k - 1]));
}

#[test]
fn noise_floor_is_positive_and_below_rating_std() {
    let syn = default_syn();
    let r = &syn.dataset.ratings;
    let mean = r.mean();
    let var = r
        .values
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / r.len() as f64;
    let floor = syn.noise_floor_rmse;
    eprintln!(
        "noise floor {floor:.4}, rating std {:.4}, mean {mean:.4}",
        var.sqrt()
    );
    assert!(
        floor > 0.3 && floor < var.sqrt(),
        "floor {floor} std {}",
        var.sqrt()
    );
    let exact = generate(&SynthParams {
        noise: 0.0,
        ..small()
    })
    .unwrap();
    assert_eq!(exact.noise_floor_rmse, 0.0);
}

#[test]
fn side_variables_are_complete_and_carry_signal() {
    let d = &default_syn().dataset;
    let users = &d.features.users;
    let items = &d.features.items;
    assert_eq!(users.ids.len(), 943);
    assert_eq!(items.titles.len(), 1682);
    let occ = users.variable("occupation").unwrap();
    assert_eq!(occ.levels.len(), 21);
    assert_eq!(users.variable("gender").unwrap().levels, ["M", "F"]);
    assert_eq!(users.variable("age").unwrap().levels.len(), 7);
    let genres = items.variable("genres").unwrap();
    assert!(genres.multi_valued && genres.levels.len() == 19);
    assert!(genres.values.iter().all(|g| !g.is_empty()));
    assert!(items.variable("year").is_some());
    assert!(
        d.item_title(16)
            .unwrap()
            .starts_with("Synthetic Movie 17 (")
    );
    // Occupation signal: per-occupation mean residual (rating minus item mean) differs
    // by more than sampling noise would explain.
    let r = &d.ratings;
    let mut item_sum = vec![(0.0f64, 0usize); 1682];
    for k in 0..r.len() {
        let e = &mut item_sum[r.items[k] as usize];
        e.0 += r.values[k] as f64;
        e.1 += 1;
    }
    let mut occ_res = vec![(0.0f64, 0usize); 21];
    for k in 0..r.len() {
        let (s, n) = item_sum[r.items[k] as usize];
        let o = occ.values[r.users[k] as usize][0] as usize;
        occ_res[o].0 += r.values[k] as f64 - s / n as f64;
        occ_res[o].1 += 1;
    }
    let means: Vec<f64> = occ_res
        .iter()
        .filter(|e| e.1 >= 2000)
        .map(|e| e.0 / e.1 as f64)
        .collect();
    let spread = means.iter().cloned().fold(f64::MIN, f64::max)
        - means.iter().cloned().fold(f64::MAX, f64::min);
    // Genre signal likewise: per-genre mean residual against the user's mean.
    let mut user_sum = vec![(0.0f64, 0usize); 943];
    for k in 0..r.len() {
        let e = &mut user_sum[r.users[k] as usize];
        e.0 += r.values[k] as f64;
        e.1 += 1;
    }
    let genres = items.variable("genres").unwrap();
    let mut genre_res = vec![(0.0f64, 0usize); 19];
    for k in 0..r.len() {
        let (s, n) = user_sum[r.users[k] as usize];
        for &g in &genres.values[r.items[k] as usize] {
            genre_res[g as usize].0 += r.values[k] as f64 - s / n as f64;
            genre_res[g as usize].1 += 1;
        }
    }
    let gmeans: Vec<f64> = genre_res
        .iter()
        .filter(|e| e.1 >= 3000)
        .map(|e| e.0 / e.1 as f64)
        .collect();
    let gspread = gmeans.iter().cloned().fold(f64::MIN, f64::max)
        - gmeans.iter().cloned().fold(f64::MAX, f64::min);
    eprintln!("residual spread: genre {gspread:.3}, occupation {spread:.3}");
    assert!(
        gmeans.len() >= 5 && gspread > 0.2,
        "genre residual means {gmeans:?}"
    );
    assert!(
        means.len() >= 5 && spread > 0.2,
        "occupation residual means {means:?}"
    );
}

#[test]
fn check_rejects_bad_params() {
    let bad = [
        SynthParams {
            users: 0,
            ..small()
        },
        SynthParams {
            items: 0,
            ..small()
        },
        SynthParams {
            ratings: 0,
            ..small()
        },
        SynthParams {
            ratings: 60 * 120 + 1,
            ..small()
        },
        SynthParams { rank: 0, ..small() },
        SynthParams {
            noise: -1.0,
            ..small()
        },
        SynthParams {
            noise: f64::NAN,
            ..small()
        },
    ];
    for p in bad {
        let e = generate(&p).unwrap_err();
        assert!(matches!(e, embedrec::Error::Usage(_)), "{p:?}: {e}");
    }
    assert!(SynthParams::default().check().is_ok());
}

#[test]
fn dense_and_tiny_requests_are_exact() {
    for (users, items, ratings) in [
        (5, 7, 35),
        (5, 7, 34),
        (50, 10, 7),
        (1, 1, 1),
        (300, 20, 5000),
    ] {
        let syn = generate(&SynthParams {
            users,
            items,
            ratings,
            ..SynthParams::default()
        })
        .unwrap();
        let r = &syn.dataset.ratings;
        assert_eq!(r.len(), ratings);
        let pairs: HashSet<(u32, u32)> = r
            .users
            .iter()
            .copied()
            .zip(r.items.iter().copied())
            .collect();
        assert_eq!(pairs.len(), ratings);
        assert!(r.users.iter().all(|&u| (u as usize) < users));
        assert!(r.items.iter().all(|&i| (i as usize) < items));
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("embedrec-synth-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (user, item, value, time) rows of the dataset, by raw ids.
fn rows(syn: &Synthetic) -> Vec<(String, String, f32, i64)> {
    let d = &syn.dataset;
    let r = &d.ratings;
    let t = r.times.as_ref().unwrap();
    (0..r.len())
        .map(|k| {
            (
                d.users.raw(r.users[k]).to_string(),
                d.items.raw(r.items[k]).to_string(),
                r.values[k],
                t[k],
            )
        })
        .collect()
}

fn parse(text: &str, sep: char, header: bool) -> Vec<(String, String, f32, i64)> {
    text.lines()
        .skip(usize::from(header))
        .map(|l| {
            let f: Vec<&str> = l.split(sep).collect();
            assert_eq!(f.len(), 4, "{l}");
            (
                f[0].into(),
                f[1].into(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn write_ml100k_round_trips() {
    let syn = generate(&small()).unwrap();
    let dir = tempdir("ml100k").join("out");
    let files = write(&syn, &dir, SynthFormat::Ml100k).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for n in ["u.data", "u.user", "u.item", "u.genre", "u.occupation"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    let data = std::fs::read_to_string(dir.join("u.data")).unwrap();
    assert_eq!(parse(&data, '\t', false), rows(&syn));
    let users = std::fs::read_to_string(dir.join("u.user")).unwrap();
    let occ = syn.dataset.features.users.variable("occupation").unwrap();
    let age = syn.dataset.features.users.variable("age").unwrap();
    for (k, line) in users.lines().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 5);
        assert_eq!(f[0], (k + 1).to_string());
        let years: u32 = f[1].parse().unwrap();
        let label = &age.levels[age.values[k][0] as usize];
        assert_eq!(embedrec::data::features::age_group(years), label);
        assert_eq!(f[3], occ.levels[occ.values[k][0] as usize]);
    }
    let items = std::fs::read_to_string(dir.join("u.item")).unwrap();
    assert!(items.is_ascii());
    let genres = syn.dataset.features.items.variable("genres").unwrap();
    for (k, line) in items.lines().enumerate() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 24, "{line}");
        assert!(f[2].starts_with("01-Jan-") && f[3].is_empty() && f[4].is_empty());
        let flags: Vec<u32> = (0..19).filter(|&g| f[5 + g as usize] == "1").collect();
        assert_eq!(flags, genres.values[k]);
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("u.genre"))
            .unwrap()
            .lines()
            .count(),
        20
    );
    assert!(!dir.join("u.data.tmp").exists());
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn write_csv_file_and_folder_round_trip() {
    let syn = generate(&small()).unwrap();
    let dir = tempdir("csv");
    let file = dir.join("r.csv");
    assert_eq!(
        write(&syn, &file, SynthFormat::Csv).unwrap(),
        vec![file.clone()]
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("userId,movieId,rating,timestamp\n"));
    assert_eq!(parse(&text, ',', true), rows(&syn));
    let folder = dir.join("folder/");
    let files = write(&syn, &folder, SynthFormat::Csv).unwrap();
    assert_eq!(files.len(), 2);
    let movies = std::fs::read_to_string(dir.join("folder").join("movies.csv")).unwrap();
    assert!(movies.starts_with("movieId,title,genres\n"));
    assert_eq!(movies.lines().count(), 121);
    let text = std::fs::read_to_string(dir.join("folder").join("ratings.csv")).unwrap();
    assert_eq!(parse(&text, ',', true), rows(&syn));
    // An unwritable destination is an I/O error naming the path.
    let blocked = file.join("sub.csv");
    match write(&syn, &blocked, SynthFormat::Csv) {
        Err(embedrec::Error::Io { path, .. }) => assert_eq!(path, blocked),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "timing and shape report; run with --ignored --nocapture"]
fn report_generation_time() {
    let mut sizes = vec![
        SynthParams::default(),
        SynthParams {
            users: 6040,
            items: 3706,
            ratings: 1_000_209,
            ..SynthParams::default()
        },
    ];
    // The MovieLens 25M shape (about 0.5 GB); opt in with EMBEDREC_SYNTH_BIG=1.
    if std::env::var_os("EMBEDREC_SYNTH_BIG").is_some() {
        sizes.push(SynthParams {
            users: 162_541,
            items: 59_047,
            ratings: 25_000_095,
            ..SynthParams::default()
        });
    }
    for p in sizes {
        let t = std::time::Instant::now();
        let syn = generate(&p).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let r = &syn.dataset.ratings;
        let mut hist = [0usize; 5];
        for &v in &r.values {
            hist[v as usize - 1] += 1;
        }
        let mut per_item = vec![0usize; p.items];
        let mut per_user = vec![0usize; p.users];
        for k in 0..r.len() {
            per_item[r.items[k] as usize] += 1;
            per_user[r.users[k] as usize] += 1;
        }
        per_item.sort_unstable_by(|a, b| b.cmp(a));
        per_user.sort_unstable();
        let top: usize = per_item[..p.items / 10].iter().sum();
        eprintln!(
            "{}x{}x{}: {secs:.3}s mean {:.3} floor {:.4} hist {:?} top10% {:.3} max item {} users min/med/p90/max {}/{}/{}/{}",
            p.users,
            p.items,
            p.ratings,
            r.mean(),
            syn.noise_floor_rmse,
            hist.map(|h| (h as f64 / r.len() as f64 * 1000.0).round() / 1000.0),
            top as f64 / r.len() as f64,
            per_item[0],
            per_user[0],
            per_user[p.users / 2],
            per_user[p.users * 9 / 10],
            per_user[p.users - 1],
        );
    }
}

//! Writers of the synthetic data: MovieLens 100K files or CSV, each file written to a
//! temporary name and renamed.

use super::*;

/// File formats [`write()`] can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthFormat {
    /// A MovieLens 100K folder: `u.data`, `u.user`, `u.item`, `u.genre`, `u.occupation`.
    Ml100k,
    /// MovieLens 25M-style CSV: `ratings.csv` (and `movies.csv` when writing a folder).
    Csv,
}

/// Writes `syn` to `out` and returns the paths written.
///
/// * [`SynthFormat::Ml100k`]: `out` is a folder (created if needed) receiving `u.data`
///   (tab-separated `user item rating timestamp`), and, when the data has features,
///   `u.user` (`id|age|gender|occupation|zip`, the age an integer inside the age group,
///   the zip code made up), `u.item` (`id|title|01-Jan-YYYY|||19 genre flags`), `u.genre`
///   and `u.occupation`. All ASCII.
/// * [`SynthFormat::Csv`]: when `out` is an existing folder or ends with `/`, the folder
///   receives `ratings.csv` (header `userId,movieId,rating,timestamp`) and, when the data
///   has item features, `movies.csv` (header `movieId,title,genres`); otherwise `out` is
///   itself the ratings file.
///
/// Each file is written atomically ([`crate::files::write_atomically_with`]: through a
/// temporary file beside it, renamed when complete). Failures are [`Error::Io`] naming
/// the path.
pub fn write(syn: &Synthetic, out: &Path, format: SynthFormat) -> Result<Vec<PathBuf>> {
    let data = &syn.dataset;
    let r = &data.ratings;
    let times = r.times.as_deref();
    let mut written = Vec::new();
    match format {
        SynthFormat::Ml100k => {
            std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
            let path = out.join("u.data");
            write_atomic(&path, |w| {
                for k in 0..r.len() {
                    writeln!(
                        w,
                        "{}\t{}\t{}\t{}",
                        data.users.raw(r.users[k]),
                        data.items.raw(r.items[k]),
                        r.values[k],
                        times.map_or(0, |t| t[k])
                    )?;
                }
                Ok(())
            })?;
            written.push(path);
            if !data.features.users.is_empty() {
                let path = out.join("u.user");
                write_users(&data.features.users, &path)?;
                written.push(path);
                let path = out.join("u.occupation");
                write_atomic(&path, |w| {
                    let levels = data
                        .features
                        .users
                        .variable("occupation")
                        .map(|v| v.levels.clone())
                        .unwrap_or_default();
                    for l in levels {
                        writeln!(w, "{l}")?;
                    }
                    Ok(())
                })?;
                written.push(path);
            }
            if !data.features.items.is_empty() {
                let path = out.join("u.item");
                write_items_100k(&data.features.items, &path)?;
                written.push(path);
                let path = out.join("u.genre");
                write_atomic(&path, |w| {
                    for (k, g) in GENRES.iter().enumerate() {
                        writeln!(w, "{g}|{k}")?;
                    }
                    writeln!(w)
                })?;
                written.push(path);
            }
        }
        SynthFormat::Csv => {
            let as_dir = out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/');
            let ratings_path = if as_dir {
                std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
                out.join("ratings.csv")
            } else {
                out.to_path_buf()
            };
            write_atomic(&ratings_path, |w| {
                writeln!(w, "userId,movieId,rating,timestamp")?;
                // Each line is put together by hand in one buffer (as `{},{},{:.1},{}`
                // would print it): formatting through `fmt` was a third of the time.
                let mut line = Vec::with_capacity(64);
                for k in 0..r.len() {
                    line.clear();
                    line.extend_from_slice(data.users.raw(r.users[k]).as_bytes());
                    line.push(b',');
                    line.extend_from_slice(data.items.raw(r.items[k]).as_bytes());
                    line.push(b',');
                    let v = r.values[k];
                    if v.fract() == 0.0 && (0.0..10.0).contains(&v) {
                        line.extend_from_slice(&[b'0' + v as u8, b'.', b'0']);
                    } else {
                        write!(line, "{v:.1}")?;
                    }
                    line.push(b',');
                    push_decimal(&mut line, times.map_or(0, |t| t[k]));
                    line.push(b'\n');
                    w.write_all(&line)?;
                }
                Ok(())
            })?;
            written.push(ratings_path);
            if as_dir && !data.features.items.is_empty() {
                let path = out.join("movies.csv");
                write_movies_csv(&data.features.items, &path)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// Appends the decimal digits of `x` (as `{}` prints it).
pub(super) fn push_decimal(out: &mut Vec<u8>, x: i64) {
    if x < 0 {
        out.push(b'-');
    }
    let mut n = x.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

pub(super) fn write_users(table: &SideTable, path: &Path) -> Result<()> {
    let occ = table.variable("occupation");
    let gender = table.variable("gender");
    let age = table.variable("age");
    let level = |v: Option<&Variable>, k: usize| -> String {
        v.and_then(|v| v.values[k].first().map(|&l| v.levels[l as usize].clone()))
            .unwrap_or_else(|| "none".into())
    };
    write_atomic(path, |w| {
        for k in 0..table.ids.len() {
            let years = age_in_group(&level(age, k), k);
            let zip = 10_000 + (k as u64 * 7_919 + 12_345) % 89_999;
            writeln!(
                w,
                "{}|{}|{}|{}|{:05}",
                table.ids.raw(k as u32),
                years,
                level(gender, k),
                level(occ, k),
                zip
            )?;
        }
        Ok(())
    })
}

/// A whole age in years inside the 1M age group `label`, varying with `k`.
pub(super) fn age_in_group(label: &str, k: usize) -> u32 {
    let pos = AGE_BINS.iter().position(|(_, l)| *l == label).unwrap_or(2);
    let lo = if pos == 0 { 7 } else { AGE_BINS[pos].0 };
    let hi = AGE_BINS.get(pos + 1).map_or(73, |(next, _)| next - 1);
    lo + (k as u32 * 7) % (hi - lo + 1)
}

pub(super) fn item_year_and_genres(table: &SideTable, k: usize) -> (String, Vec<u32>) {
    let year = table
        .variable("year")
        .and_then(|v| v.values[k].first().map(|&l| v.levels[l as usize].clone()))
        .unwrap_or_else(|| "1995".into());
    let genres = table
        .variable("genres")
        .map(|v| v.values[k].clone())
        .unwrap_or_default();
    (year, genres)
}

pub(super) fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

pub(super) fn write_items_100k(table: &SideTable, path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        for k in 0..table.ids.len() {
            let (year, genres) = item_year_and_genres(table, k);
            let title = table.titles.get(k).map_or("", String::as_str);
            write!(
                w,
                "{}|{}|01-Jan-{}||",
                table.ids.raw(k as u32),
                ascii(title).replace('|', "/"),
                year
            )?;
            let mut flags = [0u8; 19];
            for g in genres {
                if let Some(f) = flags.get_mut(g as usize) {
                    *f = 1;
                }
            }
            for f in flags {
                write!(w, "|{f}")?;
            }
            writeln!(w)?;
        }
        Ok(())
    })
}

pub(super) fn write_movies_csv(table: &SideTable, path: &Path) -> Result<()> {
    let levels = table
        .variable("genres")
        .map(|v| v.levels.clone())
        .unwrap_or_default();
    write_atomic(path, |w| {
        writeln!(w, "movieId,title,genres")?;
        for k in 0..table.ids.len() {
            let (_, genres) = item_year_and_genres(table, k);
            let title = table.titles.get(k).map_or("", String::as_str);
            let title = if title.contains([',', '"']) {
                format!("\"{}\"", title.replace('"', "\"\""))
            } else {
                title.to_string()
            };
            let names: Vec<&str> = genres
                .iter()
                .filter_map(|&g| levels.get(g as usize).map(String::as_str))
                .collect();
            let genres = if names.is_empty() {
                "(no genres listed)".to_string()
            } else {
                names.join("|")
            };
            writeln!(w, "{},{},{}", table.ids.raw(k as u32), title, genres)?;
        }
        Ok(())
    })
}

/// Streams `body` through a buffer into `path` atomically, as every file embedrec
/// writes ([`crate::files::write_atomically_with`]: a temporary `.NAME.embedrec-PID-N.tmp`
/// beside it, removed on failure, SIGINT and SIGTERM, and swept by later writes when its
/// process was killed).
pub(super) fn write_atomic(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<&mut dyn Write>) -> std::io::Result<()>,
) -> Result<()> {
    crate::files::write_atomically_with(path, |w| {
        let mut w = BufWriter::with_capacity(1 << 16, w);
        body(&mut w)?;
        w.flush()
    })
}

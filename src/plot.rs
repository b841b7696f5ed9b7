//! Learning-curve figures (`embedrec train --plot FILE`): train and test RMSE per epoch,
//! like the textbook's matplotlib figure (x: epoch, y: RMSE, a line per set, a legend).
//!
//! Drawing is done by `plotters` with no font support compiled in (no `ttf` feature,
//! so no system fonts are needed anywhere):
//! - **SVG** carries all text (title, axis labels, tick labels, legend): the viewer
//!   renders the fonts.
//! - **PNG** has **no text**: plotters cannot rasterise glyphs without fonts, so the
//!   PNG shows the frame, tick marks, grid, both lines with markers and a legend box
//!   whose entries are the line samples only (train: blue, first; test: orange,
//!   second). Use SVG for a labelled figure. The RGB buffer is encoded here (zlib via
//!   `flate2`, CRCs via `crc32fast`, both already used by the zip reader), so no image
//!   crate is needed.
//!
//! Files are rendered into memory and written with [`crate::files::write_atomically`].

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::io::Write;
use std::path::Path;

/// Width of the figure in pixels.
pub const WIDTH: u32 = 800;
/// Height of the figure in pixels.
pub const HEIGHT: u32 = 500;

/// Colour of the train line (matplotlib's C0).
const TRAIN_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// Colour of the test line (matplotlib's C1).
const TEST_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);

/// Lines with more points than this are drawn without point markers.
const MAX_MARKERS: usize = 40;

/// An output format, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics, with all text.
    Svg,
    /// An RGB PNG of [`WIDTH`] x [`HEIGHT`] pixels, without text (see the module docs).
    Png,
}

impl Format {
    /// The format for `path` from its extension (`.svg` or `.png`, any case); any other
    /// extension is an [`Error::Usage`] naming the accepted ones.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(Error::Usage(format!(
                "plot file '{}': unknown format, expected a .svg or .png extension",
                path.display()
            ))),
        }
    }
}

/// Draws the learning curve (train and test RMSE against epoch) into `path`, as SVG or
/// PNG by its extension, written atomically.
///
/// `epochs`, `train` and `test` are parallel slices (one entry per epoch); NaN or
/// infinite values (e.g. no test set) are skipped, and a series with no finite value is
/// left out of the figure and its legend.
///
/// ```
/// let path = std::env::temp_dir().join(format!("embedrec-doc-{}.svg", std::process::id()));
/// embedrec::plot::learning_curve(&path, "mf", &[1, 2, 3], &[1.0, 0.9, 0.85], &[1.05, 0.97, 0.95])
///     .unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
/// std::fs::remove_file(&path).unwrap();
/// ```
pub fn learning_curve(
    path: &Path,
    title: &str,
    epochs: &[usize],
    train: &[f64],
    test: &[f64],
) -> Result<()> {
    let format = Format::from_path(path)?;
    let bytes = render(format, title, epochs, train, test).map_err(|e| match e {
        Error::Io { source, .. } => Error::io(path, source),
        other => other,
    })?;
    crate::files::write_atomically(path, &bytes)
}

/// Renders the learning curve of [`learning_curve`] into memory: the file's bytes.
///
/// Slices of different lengths are an [`Error::Usage`]; a drawing failure is an
/// [`Error::Io`] (with the placeholder path `<plot>`).
pub fn render(
    format: Format,
    title: &str,
    epochs: &[usize],
    train: &[f64],
    test: &[f64],
) -> Result<Vec<u8>> {
    if train.len() != epochs.len() || test.len() != epochs.len() {
        return Err(Error::Usage(format!(
            "learning curve: {} epochs but {} train and {} test values",
            epochs.len(),
            train.len(),
            test.len()
        )));
    }
    let fail = |e: String| Error::io(Path::new("<plot>"), std::io::Error::other(e));
    let figure = Figure {
        title,
        epochs,
        train,
        test,
    };
    match format {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                figure.draw(&root, true).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            Ok(svg.into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
                figure.draw(&root, false).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            encode_png(WIDTH, HEIGHT, &rgb).map_err(|e| fail(e.to_string()))
        }
    }
}

/// One line of the figure: legend label, colour, finite points.
type Series<'a> = (&'a str, RGBColor, Vec<(f64, f64)>);

/// The data of one figure.
struct Figure<'a> {
    title: &'a str,
    epochs: &'a [usize],
    train: &'a [f64],
    test: &'a [f64],
}

impl Figure<'_> {
    /// The finite points of one series.
    fn points(&self, values: &[f64]) -> Vec<(f64, f64)> {
        self.epochs
            .iter()
            .zip(values)
            .filter(|(_, v)| v.is_finite())
            .map(|(&e, &v)| (e as f64, v))
            .collect()
    }

    /// Draws onto `root`; with `text` false every text element is left out (its style
    /// is fully transparent, which the backends skip before touching a font).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        text: bool,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let series = [
            ("train", TRAIN_COLOR, self.points(self.train)),
            ("test", TEST_COLOR, self.points(self.test)),
        ];

        // x: epochs, y: the finite values; both padded by 5% of their span (as
        // matplotlib does) so the end markers are not cut by the frame.
        let x_lo = self.epochs.iter().copied().min().unwrap_or(1) as f64;
        let x_hi = self.epochs.iter().copied().max().unwrap_or(1) as f64;
        let x_pad = ((x_hi - x_lo) * 0.05).max(0.5);
        let (x_lo, x_hi) = (x_lo - x_pad, x_hi + x_pad);
        let (mut y_lo, mut y_hi) = series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.1))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if y_lo > y_hi {
            (y_lo, y_hi) = (0.0, 1.0);
        }
        let pad = ((y_hi - y_lo) * 0.05).max(1e-3 * y_hi.abs().max(1.0));
        let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
        // As many decimals as the tick step (1, 2 or 5 times a power of ten) needs.
        const Y_TICKS: usize = 8;
        let ticks = RangedCoordf64::from(y_lo..y_hi).key_points(Y_TICKS);
        let step = ticks.get(1).zip(ticks.first()).map_or(1.0, |(b, a)| b - a);
        let decimals = (-(step.log10() + 1e-9).floor()).clamp(0.0, 6.0) as usize;

        let ink = if text { BLACK.to_rgba() } else { TRANSPARENT };
        let font = |size: u32| ("sans-serif", size).into_font().color(&ink);
        let mut builder = ChartBuilder::on(root);
        builder.margin(if text { 10 } else { 20 });
        if text {
            builder
                .caption(self.title, font(22))
                .x_label_area_size(45)
                .y_label_area_size(65);
        } else {
            // Room for the tick marks only.
            builder.x_label_area_size(8).y_label_area_size(8);
        }
        let mut chart = builder.build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;

        // At most one tick per epoch keeps the tick step at one epoch or more; only
        // whole epochs are labelled all the same.
        let n_epochs = self.epochs.len().max(1);
        let x_fmt = |x: &f64| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        };
        let y_fmt = |y: &f64| format!("{y:.decimals$}");
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(n_epochs.min(12))
            .y_labels(Y_TICKS)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(font(14))
            .axis_desc_style(font(16))
            .light_line_style(WHITE);
        if text {
            mesh.x_desc("epoch").y_desc("RMSE");
        }
        mesh.draw()?;
        // A full frame, as matplotlib draws.
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x_lo, y_lo), (x_hi, y_hi)],
            BLACK.stroke_width(1),
        )))?;

        for (name, color, points) in &series {
            if points.is_empty() {
                continue;
            }
            let style = color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
            if points.len() <= MAX_MARKERS {
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
        if series.iter().any(|s| !s.2.is_empty()) {
            chart
                .configure_series_labels()
                .position(legend_corner(&series, (x_lo, x_hi), (y_lo, y_hi)))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                // Without text the entries keep only their line samples: a small
                // (invisible) font keeps the box tight around them.
                .label_font(font(if text { 15 } else { 8 }))
                .draw()?;
        }
        Ok(())
    }
}

/// Where the legend covers the least of the lines, in matplotlib's order of preference
/// for `loc="best"`: the lines are sampled along every segment, mapped into the unit
/// square of the plotting area, and counted in a box at each candidate place (a box a
/// quarter of the area on each side, comfortably larger than the legend).
fn legend_corner(
    series: &[Series],
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> SeriesLabelPosition {
    use SeriesLabelPosition::*;
    const SAMPLES: usize = 8;
    let mut samples = Vec::new();
    for (_, _, points) in series {
        for (i, &(x, y)) in points.iter().enumerate() {
            samples.push((x, y));
            if let Some(&(nx, ny)) = points.get(i + 1) {
                for k in 1..SAMPLES {
                    let t = k as f64 / SAMPLES as f64;
                    samples.push((x + (nx - x) * t, y + (ny - y) * t));
                }
            }
        }
    }
    let unit: Vec<(f64, f64)> = samples
        .iter()
        .map(|&(x, y)| ((x - x_lo) / (x_hi - x_lo), (y - y_lo) / (y_hi - y_lo)))
        .collect();
    // Bands of the unit square: low, middle, high.
    let band = |b: u8| match b {
        0 => (0.0, 0.25),
        1 => (0.375, 0.625),
        _ => (0.75, 1.0),
    };
    let candidates = [
        (UpperRight, 2, 2),
        (UpperLeft, 0, 2),
        (LowerLeft, 0, 0),
        (LowerRight, 2, 0),
        (MiddleRight, 2, 1),
        (MiddleLeft, 0, 1),
        (LowerMiddle, 1, 0),
        (UpperMiddle, 1, 2),
        (MiddleMiddle, 1, 1),
    ];
    let mut best = (UpperRight, usize::MAX);
    for (place, bx, by) in candidates {
        let ((u0, u1), (v0, v1)) = (band(bx), band(by));
        let covered = unit
            .iter()
            .filter(|&&(u, v)| (u0..=u1).contains(&u) && (v0..=v1).contains(&v))
            .count();
        if covered < best.1 {
            best = (place, covered);
        }
    }
    best.0
}

/// Encodes 8-bit RGB pixels (row-major, no padding) as a PNG: signature, IHDR, one
/// zlib-compressed IDAT (filter 0 on every row), IEND.
fn encode_png(width: u32, height: u32, rgb: &[u8]) -> std::io::Result<Vec<u8>> {
    let row = width as usize * 3;
    debug_assert_eq!(rgb.len(), row * height as usize);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for line in rgb.chunks_exact(row) {
        z.write_all(&[0])?;
        z.write_all(line)?;
    }
    let idat = z.finish()?;

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &idat);
    png_chunk(&mut png, b"IEND", &[]);
    Ok(png)
}

/// Appends one chunk: length, type, data, CRC-32 of type and data.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    const EPOCHS: [usize; 5] = [1, 2, 3, 4, 5];
    const TRAIN: [f64; 5] = [1.10, 0.95, 0.88, 0.84, 0.81];
    const TEST: [f64; 5] = [1.12, 1.00, 0.96, 0.95, 0.95];

    /// The trimmed contents of the SVG's `<text>` elements.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                body.trim().to_string()
            })
            .collect()
    }

    fn svg(test: &[f64]) -> String {
        let bytes = render(Format::Svg, "mf: test RMSE 0.9500", &EPOCHS, &TRAIN, test).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn svg_is_a_labelled_two_line_chart() {
        let s = svg(&TEST);
        assert!(s.starts_with("<svg"), "{}", &s[..40]);
        assert!(s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<svg").count(), 1);
        // Two data lines plus two legend samples.
        assert!(s.matches("<polyline").count() >= 4, "{s}");
        let texts = texts(&s);
        for text in [
            "train",
            "test",
            "epoch",
            "RMSE",
            "mf: test RMSE 0.9500",
            "1",
            "5",
        ] {
            assert!(
                texts.iter().any(|t| t == text),
                "missing {text} in {texts:?}"
            );
        }
        for bad in ["NaN", "inf"] {
            assert!(!s.contains(bad), "non-finite number in SVG");
        }
        // Every coordinate list is made of finite numbers.
        for attr in s.split("points=\"").skip(1) {
            let list = &attr[..attr.find('"').unwrap()];
            for n in list.split([' ', ',']).filter(|t| !t.is_empty()) {
                assert!(n.parse::<f64>().unwrap().is_finite(), "{n}");
            }
        }
    }

    #[test]
    fn nan_values_are_skipped() {
        let with_gap = svg(&[1.12, f64::NAN, 0.96, 0.95, 0.95]);
        assert!(!with_gap.contains("NaN"));
        assert!(texts(&with_gap).contains(&"test".to_string()));
        // No test set at all: the test line and its legend entry are left out.
        let no_test = svg(&[f64::NAN; 5]);
        assert!(!no_test.contains("NaN"));
        let texts = texts(&no_test);
        assert!(texts.contains(&"train".to_string()));
        assert!(!texts.contains(&"test".to_string()), "{texts:?}");
        // Nothing finite anywhere still draws an empty chart.
        let nan = [f64::NAN; 5];
        let empty = render(Format::Svg, "t", &EPOCHS, &nan, &nan).unwrap();
        assert!(empty.starts_with(b"<svg"));
        // A single epoch, and no epochs at all.
        render(Format::Svg, "t", &[1], &[0.9], &[1.0]).unwrap();
        render(Format::Png, "t", &[], &[], &[]).unwrap();
    }

    #[test]
    fn png_has_signature_size_and_both_colours() {
        let png = render(Format::Png, "mf", &EPOCHS, &TRAIN, &TEST).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR by hand: length 13, type, width, height, depth 8, colour type 2.
        assert_eq!(&png[8..12], &13u32.to_be_bytes());
        assert_eq!(&png[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        assert_eq!(be(&png[16..20]), WIDTH);
        assert_eq!(be(&png[20..24]), HEIGHT);
        assert_eq!(&png[24..26], &[8, 2]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&png[12..29]);
        assert_eq!(be(&png[29..33]), crc.finalize());

        // Walk the chunks, inflate the IDAT data and look at the pixels.
        let (mut at, mut idat, mut kinds) = (8, Vec::new(), Vec::new());
        while at < png.len() {
            let len = be(&png[at..at + 4]) as usize;
            let kind = &png[at + 4..at + 8];
            kinds.push(String::from_utf8_lossy(kind).into_owned());
            if kind == b"IDAT" {
                idat.extend_from_slice(&png[at + 8..at + 8 + len]);
            }
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap();
        let row = WIDTH as usize * 3 + 1;
        assert_eq!(raw.len(), row * HEIGHT as usize);
        assert!(raw.chunks(row).all(|r| r[0] == 0), "filter byte");
        let has = |c: RGBColor| {
            raw.chunks(row)
                .flat_map(|r| r[1..].chunks(3))
                .filter(|p| *p == [c.0, c.1, c.2])
                .count()
        };
        assert!(has(TRAIN_COLOR) > 100, "train line missing");
        assert!(has(TEST_COLOR) > 100, "test line missing");
        assert!(has(WHITE) > (WIDTH * HEIGHT / 2) as usize, "background");
    }

    #[test]
    fn bad_extension_is_a_usage_error() {
        for name in ["curve.pdf", "curve", "curve.svg.txt"] {
            let err = learning_curve(Path::new(name), "t", &EPOCHS, &TRAIN, &TEST).unwrap_err();
            assert!(matches!(err, Error::Usage(_)), "{err}");
            let msg = err.to_string();
            assert!(msg.contains(".svg") && msg.contains(".png"), "{msg}");
            assert_eq!(err.exit_code(), 2);
        }
        assert_eq!(Format::from_path(Path::new("A.SVG")).unwrap(), Format::Svg);
        assert_eq!(Format::from_path(Path::new("a.png")).unwrap(), Format::Png);
    }

    #[test]
    fn legend_goes_where_the_lines_are_not() {
        let line = |ys: &[f64]| -> Vec<(f64, f64)> {
            ys.iter().enumerate().map(|(i, &y)| (i as f64, y)).collect()
        };
        let place = |a: &[f64], b: &[f64]| {
            let series = [
                ("train", TRAIN_COLOR, line(a)),
                ("test", TEST_COLOR, line(b)),
            ];
            legend_corner(&series, (0.0, 4.0), (0.0, 1.0))
        };
        // Falling curves leave the upper right free.
        assert!(matches!(
            place(&[0.9, 0.5, 0.3, 0.2, 0.1], &[0.95, 0.7, 0.6, 0.55, 0.5]),
            SeriesLabelPosition::UpperRight
        ));
        // A high and a low flat line (the baseline): the middle of the right side.
        assert!(matches!(
            place(&[0.05; 5], &[0.95; 5]),
            SeriesLabelPosition::MiddleRight
        ));
        // Rising curves: the upper left.
        assert!(matches!(
            place(&[0.1, 0.2, 0.3, 0.5, 0.9], &[0.2, 0.3, 0.4, 0.6, 0.95]),
            SeriesLabelPosition::UpperLeft
        ));
    }

    #[test]
    fn mismatched_lengths_are_a_usage_error() {
        let err = render(Format::Svg, "t", &EPOCHS, &TRAIN[..4], &TEST).unwrap_err();
        assert!(matches!(err, Error::Usage(_)));
    }

    #[test]
    fn writes_atomically_to_the_path() {
        let dir = std::env::temp_dir().join(format!("embedrec-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["c.svg", "c.png"] {
            let path = dir.join(name);
            learning_curve(&path, "mf", &EPOCHS, &TRAIN, &TEST).unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 1000);
        }
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "temp files left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! `embedrec train --plot`: the binary writes the learning-curve figure next to the CSV.

mod common;
use common::{TempDir, embedrec, stderr};

fn synth(dir: &TempDir) -> String {
    let data = dir.path("data");
    let data = data.to_str().unwrap();
    let o = embedrec(&[
        "data",
        "synth",
        "--out",
        data,
        "--users",
        "100",
        "--items",
        "150",
        "--ratings",
        "3000",
    ]);
    assert!(o.status.success(), "synth failed: {}", stderr(&o));
    data.to_string()
}

fn train(data: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--model",
        "mf",
        "--data",
        data,
        "--split",
        "random:0.2",
        "--epochs",
        "3",
        "--dim",
        "4",
    ];
    args.extend_from_slice(extra);
    embedrec(&args)
}

#[test]
fn train_writes_svg_plot_and_curve() {
    let dir = TempDir::new("plot");
    let data = synth(&dir);
    let (svg, csv) = (dir.path("F.svg"), dir.path("F.csv"));
    let o = train(
        &data,
        &[
            "--plot",
            svg.to_str().unwrap(),
            "--curve",
            csv.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg"));
    // plotters puts each text on a line of its own inside <text>.
    assert!(svg.contains("\ntrain\n</text>") && svg.contains("\ntest\n</text>"));
    assert!(svg.contains("\nmf: final test RMSE "), "title");
    assert!(!svg.contains("NaN"));
}

#[test]
fn train_writes_png_plot() {
    let dir = TempDir::new("plot-png");
    let data = synth(&dir);
    let png = dir.path("F.png");
    let o = train(&data, &["--plot", png.to_str().unwrap()]);
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    let png = std::fs::read(&png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
}

#[test]
fn bad_plot_extension_fails_before_training() {
    let dir = TempDir::new("plot-bad");
    let pdf = dir.path("F.pdf");
    // The data path does not exist: the flag error must come first.
    let o = train(
        dir.path("missing").to_str().unwrap(),
        &["--plot", pdf.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains(".svg") && err.contains(".png"), "{err}");
    assert!(!pdf.exists());
}

//! The textbook presets reproduce the Keras reference curves (TensorFlow 2.21 /
//! Keras 3.15.1, measured on ML-100K; ../shared/reference/textbook-keras/).

mod common;
use common::*;

/// book-mf tracks Keras's curve within 0.01 at every epoch, and has (U + I) x 201
/// parameters for the users and items it has rows for.
fn check_book_mf(split: &str, final_rmse: f64) {
    let csv = format!("mf_sgd_{split}.csv");
    let Some(j) = check_preset_against_keras("mf", "book-mf", split, &csv, final_rmse, 0.01) else {
        return;
    };
    let (users, items) = (j["users"].as_u64().unwrap(), j["items"].as_u64().unwrap());
    assert_eq!(j["param_count"].as_u64().unwrap(), (users + items) * 201);
}

#[test]
fn book_mf_reproduces_keras_on_u1() {
    // Keras 3.15 on u1.base/u1.test: 1.1268; rows for the 943 users and 1650 items of u1.base.
    check_book_mf("u1", 1.1268);
}

#[test]
fn book_mf_reproduces_keras_on_book75() {
    // Keras 3.15 on book75.base/book75.test: 1.0989.
    check_book_mf("book75", 1.0989);
}

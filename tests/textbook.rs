//! The textbook presets reproduce the Keras reference curves (TensorFlow 2.21 /
//! Keras 3.15.1, measured on ML-100K; ../shared/reference/textbook-keras/).

mod common;
use common::*;

fn check_book_mf(split: &str, final_rmse: f64) {
    let (Some(data), Some(refs)) = (ml100k(), keras_reference_dir()) else {
        return;
    };
    let train = data.join(format!("{split}.base"));
    let test = data.join(format!("{split}.test"));
    let o = embedrec(&[
        "train",
        "--model",
        "mf",
        "--preset",
        "book-mf",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    let rmse = j["test_rmse"].as_f64().unwrap();
    assert!(
        (rmse - final_rmse).abs() <= 0.01,
        "{split}: test RMSE {rmse}, Keras {final_rmse}"
    );
    let (users, items) = (j["users"].as_u64().unwrap(), j["items"].as_u64().unwrap());
    assert_eq!(j["param_count"].as_u64().unwrap(), (users + items) * 201);
    let history = j["history"].as_array().unwrap();
    let reference = keras_reference_curve(&refs.join(format!("mf_sgd_{split}.csv")));
    assert_eq!(history.len(), reference.len());
    for (h, (epoch, keras)) in history.iter().zip(reference) {
        assert_eq!(h["epoch"].as_u64(), Some(epoch));
        let ours = h["test_rmse"].as_f64().unwrap();
        assert!(
            (ours - keras).abs() <= 0.01,
            "{split} epoch {epoch}: ours {ours}, Keras {keras}"
        );
    }
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

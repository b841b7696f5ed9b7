//! Summary statistics of a dataset (`embedrec data stats`).

use super::Dataset;
use serde::Serialize;

/// What `embedrec data stats` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Number of ratings.
    pub ratings: usize,
    /// Distinct users.
    pub users: usize,
    /// Distinct items.
    pub items: usize,
    /// ratings / (users x items).
    pub density: f64,
    /// Mean rating.
    pub mean_rating: f64,
    /// (rating value, count), ascending by value.
    pub histogram: Vec<(f32, usize)>,
    /// Ratings per user at the quantiles of [`QUANTILES`].
    pub user_activity: Vec<(f64, u32)>,
    /// Ratings per item at the quantiles of [`QUANTILES`].
    pub item_popularity: Vec<(f64, u32)>,
    /// The most-rated items, most first.
    pub top_items: Vec<TopItem>,
}

/// One line of the most-rated list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopItem {
    /// Raw item id.
    pub item: String,
    /// Number of ratings.
    pub count: u32,
    /// Title, when metadata has one.
    pub title: Option<String>,
}

/// The quantiles reported for activity and popularity.
pub const QUANTILES: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// Computes [`Stats`], with the `top` most-rated items.
pub fn stats(data: &Dataset, top: usize) -> Stats {
    let r = &data.ratings;
    let (users, items) = (data.users.len(), data.items.len());
    let mut per_user = vec![0u32; users];
    let mut per_item = vec![0u32; items];
    for (&u, &i) in r.users.iter().zip(&r.items) {
        per_user[u as usize] += 1;
        per_item[i as usize] += 1;
    }
    let mut values = r.values.clone();
    values.sort_by(f32::total_cmp);
    let mut histogram: Vec<(f32, usize)> = Vec::new();
    for v in values {
        match histogram.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => histogram.push((v, 1)),
        }
    }
    let mut order: Vec<u32> = (0..items as u32).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(per_item[i as usize]), i));
    let top_items = order
        .iter()
        .take(top)
        .map(|&i| TopItem {
            item: data.items.raw(i).to_string(),
            count: per_item[i as usize],
            title: data.item_title(i).map(str::to_string),
        })
        .collect();
    let cells = users as f64 * items as f64;
    Stats {
        ratings: r.len(),
        users,
        items,
        density: if cells > 0.0 {
            r.len() as f64 / cells
        } else {
            0.0
        },
        mean_rating: r.mean(),
        histogram,
        user_activity: quantiles(per_user),
        item_popularity: quantiles(per_item),
        top_items,
    }
}

/// Nearest-rank quantiles of `counts`.
fn quantiles(mut counts: Vec<u32>) -> Vec<(f64, u32)> {
    counts.sort_unstable();
    if counts.is_empty() {
        return Vec::new();
    }
    QUANTILES
        .iter()
        .map(|&q| (q, counts[((counts.len() - 1) as f64 * q).round() as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Features, IdMap, RatingScale, Ratings};

    #[test]
    fn counts_histogram_quantiles_and_top_items() {
        let mut ratings = Ratings::default();
        for (u, i, v) in [(0, 0, 5.0), (1, 0, 4.0), (2, 0, 4.0), (0, 1, 1.0)] {
            ratings.push(u, i, v, None);
        }
        let data = Dataset {
            ratings,
            users: IdMap::from_raw(["a", "b", "c"]),
            items: IdMap::from_raw(["x", "y"]),
            features: Features::default(),
            scale: RatingScale::STARS_1_5,
            source: "test".into(),
            warnings: vec![],
        };
        let s = stats(&data, 1);
        assert_eq!((s.ratings, s.users, s.items), (4, 3, 2));
        assert!((s.density - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(s.histogram, vec![(1.0, 1), (4.0, 2), (5.0, 1)]);
        assert_eq!(s.user_activity.first(), Some(&(0.0, 1)));
        assert_eq!(s.user_activity.last(), Some(&(1.0, 2)));
        assert_eq!(
            s.top_items,
            vec![TopItem {
                item: "x".into(),
                count: 3,
                title: None
            }]
        );
    }
}

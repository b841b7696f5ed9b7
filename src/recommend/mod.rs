//! Recommendation: top-N lists with a bounded heap and the exclusion of each user's
//! training items ([`top_n`], [`top_n_all_users`] scored in tiles), the lists of a saved
//! model by raw ids with the popularity fallback and similar items ([`lists`]), and the
//! fold-in of a new user ([`fold_in`]).

mod all_users;
mod fold_in;
mod lists;

pub use crate::metrics::heap::top_n;
pub use all_users::{top_n_all_users, top_n_for_users};
pub use fold_in::{FoldedUser, fold_in, recommend_folded};
pub use lists::{
    Recommendation, RecommendationList, RowList, has_item_embeddings, item_embeddings,
    item_popularity, popular_items, recommend_user, recommend_user_with, similar_items,
};

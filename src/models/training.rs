//! The training fields of the kinds trained by the epoch loop (mf, deep, neumf,
//! autorec), declared once: [`with_training_fields!`] puts them into a params struct and
//! builds the loop's [`Schedule`](crate::train::Schedule) from them.
//!
//! The fields stay fields of each params struct, so config files, model files and
//! struct literals (`MfParams { epochs: 10, ..Default::default() }`) keep their keys;
//! each kind keeps its own defaults (its `Default`) and its serde attributes (unknown
//! keys refused where they were), and the fields keep their places (serde's list of
//! expected fields in an unknown-key error reads as before).

/// Declares a params struct as written, with two markers standing for the shared
/// training fields: `..schedule,` for `epochs`, `batch`, `optimizer`, `lr`, `lr_decay`
/// and `..stopping,` for `seed`, `patience`, `val_fraction`, `clip`; and gives it a
/// `schedule()`, the epoch loop's [`Schedule`](crate::train::Schedule) of them.
macro_rules! with_training_fields {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$a:meta])* pub $fa:ident : $ta:ty, )*
            ..schedule,
            $( $(#[$b:meta])* pub $fb:ident : $tb:ty, )*
            ..stopping,
            $( $(#[$c:meta])* pub $fc:ident : $tc:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$a])* pub $fa: $ta, )*
            /// Training epochs (the maximum, with early stopping).
            pub epochs: usize,
            /// Examples per minibatch (ratings; autorec: items).
            pub batch: usize,
            /// Update rule.
            pub optimizer: $crate::nn::Optimizer,
            /// Learning rate of the first epoch.
            pub lr: f32,
            /// Learning-rate multiplier after each epoch (1 = constant).
            pub lr_decay: f32,
            $( $(#[$b])* pub $fb: $tb, )*
            /// Seed of initialisation and shuffling (and dropout, where there is any).
            pub seed: u64,
            /// Early-stopping patience in epochs (0 = off; needs `val_fraction` > 0).
            pub patience: usize,
            /// Share of the training data carved out for early stopping (0 = none).
            pub val_fraction: f64,
            /// Clip predictions to the rating scale.
            pub clip: bool,
            $( $(#[$c])* pub $fc: $tc, )*
        }

        impl $name {
            /// The epoch loop's schedule of these params.
            pub(crate) fn schedule(&self) -> $crate::train::Schedule {
                $crate::train::Schedule {
                    epochs: self.epochs,
                    batch: self.batch,
                    lr: self.lr,
                    lr_decay: self.lr_decay,
                    seed: self.seed,
                    patience: self.patience,
                }
            }
        }
    };
}
pub(crate) use with_training_fields;

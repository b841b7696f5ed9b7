//! The flags of `embedrec train`: the model kind, the data, the hyper-parameters.

use super::*;

/// `--model`: the registry's kinds, each with its one-line description.
fn model_kinds() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        crate::models::REGISTRY
            .iter()
            .map(|k| clap::builder::PossibleValue::new(k.name).help(k.about)),
    )
}

/// How an implicit model's test data is ranked.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Protocol A: every item the user has not rated in training is ranked.
    Full,
    /// Protocol B (NCF): each test item among 99 items the user never rated, sampled
    /// with a fixed seed.
    Sampled,
}

/// Where the training and test data come from.
#[derive(Args, Debug, Clone)]
pub(crate) struct DataArgs {
    /// Training ratings file (with --test).
    #[arg(long, requires = "test", conflicts_with_all = ["data", "split"])]
    pub train: Option<PathBuf>,
    /// Test ratings file (with --train).
    #[arg(long, requires = "train")]
    pub test: Option<PathBuf>,
    /// A ratings file or MovieLens folder to split (with --split).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// random:F | kfold:K:I | user-out:K[:latest] | temporal:F (F = test fraction).
    #[arg(long, requires = "data")]
    pub split: Option<String>,
    #[command(flatten)]
    pub reader: ReaderArgs,
}

impl DataArgs {
    /// Loads the data and builds the split (`seed` drives random splits), keeping the
    /// timestamps in the split when the split or `keep_times` (a model that reads them,
    /// e.g. ease with recency) needs them. The returned `Dataset`'s ratings are empty
    /// (they live on in the split): training reads the split, the dataset gives the
    /// scale, ids and metadata.
    pub(crate) fn load_keeping_times(
        &self,
        seed: u64,
        keep_times: bool,
    ) -> Result<(Dataset, TrainTest)> {
        let mut opts = self.reader.options()?;
        let (mut data, split) = match (&self.train, &self.test, &self.data, &self.split) {
            (Some(train), Some(test), None, None) => {
                opts.drop_times = !keep_times;
                data::load_train_test(train, test, &opts)?
            }
            (None, None, Some(path), Some(spec)) => {
                let spec: SplitSpec = spec.parse()?;
                opts.drop_times = !spec.needs_times() && !keep_times;
                let data = data::load(path, &opts)?;
                let split = spec.apply(&data, seed)?;
                (data, split)
            }
            _ => {
                return Err(Error::Usage(
                    "give either --train FILE --test FILE or --data PATH --split SPEC".into(),
                ));
            }
        };
        print_warnings(&data.warnings);
        data.ratings = Default::default();
        Ok((data, split))
    }
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    /// Model to train.
    #[arg(long, value_parser = model_kinds())]
    pub(super) model: String,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Named settings: book-mf (the textbook's Keras MF); book-dl, book-dl-occ (its deep
    /// model, without and with an occupation embedding); next-item (ease: predicting each
    /// user's next interaction, with recency).
    #[arg(long)]
    pub(super) preset: Option<String>,
    /// TOML file of hyper-parameters (keys as in the params table of the docs);
    /// precedence: defaults < --preset < --config < flags.
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    #[command(flatten)]
    pub(super) hyper: HyperArgs,
    /// Baseline: L2 shrinkage of user biases.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) reg_user: Option<f64>,
    /// Baseline: L2 shrinkage of item biases.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) reg_item: Option<f64>,
    /// kNN: neighbours per prediction.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) neighbors: Option<usize>,
    /// kNN: similarity shrinkage.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) shrinkage: Option<f64>,
    /// Blend: member model kinds, each trained with its own defaults (default mf,knn,autorec).
    #[arg(long, value_name = "LIST", help_heading = "Hyper-parameters")]
    pub(super) members: Option<String>,
    /// Blend: L2 penalty on the member weights.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) ridge: Option<f64>,
    /// Blend: folds of the out-of-fold member predictions the weights are fitted on (1:
    /// one carve of --val-fraction). Default 5.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) blend_folds: Option<usize>,
    /// Treat the ratings as implicit feedback (interactions): the model is trained for
    /// top-N ranking and reports ranking metrics. Implied by --model ials.
    #[arg(long, help_heading = "Implicit feedback")]
    pub(super) implicit: bool,
    /// Implicit: interactions are the training ratings >= R (default: every rating).
    #[arg(long, value_name = "R", help_heading = "Implicit feedback")]
    pub(super) min_rating: Option<f32>,
    /// Implicit: a test item is relevant when its rating is >= T, or 'none' (every test
    /// item); default 4, or none when the file has no rating column.
    #[arg(long, value_name = "T", help_heading = "Implicit feedback")]
    pub(super) threshold: Option<String>,
    /// Ranking losses: negatives per positive (warp: most trials; 0 = the loss's default).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) negatives: Option<usize>,
    /// Ranking losses: uniform | popularity negative sampling.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) sampling: Option<String>,
    /// Implicit: how the test data is ranked: full (every item the user has not rated in
    /// training) or sampled (each test item among 99 sampled unrated items, NCF).
    #[arg(long, value_enum, help_heading = "Implicit feedback")]
    pub(super) protocol: Option<Protocol>,
    /// iALS: confidence weight alpha.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) alpha: Option<f32>,
    /// iALS: binary | linear | log | log:EPS (confidence 1 + alpha f(value)).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) confidence: Option<String>,
    /// iALS: conjugate-gradient steps per row and sweep.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) cg_steps: Option<usize>,
    /// iALS: a row's L2 is l2 * (its interactions)^E.
    #[arg(long, value_name = "E", help_heading = "Hyper-parameters")]
    pub(super) l2_exponent: Option<f32>,
    /// EASE: weight a user's training interactions by 1 + BETA exp(-r / TAU), r = the
    /// user's interactions after it (needs timestamps), or 'none'.
    #[arg(long, value_name = "BETA:TAU", help_heading = "Hyper-parameters")]
    pub(super) recency: Option<String>,
    /// FM: Gibbs sweeps of each chain.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) sweeps: Option<usize>,
    /// FM: independent Gibbs chains, their samples pooled (--sweeps, --burn-in and --keep
    /// are per chain; --threads runs chains at once).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) chains: Option<usize>,
    /// FM: sweeps discarded before samples are kept.
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) burn_in: Option<usize>,
    /// FM: samples kept of each chain (evenly thinned after burn-in).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) keep: Option<usize>,
    /// FM: mcmc (Gibbs sampling) | als (alternating least squares for a fixed --l2).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) solver: Option<String>,
    /// FM: gaussian | ordered-probit (rating levels as intervals of a latent normal).
    #[arg(long, help_heading = "Hyper-parameters")]
    pub(super) link: Option<String>,
    /// Random seed (splits, initialisation, shuffling).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Write the per-epoch history as CSV (epoch,train_rmse,test_rmse,seconds).
    #[arg(long, value_name = "FILE")]
    pub(crate) curve: Option<PathBuf>,
    /// Draw train and test RMSE per epoch into FILE.svg (labelled) or FILE.png (no text).
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Save the trained model to this file (see `embedrec predict`).
    #[arg(long, value_name = "MODEL")]
    pub(crate) out: Option<PathBuf>,
    /// Print one JSON object as the last line (see the contract in docs/reference.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Hyper-parameter flags of the neural models; each overrides preset and config.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Hyper-parameters")]
pub(crate) struct HyperArgs {
    /// Latent factors K.
    #[arg(long)]
    pub(super) dim: Option<usize>,
    /// Training epochs (ALS sweeps for the baseline).
    #[arg(long)]
    pub(super) epochs: Option<usize>,
    /// Ratings per minibatch.
    #[arg(long)]
    pub(super) batch: Option<usize>,
    /// sgd | adam | adamax | adagrad.
    #[arg(long)]
    pub(super) optimizer: Option<String>,
    /// Learning rate.
    #[arg(long)]
    pub(super) lr: Option<f32>,
    /// Learning-rate multiplier applied after every epoch.
    #[arg(long)]
    pub(super) lr_decay: Option<f32>,
    /// SGD momentum.
    #[arg(long)]
    pub(super) momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub(super) nesterov: bool,
    /// L2 on the embedding tables.
    #[arg(long)]
    pub(super) l2: Option<f32>,
    /// L2 on the bias tables.
    #[arg(long)]
    pub(super) l2_bias: Option<f32>,
    /// rows (per lookup) | table (Keras: whole table every step).
    #[arg(long)]
    pub(super) l2_mode: Option<String>,
    /// uniform:A | normal:STD | zeros.
    #[arg(long)]
    pub(super) init: Option<String>,
    /// mse | rmse (batch RMSE, as the textbook's Keras code); mf, deep and neumf on
    /// implicit feedback: bpr | warp | bce | softmax (a ranking loss implies --implicit).
    #[arg(long)]
    pub(super) loss: Option<String>,
    /// Early stopping: epochs without a better validation RMSE (needs --val-fraction;
    /// default 0 = off, except autorec: 10 on a 0.1 carve, then a refit on all the
    /// ratings; --patience 0 turns that off).
    #[arg(long)]
    pub(super) patience: Option<usize>,
    /// Share of the training data carved out for validation (autorec default 0.1).
    #[arg(long)]
    pub(super) val_fraction: Option<f64>,
    /// Training threads (mf: > 1 only for per-example plain SGD, see the docs of
    /// MfParams; deep: threads of the dense layers' matrix products; blend: folds
    /// trained at once).
    #[arg(long)]
    pub(super) threads: Option<usize>,
    /// NeuMF: size of each MLP-tower embedding (--dim is the GMF tower's).
    #[arg(long)]
    pub(super) mlp_dim: Option<usize>,
    /// Deep, neumf: hidden layer widths, e.g. 2048,256 (empty: no hidden layer).
    #[arg(long, value_name = "LIST")]
    pub(super) hidden: Option<String>,
    /// Deep: linear | relu | leaky_relu[:A] | tanh | sigmoid.
    #[arg(long)]
    pub(super) activation: Option<String>,
    /// Deep: dropout rate after each hidden layer.
    #[arg(long)]
    pub(super) dropout: Option<f32>,
    /// Deep: side variables as name:size, e.g. occupation:3,genres:8.
    #[arg(long, value_name = "LIST")]
    pub(super) features: Option<String>,
    /// Deep: L2 on the dense kernels (Keras kernel_regularizer semantics).
    #[arg(long)]
    pub(super) l2_dense: Option<f32>,
    /// Deep: feed P_u * Q_i (element-wise) to the first layer as an extra input block.
    #[arg(long, value_name = "BOOL")]
    pub(super) product: Option<bool>,
    /// Deep: add b_u + b_i to the output directly (the biases also feed the network).
    #[arg(long, value_name = "BOOL")]
    pub(super) bias_shortcut: Option<bool>,
    /// Deep: factors of the separate dot-product tables whose <P_u, Q_i> is added at the
    /// output (0 = none).
    #[arg(long, value_name = "N")]
    pub(super) dot_dim: Option<usize>,
    /// Deep: L2 on the dot-product tables (same --l2-mode).
    #[arg(long)]
    pub(super) l2_dot: Option<f32>,
    /// Deep: L2 on the side-variable tables (same --l2-mode; default: --l2).
    #[arg(long)]
    pub(super) l2_side: Option<f32>,
    /// Deep: none | mf (initialise the dot tables and the biases from MF trained first on
    /// the same training data, with its own defaults and K = --dot-dim).
    #[arg(long)]
    pub(super) pretrain: Option<String>,
    /// Deep: multiplier of --lr for the user, item, dot and bias tables (side-variable
    /// tables and dense layers use --lr).
    #[arg(long)]
    pub(super) table_lr: Option<f32>,
}

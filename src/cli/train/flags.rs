//! Which hyper-parameter flags each kind takes; any other given is a usage error naming
//! the flag and the kind.

use super::*;

/// The implicit-feedback flags: what becomes an interaction, what is relevant, how the
/// test data is ranked.
pub(super) const IMPLICIT: &[&str] = &["--implicit", "--min-rating", "--threshold", "--protocol"];
/// The ranking-loss flags.
pub(super) const RANKING: &[&str] = &["--negatives", "--sampling"];
/// The schedule and optimizer flags of the minibatch networks.
pub(super) const NETWORK: &[&str] = &[
    "--dim",
    "--epochs",
    "--batch",
    "--optimizer",
    "--lr",
    "--lr-decay",
    "--momentum",
    "--nesterov",
    "--l2",
    "--l2-bias",
    "--l2-mode",
    "--init",
    "--loss",
    "--patience",
    "--val-fraction",
    "--threads",
];

/// The one table of the hyper-parameter flags each model kind takes (on ratings, and on
/// implicit feedback where the kind trains on both). Any other hyper-parameter flag is
/// a usage error naming the flag and the kind, found before any data is read. Data,
/// output and reporting flags (`--train`, `--seed`, `--json`, ...) apply to every kind;
/// `--preset` and `--config` are checked by each kind's params.
pub(super) fn accepted_flags(kind: ModelKind, implicit: bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    let deep_only: &[&str] = &[
        "--hidden",
        "--activation",
        "--dropout",
        "--features",
        "--l2-dense",
        "--product",
        "--bias-shortcut",
        "--dot-dim",
        "--l2-dot",
        "--l2-side",
        "--pretrain",
        "--table-lr",
    ];
    let neumf_only: &[&str] = &["--mlp-dim", "--hidden", "--activation", "--l2-dense"];
    match (kind, implicit) {
        (ModelKind::Baseline, _) => v.extend(["--epochs", "--reg-user", "--reg-item"]),
        (ModelKind::Knn, _) => v.extend([
            "--neighbors",
            "--shrinkage",
            "--epochs",
            "--reg-user",
            "--reg-item",
        ]),
        (ModelKind::Mf, false) => v.extend(NETWORK),
        (ModelKind::Mf, true) => {
            v.extend([
                "--dim",
                "--epochs",
                "--optimizer",
                "--lr",
                "--lr-decay",
                "--l2",
                "--l2-bias",
                "--init",
                "--loss",
            ]);
            v.extend(IMPLICIT);
            v.extend(RANKING);
        }
        (ModelKind::Deep | ModelKind::Neumf, implicit) => {
            v.extend(NETWORK);
            v.extend(if kind == ModelKind::Deep {
                deep_only
            } else {
                neumf_only
            });
            if implicit {
                // The ranking trainer has no validation data to stop on.
                v.retain(|f| !matches!(*f, "--patience" | "--val-fraction"));
                v.extend(IMPLICIT);
                v.extend(RANKING);
            }
        }
        (ModelKind::Autorec, _) => v.extend([
            "--epochs",
            "--batch",
            "--optimizer",
            "--lr",
            "--lr-decay",
            "--momentum",
            "--nesterov",
            "--l2",
            "--patience",
            "--val-fraction",
            "--hidden",
        ]),
        (ModelKind::Blend, _) => v.extend(["--members", "--ridge", "--val-fraction"]),
        (ModelKind::Ials, _) => {
            v.extend([
                "--dim",
                "--epochs",
                "--l2",
                "--threads",
                "--init",
                "--alpha",
                "--confidence",
                "--cg-steps",
                "--l2-exponent",
            ]);
            v.extend(IMPLICIT);
        }
        (ModelKind::Ease, _) => {
            v.extend(["--l2", "--threads", "--recency"]);
            v.extend(IMPLICIT);
        }
        (ModelKind::Popularity, _) => v.extend(IMPLICIT),
        (ModelKind::Fm, _) => v.extend([
            "--dim",
            "--sweeps",
            "--burn-in",
            "--keep",
            "--features",
            "--solver",
            "--link",
            "--l2",
            "--threads",
        ]),
    }
    v
}

impl TrainArgs {
    /// Every hyper-parameter flag, as spelled on the command line, with whether it was
    /// given.
    pub(super) fn hyper_flags(&self) -> Vec<(&'static str, bool)> {
        let h = &self.hyper;
        vec![
            ("--dim", h.dim.is_some()),
            ("--epochs", h.epochs.is_some()),
            ("--batch", h.batch.is_some()),
            ("--optimizer", h.optimizer.is_some()),
            ("--lr", h.lr.is_some()),
            ("--lr-decay", h.lr_decay.is_some()),
            ("--momentum", h.momentum.is_some()),
            ("--nesterov", h.nesterov),
            ("--l2", h.l2.is_some()),
            ("--l2-bias", h.l2_bias.is_some()),
            ("--l2-mode", h.l2_mode.is_some()),
            ("--init", h.init.is_some()),
            ("--loss", h.loss.is_some()),
            ("--patience", h.patience.is_some()),
            ("--val-fraction", h.val_fraction.is_some()),
            ("--threads", h.threads.is_some()),
            ("--mlp-dim", h.mlp_dim.is_some()),
            ("--hidden", h.hidden.is_some()),
            ("--activation", h.activation.is_some()),
            ("--dropout", h.dropout.is_some()),
            ("--features", h.features.is_some()),
            ("--l2-dense", h.l2_dense.is_some()),
            ("--product", h.product.is_some()),
            ("--bias-shortcut", h.bias_shortcut.is_some()),
            ("--dot-dim", h.dot_dim.is_some()),
            ("--l2-dot", h.l2_dot.is_some()),
            ("--l2-side", h.l2_side.is_some()),
            ("--pretrain", h.pretrain.is_some()),
            ("--table-lr", h.table_lr.is_some()),
            ("--reg-user", self.reg_user.is_some()),
            ("--reg-item", self.reg_item.is_some()),
            ("--neighbors", self.neighbors.is_some()),
            ("--shrinkage", self.shrinkage.is_some()),
            ("--members", self.members.is_some()),
            ("--ridge", self.ridge.is_some()),
            ("--implicit", self.implicit),
            ("--min-rating", self.min_rating.is_some()),
            ("--threshold", self.threshold.is_some()),
            ("--negatives", self.negatives.is_some()),
            ("--sampling", self.sampling.is_some()),
            ("--protocol", self.protocol.is_some()),
            ("--alpha", self.alpha.is_some()),
            ("--confidence", self.confidence.is_some()),
            ("--cg-steps", self.cg_steps.is_some()),
            ("--l2-exponent", self.l2_exponent.is_some()),
            ("--recency", self.recency.is_some()),
            ("--sweeps", self.sweeps.is_some()),
            ("--burn-in", self.burn_in.is_some()),
            ("--keep", self.keep.is_some()),
            ("--solver", self.solver.is_some()),
            ("--link", self.link.is_some()),
        ]
    }

    /// A given hyper-parameter flag that the chosen kind does not take, as a usage error
    /// naming the flag and the kind ([`accepted_flags`]).
    pub(super) fn refuse_foreign_flags(&self) -> Result<()> {
        let implicit = self.is_implicit();
        let accepted = accepted_flags(self.model, implicit);
        let kind = self
            .model
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        let with_both = matches!(
            self.model,
            ModelKind::Mf | ModelKind::Deep | ModelKind::Neumf
        );
        let what = match (with_both, implicit) {
            (true, true) => format!("{kind} on implicit feedback"),
            (true, false) => format!("{kind} on ratings"),
            _ => kind,
        };
        match self
            .hyper_flags()
            .into_iter()
            .find(|&(flag, given)| given && !accepted.contains(&flag))
        {
            Some((flag, _)) => Err(Error::Usage(format!(
                "{flag} does not apply to {what} (it takes: {})",
                accepted.join(" ")
            ))),
            None => Ok(()),
        }
    }
}

//! The hyper-parameter flags given on the command line, with their values. Which of
//! them a kind takes, and where each value goes in its params, the kind declares
//! beside its registry line ([`Kind::flags`](crate::models::Kind::flags)); any other
//! given is a usage error naming the flag and the kind.

use super::*;
use serde_json::Value;

/// A given flag's value as JSON (see [`crate::models::flags::Flag::apply`]).
fn value<T: serde::Serialize>(x: &Option<T>) -> Option<Value> {
    x.as_ref().map(|x| json!(x))
}

/// `true` for a switch that was given.
fn switch(on: bool) -> Option<Value> {
    on.then_some(Value::Bool(true))
}

impl TrainArgs {
    /// Every hyper-parameter flag, as spelled on the command line, with its value where
    /// it was given (a number, `true` for a switch, the text of a text flag).
    pub(super) fn given_flags(&self) -> Vec<(&'static str, Option<Value>)> {
        let h = &self.hyper;
        vec![
            ("--dim", value(&h.dim)),
            ("--epochs", value(&h.epochs)),
            ("--batch", value(&h.batch)),
            ("--optimizer", value(&h.optimizer)),
            ("--lr", value(&h.lr)),
            ("--lr-decay", value(&h.lr_decay)),
            ("--momentum", value(&h.momentum)),
            ("--nesterov", switch(h.nesterov)),
            ("--l2", value(&h.l2)),
            ("--l2-bias", value(&h.l2_bias)),
            ("--l2-mode", value(&h.l2_mode)),
            ("--init", value(&h.init)),
            ("--loss", value(&h.loss)),
            ("--patience", value(&h.patience)),
            ("--val-fraction", value(&h.val_fraction)),
            ("--threads", value(&h.threads)),
            ("--mlp-dim", value(&h.mlp_dim)),
            ("--hidden", value(&h.hidden)),
            ("--activation", value(&h.activation)),
            ("--dropout", value(&h.dropout)),
            ("--features", value(&h.features)),
            ("--l2-dense", value(&h.l2_dense)),
            ("--product", value(&h.product)),
            ("--bias-shortcut", value(&h.bias_shortcut)),
            ("--dot-dim", value(&h.dot_dim)),
            ("--l2-dot", value(&h.l2_dot)),
            ("--l2-side", value(&h.l2_side)),
            ("--pretrain", value(&h.pretrain)),
            ("--table-lr", value(&h.table_lr)),
            ("--reg-user", value(&self.reg_user)),
            ("--reg-item", value(&self.reg_item)),
            ("--neighbors", value(&self.neighbors)),
            ("--shrinkage", value(&self.shrinkage)),
            ("--members", value(&self.members)),
            ("--ridge", value(&self.ridge)),
            ("--blend-folds", value(&self.blend_folds)),
            ("--implicit", switch(self.implicit)),
            ("--min-rating", value(&self.min_rating)),
            ("--threshold", value(&self.threshold)),
            ("--negatives", value(&self.negatives)),
            ("--sampling", value(&self.sampling)),
            ("--protocol", switch(self.protocol.is_some())),
            ("--alpha", value(&self.alpha)),
            ("--confidence", value(&self.confidence)),
            ("--cg-steps", value(&self.cg_steps)),
            ("--l2-exponent", value(&self.l2_exponent)),
            ("--recency", value(&self.recency)),
            ("--chains", value(&self.chains)),
            ("--sweeps", value(&self.sweeps)),
            ("--burn-in", value(&self.burn_in)),
            ("--keep", value(&self.keep)),
            ("--solver", value(&self.solver)),
            ("--link", value(&self.link)),
        ]
    }
}

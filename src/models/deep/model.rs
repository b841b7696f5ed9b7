//! The trained deep model ([`Deep`]): scoring through the cached item parts, its tensors
//! in the model file and its loader.

use super::*;

/// A trained deep model.
#[derive(Debug, Clone)]
pub struct Deep {
    /// Global mean of the training ratings.
    pub mu: f32,
    /// Latent factors K.
    pub dim: usize,
    /// User factors, users x K, row-major.
    pub p: Vec<f32>,
    /// Item factors, items x K, row-major.
    pub q: Vec<f32>,
    /// User biases.
    pub user_bias: Vec<f32>,
    /// Item biases.
    pub item_bias: Vec<f32>,
    /// Side-variable lookups, in input order.
    pub sides: Vec<SideInput>,
    /// Side-variable tables (`rows x dim` each), in the order of `sides`.
    pub side_weights: Vec<Vec<f32>>,
    /// The dense layers (input [`DeepParams::input_width`], one output).
    pub mlp: Mlp,
    /// Whether the input holds the block `P_u * Q_i` ([`DeepParams::product`]).
    pub product: bool,
    /// Whether `b_u + b_i` is added at the output ([`DeepParams::bias_shortcut`]).
    pub bias_shortcut: bool,
    /// Factors of the dot-product tables (0 = no dot term at the output).
    pub dot_dim: usize,
    /// Dot-product user factors, users x `dot_dim` (empty when `dot_dim` is 0).
    pub dot_p: Vec<f32>,
    /// Dot-product item factors, items x `dot_dim` (empty when `dot_dim` is 0).
    pub dot_q: Vec<f32>,
    /// Every item's first-layer part ([`View::side_part`]), computed on first use by
    /// [`Recommender::score_items`] (derived from the weights; not saved).
    pub item_part: std::sync::OnceLock<Vec<f32>>,
}

impl PartialEq for Deep {
    fn eq(&self, o: &Self) -> bool {
        let layers_eq = self.mlp.layers().len() == o.mlp.layers().len()
            && (self.mlp.layers().iter().zip(o.mlp.layers())).all(|(a, b)| {
                a.weight() == b.weight() && a.bias() == b.bias() && a.activation == b.activation
            });
        self.mu == o.mu
            && self.dim == o.dim
            && self.p == o.p
            && self.q == o.q
            && self.user_bias == o.user_bias
            && self.item_bias == o.item_bias
            && self.sides == o.sides
            && self.side_weights == o.side_weights
            && self.product == o.product
            && self.bias_shortcut == o.bias_shortcut
            && self.dot_dim == o.dot_dim
            && self.dot_p == o.dot_p
            && self.dot_q == o.dot_q
            && layers_eq
    }
}

impl Deep {
    /// Scores of every item for `user`: the user's first-layer part is computed once
    /// and added to the cached item parts, so only the product block (if any) and the
    /// later layers run per item.
    pub(super) fn score_all_items(&self, user: u32, out: &mut [f32]) {
        let view = self.view();
        let first = &self.mlp.layers()[0];
        let item_part = self.item_part.get_or_init(|| {
            let items: Vec<u32> = (0..self.item_bias.len() as u32).collect();
            view.side_part(first, false, &items)
        });
        let user_part = view.side_part(first, true, &[user]);
        let items = (0..out.len() as u32).map(|i| (Some(user), Some(i)));
        view.predict_from_parts(
            &self.mlp,
            self.mu,
            (&user_part, user),
            item_part,
            items,
            out,
        );
    }

    pub(super) fn view(&self) -> View<'_> {
        View {
            k: self.dim,
            product: self.product,
            bias_shortcut: self.bias_shortcut,
            p: &self.p,
            q: &self.q,
            bu: &self.user_bias,
            bi: &self.item_bias,
            sides: &self.sides,
            side_weights: self.side_weights.iter().map(Vec::as_slice).collect(),
            dot: (self.dot_dim > 0).then_some((self.dot_dim, &self.dot_p[..], &self.dot_q[..])),
        }
    }
}

pub(super) fn predict_many_with(
    m: &dyn Recommender,
    view: View<'_>,
    mlp: &Mlp,
    mu: f32,
    users: &[u32],
    items: &[u32],
    out: &mut Vec<Prediction>,
) {
    let mut values = vec![0.0; users.len()];
    view.predict(mlp, mu, known_pairs(m, users, items), &mut values);
    out.clear();
    out.extend(
        known_pairs(m, users, items)
            .zip(values)
            .map(|((u, i), value)| Prediction {
                value,
                fallback: u.is_none() || i.is_none(),
            }),
    );
}

/// The tensor name of a side variable: `user.NAME` or `item.NAME`.
pub(super) fn side_name(side: &SideInput) -> String {
    let whose = if side.of_users { "user" } else { "item" };
    format!("{whose}.{}", side.name)
}

impl Model for Deep {
    boxed_model!();

    /// As mf (`mu`, `p`, `q`, `user_bias`, `item_bias`), plus `user.NAME` / `item.NAME`
    /// `[rows, size]` per side variable, `dense{l}.weight [in, out]` and `dense{l}.bias
    /// [out]` per dense layer (input first) and, with a dot term, `dot.p [U, D]`,
    /// `dot.q [I, D]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i) = (self.user_bias.len(), self.item_bias.len());
        let mut v = vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("p", &[u, self.dim], &self.p),
            NamedTensor::new("q", &[i, self.dim], &self.q),
            NamedTensor::new("user_bias", &[u], &self.user_bias),
            NamedTensor::new("item_bias", &[i], &self.item_bias),
        ];
        for (side, w) in self.sides.iter().zip(&self.side_weights) {
            v.push(NamedTensor::new(side_name(side), &[side.rows, side.dim], w));
        }
        for (l, layer) in self.mlp.layers().iter().enumerate() {
            let (i, o) = (layer.input(), layer.output());
            v.push(NamedTensor::new(
                format!("dense{l}.weight"),
                &[i, o],
                layer.weight(),
            ));
            v.push(NamedTensor::new(
                format!("dense{l}.bias"),
                &[o],
                layer.bias(),
            ));
        }
        if self.dot_dim > 0 {
            v.push(NamedTensor::new("dot.p", &[u, self.dot_dim], &self.dot_p));
            v.push(NamedTensor::new("dot.q", &[i, self.dot_dim], &self.dot_q));
        }
        v
    }

    /// Each side variable's lookup: `user.NAME.offsets [E + 1]` and `user.NAME.levels
    /// [L]` (or `item.`).
    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        self.sides
            .iter()
            .flat_map(|side| {
                let n = side_name(side);
                [
                    (format!("{n}.offsets"), &side.offsets[..]),
                    (format!("{n}.levels"), &side.levels[..]),
                ]
            })
            .collect()
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.q, self.dim))
    }
}

pub(super) fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let params = crate::models::params_of::<DeepParams>("deep", params, DeepParams::check)?;
    let mu = t.scalar("mu")?;
    let (dim, p) = t.f32("p", None)?;
    let dim = match dim[..] {
        [u, k] if u == users && k >= 1 => k,
        _ => {
            return Err(format!(
                "tensor `p` has shape {dim:?}, expected [{users}, K] with K >= 1"
            ));
        }
    };
    if params.dim != dim {
        return Err(format!(
            "tensor `p` has {dim} factors but the params say dim {}",
            params.dim
        ));
    }
    let q = t.values("q", &[items, dim])?;
    let user_bias = t.values("user_bias", &[users])?;
    let item_bias = t.values("item_bias", &[items])?;
    let (mut sides, mut side_weights) = (Vec::new(), Vec::new());
    for (name, size) in &params.features {
        // A side variable is a user one when the file holds `user.NAME`.
        let of_users = t.has(&format!("user.{name}"));
        let (n, tname) = if of_users {
            (users, format!("user.{name}"))
        } else {
            (items, format!("item.{name}"))
        };
        let (shape, weights) = t.f32(&tname, None)?;
        let rows = match shape[..] {
            [r, d] if d == *size && r >= 1 => r,
            _ => {
                return Err(format!(
                    "tensor `{tname}` has shape {shape:?}, expected [rows, {size}]"
                ));
            }
        };
        let side = SideInput {
            name: name.clone(),
            of_users,
            dim: *size,
            rows,
            offsets: t.u32(&format!("{tname}.offsets"))?,
            levels: t.u32(&format!("{tname}.levels"))?,
        };
        side.check(n)?;
        sides.push(side);
        side_weights.push(weights);
    }
    let mut layers = Vec::new();
    let mut width = params.input_width();
    let n_layers = params.hidden.len() + 1;
    for l in 0..n_layers {
        let out = params.hidden.get(l).copied().unwrap_or(1);
        let w = t.values(&format!("dense{l}.weight"), &[width, out])?;
        let b = t.values(&format!("dense{l}.bias"), &[out])?;
        let act = if l + 1 < n_layers {
            params.activation
        } else {
            Activation::Linear
        };
        layers.push(Dense::from_weights(
            width,
            out,
            w,
            b,
            act,
            Optimizer::default(),
        ));
        width = out;
    }
    let mlp = Mlp::from_layers(layers, 0.0).map_err(|e| e.to_string())?;
    let (dot_p, dot_q) = if params.dot_dim > 0 {
        let d = params.dot_dim;
        (
            t.values("dot.p", &[users, d])?,
            t.values("dot.q", &[items, d])?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(AnyModel::new(Deep {
        mu,
        dim,
        p,
        q,
        user_bias,
        item_bias,
        sides,
        side_weights,
        mlp,
        product: params.product,
        bias_shortcut: params.bias_shortcut,
        dot_dim: params.dot_dim,
        dot_p,
        dot_q,
        item_part: Default::default(),
    }))
}

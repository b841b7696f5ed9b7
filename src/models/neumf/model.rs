//! The trained NeuMF model ([`NeuMf`]): scoring, its tensors in the model file and its
//! loader.

use super::*;

/// A trained NeuMF model.
#[derive(Debug, Clone)]
pub struct NeuMf {
    /// Global mean of the training ratings.
    pub mu: f32,
    /// GMF factors K.
    pub dim: usize,
    /// Size of each MLP-tower embedding.
    pub mlp_dim: usize,
    /// GMF user factors, users x K.
    pub gmf_p: Vec<f32>,
    /// GMF item factors, items x K.
    pub gmf_q: Vec<f32>,
    /// MLP-tower user embeddings, users x mlp_dim.
    pub mlp_p: Vec<f32>,
    /// MLP-tower item embeddings, items x mlp_dim.
    pub mlp_q: Vec<f32>,
    /// User biases.
    pub user_bias: Vec<f32>,
    /// Item biases.
    pub item_bias: Vec<f32>,
    /// The MLP tower's hidden layers (input `2 mlp_dim`).
    pub tower: Vec<Dense>,
    /// The fusion unit over `[GMF, tower output]` (one linear output).
    pub fuse: Dense,
}

impl PartialEq for NeuMf {
    fn eq(&self, o: &Self) -> bool {
        let same = |a: &Dense, b: &Dense| {
            a.weight() == b.weight() && a.bias() == b.bias() && a.activation == b.activation
        };
        self.mu == o.mu
            && (self.dim, self.mlp_dim) == (o.dim, o.mlp_dim)
            && (self.gmf_p == o.gmf_p && self.gmf_q == o.gmf_q)
            && (self.mlp_p == o.mlp_p && self.mlp_q == o.mlp_q)
            && (self.user_bias == o.user_bias && self.item_bias == o.item_bias)
            && self.tower.len() == o.tower.len()
            && self.tower.iter().zip(&o.tower).all(|(a, b)| same(a, b))
            && same(&self.fuse, &o.fuse)
    }
}

impl NeuMf {
    pub(super) fn view(&self) -> View<'_> {
        View {
            k: self.dim,
            km: self.mlp_dim,
            pg: &self.gmf_p,
            qg: &self.gmf_q,
            pm: &self.mlp_p,
            qm: &self.mlp_q,
            bu: &self.user_bias,
            bi: &self.item_bias,
            tower: &self.tower,
            fuse: &self.fuse,
        }
    }

    /// Rebuilds the dense part from weights: the tower's layers (`(weight, bias)` per
    /// hidden layer, widths from `params`) and the fusion unit.
    pub fn dense_from_weights(
        params: &NeuMfParams,
        tower: Vec<(Vec<f32>, Vec<f32>)>,
        fuse: (Vec<f32>, Vec<f32>),
    ) -> (Vec<Dense>, Dense) {
        let opt = Optimizer::default();
        let mut width = 2 * params.mlp_dim;
        let layers = (params.hidden.iter().zip(tower))
            .map(|(&h, (w, b))| {
                let l = Dense::from_weights(width, h, w, b, params.activation, opt);
                width = h;
                l
            })
            .collect();
        let fuse = Dense::from_weights(
            params.fused_width(),
            1,
            fuse.0,
            fuse.1,
            Activation::Linear,
            opt,
        );
        (layers, fuse)
    }
}

/// Recommender methods shared by the model and the training network.
macro_rules! neumf_recommender {
    ($t:ty, $users:expr, $items:expr, $params:expr) => {
        impl Recommender for $t {
            fn kind(&self) -> &'static str {
                "neumf"
            }
            fn n_users(&self) -> u32 {
                $users(self) as u32
            }
            fn n_items(&self) -> u32 {
                $items(self) as u32
            }
            fn param_count(&self) -> usize {
                $params(self)
            }
            fn score(&self, user: u32, item: u32) -> f32 {
                let mut out = [0.0];
                (self.view()).predict(self.mu, [(Some(user), Some(item))].into_iter(), &mut out);
                out[0]
            }
            /// The network's output with zeros for the unknown side's embeddings and bias.
            fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
                let mut out = [0.0];
                (self.view()).predict(self.mu, [(user, item)].into_iter(), &mut out);
                out[0]
            }
            fn score_items(&self, user: u32, out: &mut [f32]) {
                let items = (0..out.len() as u32).map(|i| (Some(user), Some(i)));
                (self.view()).predict(self.mu, items, out);
            }
            fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
                let (nu, ni) = (self.n_users(), self.n_items());
                let pairs = || {
                    users
                        .iter()
                        .zip(items)
                        .map(move |(&u, &i)| ((u < nu).then_some(u), (i < ni).then_some(i)))
                };
                let mut values = vec![0.0; users.len()];
                (self.view()).predict(self.mu, pairs(), &mut values);
                out.clear();
                out.extend(pairs().zip(values).map(|((u, i), value)| Prediction {
                    value,
                    fallback: u.is_none() || i.is_none(),
                }));
            }
        }
    };
}

pub(super) fn dense_params(tower: &[Dense], fuse: &Dense) -> usize {
    tower.iter().map(Dense::param_count).sum::<usize>() + fuse.param_count()
}

neumf_recommender!(
    NeuMf,
    |m: &NeuMf| m.user_bias.len(),
    |m: &NeuMf| m.item_bias.len(),
    |m: &NeuMf| m.gmf_p.len()
        + m.gmf_q.len()
        + m.mlp_p.len()
        + m.mlp_q.len()
        + m.user_bias.len()
        + m.item_bias.len()
        + dense_params(&m.tower, &m.fuse)
);

neumf_recommender!(
    NeuMfNet,
    |m: &NeuMfNet| m.bu.rows(),
    |m: &NeuMfNet| m.bi.rows(),
    |m: &NeuMfNet| [&m.pg, &m.qg, &m.pm, &m.qm, &m.bu, &m.bi]
        .iter()
        .map(|t| t.weights().len())
        .sum::<usize>()
        + dense_params(&m.tower, &m.fuse)
);

impl Model for NeuMf {
    boxed_model!();

    /// `mu`, `gmf.p`, `gmf.q`, `mlp.p`, `mlp.q`, `user_bias`, `item_bias`,
    /// `dense{l}.weight` / `dense{l}.bias` per hidden layer of the MLP tower and
    /// `fuse.weight [fused, 1]`, `fuse.bias [1]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i) = (self.user_bias.len(), self.item_bias.len());
        let mut v = vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("gmf.p", &[u, self.dim], &self.gmf_p),
            NamedTensor::new("gmf.q", &[i, self.dim], &self.gmf_q),
            NamedTensor::new("mlp.p", &[u, self.mlp_dim], &self.mlp_p),
            NamedTensor::new("mlp.q", &[i, self.mlp_dim], &self.mlp_q),
            NamedTensor::new("user_bias", &[u], &self.user_bias),
            NamedTensor::new("item_bias", &[i], &self.item_bias),
        ];
        for (l, layer) in self.tower.iter().enumerate() {
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
        let f = &self.fuse;
        v.push(NamedTensor::new("fuse.weight", &[f.input(), 1], f.weight()));
        v.push(NamedTensor::new("fuse.bias", &[1], f.bias()));
        v
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.gmf_q, self.dim))
    }
}

pub(super) fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let p = crate::models::params_of::<NeuMfParams>("neumf", params, NeuMfParams::check)?;
    let (k, km) = (p.dim, p.mlp_dim);
    let mu = t.scalar("mu")?;
    let gmf_p = t.values("gmf.p", &[users, k])?;
    let gmf_q = t.values("gmf.q", &[items, k])?;
    let mlp_p = t.values("mlp.p", &[users, km])?;
    let mlp_q = t.values("mlp.q", &[items, km])?;
    let user_bias = t.values("user_bias", &[users])?;
    let item_bias = t.values("item_bias", &[items])?;
    let mut tower = Vec::new();
    let mut width = 2 * km;
    for (l, &h) in p.hidden.iter().enumerate() {
        let w = t.values(&format!("dense{l}.weight"), &[width, h])?;
        let b = t.values(&format!("dense{l}.bias"), &[h])?;
        tower.push((w, b));
        width = h;
    }
    let fw = t.values("fuse.weight", &[p.fused_width(), 1])?;
    let fb = t.values("fuse.bias", &[1])?;
    let (tower, fuse) = NeuMf::dense_from_weights(&p, tower, (fw, fb));
    Ok(AnyModel::new(NeuMf {
        mu,
        dim: k,
        mlp_dim: km,
        gmf_p,
        gmf_q,
        mlp_p,
        mlp_q,
        user_bias,
        item_bias,
        tower,
        fuse,
    }))
}

//! Synthetic MovieLens-shaped data from a seed (the embedded default dataset).

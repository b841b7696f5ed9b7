//! The model file ([`TrainedModel`], [`save`], [`load`]; layout in [`model_file`] and
//! docs/model-file.md), written atomically by [`crate::files`].

pub mod model_file;

pub use crate::files::{write_atomically, write_atomically_with};
pub use model_file::{
    FORMAT_VERSION, TrainedModel, TrainingInfo, file_md5, is_implicit_model, load, load_identified,
    save,
};

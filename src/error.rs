//! The library's error type.
//!
//! Every error that comes from bad input names where the problem is: the file, the
//! 1-based line number and the field. [`Error::exit_code`] maps errors onto the
//! command-line contract: 2 for usage, input and data errors, 1 for everything else
//! (I/O, network).

use std::path::{Path, PathBuf};

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in embedrec.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A line of an input file could not be parsed.
    #[error("{}:{line}: field `{field}`: {message}", file.display())]
    Parse {
        /// The file being read.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The field (column name) at fault.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A whole input was unusable (empty file, unknown format, inconsistent data, ...).
    #[error("{}: {message}", file.display())]
    BadInput {
        /// The file or folder at fault.
        file: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Invalid parameters or command-line usage.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A download failed (network or server error).
    #[error("network: {0}")]
    Network(String),
    /// A downloaded file did not match its published checksum.
    #[error("{}: checksum mismatch: expected MD5 {expected}, got {actual}", file.display())]
    Checksum {
        /// The file whose checksum was checked.
        file: PathBuf,
        /// Published checksum.
        expected: String,
        /// Checksum of what was received.
        actual: String,
    },
}

impl Error {
    /// Exit code under the command-line contract: 2 for usage, input and data errors
    /// (malformed file, corrupt model, checksum mismatch), 1 for other failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Parse { .. }
            | Error::BadInput { .. }
            | Error::Usage(_)
            | Error::Checksum { .. } => 2,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 2,
            Error::Io { .. } | Error::Network(_) => 1,
        }
    }

    /// Builds a [`Error::Parse`].
    pub fn parse(file: &Path, line: usize, field: &str, message: impl Into<String>) -> Self {
        Error::Parse {
            file: file.to_path_buf(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Builds a [`Error::BadInput`].
    pub fn bad_input(file: &Path, message: impl Into<String>) -> Self {
        Error::BadInput {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }

    /// Builds an [`Error::Io`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

//! The `embedrec` command line (see the contract in README.md).

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    0
}

#![no_main]
//! libFuzzer harness of `embedrec::fuzz_targets::delimited` (see `src/fuzz_targets.rs`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| embedrec::fuzz_targets::delimited(data));

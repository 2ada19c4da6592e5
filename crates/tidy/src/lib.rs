//! ogshot's repository rules, as tests (`cargo test -p tidy`): ARCHITECTURE.md's crate
//! order holds for every Cargo.toml (no dependency runs up), its codemap names every
//! crate and module and nothing that is gone, every module opens with a `//!` doc, and
//! no two files of a crate use each other.
//!
//! It reads files only and depends on no crate of the workspace, so it builds in seconds
//! and a rule is checked without building any app. It never changes a file.

#[cfg(test)]
mod rules;

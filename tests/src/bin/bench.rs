//! The ogshot benchmark (filled by the end-to-end issue).
fn main() {}

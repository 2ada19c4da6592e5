//! What the rules read off a fetched answer the same way: a header's value, and a time
//! as their messages show it. It holds no rule and reports nothing.

use std::time::Duration;

pub(super) fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

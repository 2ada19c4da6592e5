//! The injection engine from outside, as the proxy and the static server drive it: real
//! pages and the edge cases a user would notice, checked by re-parsing the output with an
//! HTML5 parser and by comparing bytes with a share-tag stripper of the tests' own.

mod edges;
mod pages;
mod support;

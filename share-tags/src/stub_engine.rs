//! TEMPORARY stand-in for the engine (replaced by the inject engine branch).
#![allow(missing_docs)]
use bytes::Bytes;
use shared_ids::SocialId;

use crate::{ShareSite, ShareTags};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InjectLimits {
    pub head_window: usize,
    pub rewriter_memory: usize,
}
#[derive(Debug, Clone)]
pub struct Injector {
    site: ShareSite,
}
impl Injector {
    pub fn new(site: ShareSite, _limits: InjectLimits) -> Self {
        Self { site }
    }
    pub fn fingerprint(&self) -> &str {
        "stub"
    }
    pub fn start(&self, id: Option<SocialId>, _content_type: Option<&str>) -> Rewrite {
        Rewrite {
            block: ShareTags::new(&self.site, id).to_html(),
            held: Vec::new(),
            outcome: None,
        }
    }
}
#[derive(Debug)]
pub struct Rewrite {
    block: String,
    held: Vec<u8>,
    outcome: Option<Outcome>,
}
impl Rewrite {
    pub fn write(&mut self, chunk: &[u8]) -> Bytes {
        if self.outcome.is_some() {
            return Bytes::copy_from_slice(chunk);
        }
        self.held.extend_from_slice(chunk);
        let text = String::from_utf8_lossy(&self.held).to_string();
        if let Some(at) = text.find("<head>") {
            self.outcome = Some(Outcome::Injected);
            let mut out = self.held[..at + 6].to_vec();
            out.extend_from_slice(self.block.as_bytes());
            out.extend_from_slice(&self.held[at + 6..]);
            return Bytes::from(out);
        }
        Bytes::new()
    }
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
    pub fn finish(self) -> (Bytes, Outcome) {
        match self.outcome {
            Some(o) => (Bytes::new(), o),
            None => (
                Bytes::from(self.held),
                Outcome::Passthrough(PassReason::NoInsertionPoint),
            ),
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Injected,
    Passthrough(PassReason),
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassReason {
    NoInsertionPoint,
}
impl Outcome {
    pub fn header_value(&self) -> String {
        match self {
            Self::Injected => "injected".to_owned(),
            Self::Passthrough(_) => "passthrough; reason=no-insertion-point".to_owned(),
        }
    }
}

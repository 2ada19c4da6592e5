//! What a check finds: one [`Finding`] per rule, link and crawler, at a [`Level`], and
//! the [`Findings`] of one link as one crawler sees it. It knows no rule itself.

use serde::Serialize;

use crate::profiles::Profile;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Pass => "✓",
            Self::Warn => "⚠",
            Self::Fail => "✗",
        }
    }
}

/// One check's outcome for one link and one crawler.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub url: String,
    pub profile: String,
    pub level: Level,
    pub rule: &'static str,
    pub message: String,
}

/// Collects the findings of one link × crawler.
#[derive(Debug)]
pub struct Findings<'a> {
    url: &'a str,
    profile: &'a Profile,
    pub list: Vec<Finding>,
}

impl<'a> Findings<'a> {
    pub fn new(url: &'a str, profile: &'a Profile) -> Self {
        Self {
            url,
            profile,
            list: Vec::new(),
        }
    }

    pub fn add(&mut self, level: Level, rule: &'static str, message: impl Into<String>) {
        self.list.push(Finding {
            url: self.url.to_owned(),
            profile: self.profile.name.clone(),
            level,
            rule,
            message: message.into(),
        });
    }

    pub fn pass(&mut self, rule: &'static str, message: impl Into<String>) {
        self.add(Level::Pass, rule, message);
    }

    pub fn warn(&mut self, rule: &'static str, message: impl Into<String>) {
        self.add(Level::Warn, rule, message);
    }

    pub fn fail(&mut self, rule: &'static str, message: impl Into<String>) {
        self.add(Level::Fail, rule, message);
    }
}

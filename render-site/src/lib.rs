//! Placeholder until the render-site issue fills it: nothing here serves a card yet.

//! Placeholder until the image-service issue fills it: nothing here serves an image yet.

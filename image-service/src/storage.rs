//! Where cards live once rendered: one trait, a local-directory backend and an S3 backend.
//!
//! Storage holds only validated cards, under keys built from a design token and a
//! [`SocialId`], and never replaces what it holds: the first complete card stored under
//! a key is that key's card for good. Absence is `Ok(None)`, never an error; each
//! backend decides "absent" in exactly one place.

mod guard;
mod local;
mod s3;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use shared_ids::{DesignToken, SocialId, card_path};

pub use guard::{CIRCUIT_OPEN_AFTER, CIRCUIT_PROBE_INTERVAL, GuardedStorage, Lookup, Stored};
pub use local::LocalDirStorage;
pub use s3::{S3Config, S3Storage, WRITE_PROBE_OBJECT, retries, timeouts};

/// The future every [`Storage`] method returns: boxed, so that the trait can be used as
/// `Arc<dyn Storage>` and the router need not be generic over the backend.
pub type StorageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// A store of card JPEGs.
pub trait Storage: Send + Sync + fmt::Debug {
    /// The card stored under `key`, or `None` if there is none yet.
    fn get<'a>(&'a self, key: &'a StorageKey) -> StorageFuture<'a, Option<StoredImage>>;

    /// Stores `jpeg` under `key` unless something is already stored there, in which case
    /// the stored card is left as it is. Readers never see a partly written card.
    fn put_if_absent<'a>(
        &'a self,
        key: &'a StorageKey,
        jpeg: Bytes,
    ) -> StorageFuture<'a, PutOutcome>;

    /// Proves that a write would be accepted now, without touching any card: a write
    /// of the backend's sentinel, which lives outside every card key.
    fn probe_write(&self) -> StorageFuture<'_, ()>;
}

/// The storage key of a card: its URL path without the leading `/`, e.g. `v1/12-34-10.jpg`.
///
/// Built only from a design token and a parsed id, so a key can never hold a path
/// separator, a `..` or any byte of raw request input.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StorageKey {
    design: DesignToken,
    id: SocialId,
    key: String,
}

impl StorageKey {
    /// The key of `id`'s card in `design`.
    pub fn new(design: DesignToken, id: SocialId) -> Self {
        let path = card_path(design, id);
        let key = path
            .strip_prefix('/')
            .expect("card_path always starts with '/'")
            .to_owned();
        Self { design, id, key }
    }

    /// The key as stored, e.g. `v1/12-34-10.jpg`.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn design(&self) -> DesignToken {
        self.design
    }

    pub fn id(&self) -> SocialId {
        self.id
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageKey({})", self.key)
    }
}

/// A stored card and its entity tag.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredImage {
    pub bytes: Bytes,
    /// A strong, quoted entity tag (`"…"`), ready for an `ETag` header.
    pub etag: String,
}

impl StoredImage {
    /// A card that is not (yet) read back from storage, tagged by its content.
    pub fn from_jpeg(bytes: Bytes) -> Self {
        Self {
            etag: content_etag(&bytes),
            bytes,
        }
    }
}

impl fmt::Debug for StoredImage {
    // Hundreds of kilobytes of escaped JPEG help no log or test failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredImage")
            .field("len", &self.bytes.len())
            .field("etag", &self.etag)
            .finish()
    }
}

/// What [`Storage::put_if_absent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The card was stored under the key.
    Stored,
    /// Another card was already stored under the key (e.g. by a concurrent render) and
    /// was kept; the new bytes were dropped.
    AlreadyExists,
}

/// A storage failure: the backend could not answer. Never "not found".
///
/// Messages name the key or path, which are built from validated ids only, and never
/// any credential.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("local storage could not {action} {path}")]
    Local {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("S3 {operation} of {object} failed: {detail}")]
    S3 {
        operation: &'static str,
        object: String,
        /// The whole error chain rendered once, since the SDK's own top-level message
        /// ("service error", "dispatch failure") says nothing on its own.
        detail: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("invalid storage configuration: {0}")]
    Config(String),
}

/// A strong entity tag derived from the bytes themselves, for backends that keep none.
/// 128 bits of SHA-256 are plenty to tell cards apart, and a tag that depends only on
/// the content stays the same across restarts and hosts.
fn content_etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_ids::CURRENT_DESIGN;

    #[test]
    fn keys_are_card_paths_without_the_leading_slash() {
        let id = SocialId::parse("12-34-10").unwrap();
        let key = StorageKey::new(CURRENT_DESIGN, id);
        assert_eq!(key.as_str(), format!("{CURRENT_DESIGN}/12-34-10.jpg"));
        assert_eq!(format!("/{key}"), card_path(CURRENT_DESIGN, id));
        assert_eq!((key.design(), key.id()), (CURRENT_DESIGN, id));
    }

    #[test]
    fn content_etags_are_quoted_strong_and_content_derived() {
        let tag = content_etag(b"card");
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_eq!(tag, content_etag(b"card"));
        assert_ne!(tag, content_etag(b"card2"));
    }
}

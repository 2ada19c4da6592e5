//! The local-directory backend: the embedded storage of the local server. It never
//! replaces a stored card and never shows a reader a partly written one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{PutOutcome, Storage, StorageError, StorageFuture, StorageKey, StoredImage};

/// Cards as files in a local directory, `<dir>/<design>/<id>.jpg`: the embedded storage
/// of the local server.
///
/// A card is written to a temporary file beside its final name, flushed to disk, then
/// linked into place only if the name is still free. A reader therefore sees either no
/// file or a complete one, and concurrent writers (threads or processes sharing the
/// directory) never replace each other's card.
#[derive(Debug, Clone)]
pub struct LocalDirStorage {
    dir: PathBuf,
}

/// Temporary files start with a dot so they can never be mistaken for a key, whose file
/// names always start with a digit.
const TEMP_PREFIX: &str = ".tmp-";

impl LocalDirStorage {
    /// Uses `dir` for storage, creating it if needed.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(local("create directory", &dir))?;
        Ok(Self { dir })
    }

    /// The directory holding the cards.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`. Keys hold only a design token, `/`, an id and `.jpg`, so the
    /// path never leaves `dir`.
    pub fn path_of(&self, key: &StorageKey) -> PathBuf {
        self.dir.join(key.as_str())
    }
}

impl Storage for LocalDirStorage {
    fn get<'a>(&'a self, key: &'a StorageKey) -> StorageFuture<'a, Option<StoredImage>> {
        let path = self.path_of(key);
        Box::pin(blocking(path.clone(), move || match fs::read(&path) {
            Ok(bytes) => Ok(Some(StoredImage {
                etag: super::content_etag(&bytes),
                bytes: Bytes::from(bytes),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(local("read", &path)(e)),
        }))
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a StorageKey,
        jpeg: Bytes,
    ) -> StorageFuture<'a, PutOutcome> {
        let path = self.path_of(key);
        Box::pin(blocking(path.clone(), move || write_new(&path, &jpeg)))
    }

    /// A temporary file written, synced and deleted, as a card's write starts.
    fn probe_write(&self) -> StorageFuture<'_, ()> {
        let dir = self.dir.clone();
        Box::pin(blocking(dir.clone(), move || {
            let mut temp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(&dir)
                .map_err(local("create a temporary file in", &dir))?;
            temp.write_all(b"ogshot write probe")
                .and_then(|()| temp.as_file().sync_all())
                .map_err(local("write", temp.path()))
        }))
    }
}

/// The one place that decides "absent" for local files.
fn is_not_found(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<PutOutcome, StorageError> {
    let parent = path.parent().expect("a key's path has a design directory");
    fs::create_dir_all(parent).map_err(local("create directory", parent))?;
    // In the same directory as the final name: linking across file systems is impossible.
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(parent)
        .map_err(local("create a temporary file in", parent))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(local("write", temp.path()))?;
    // `persist_noclobber` renames with RENAME_NOREPLACE (or links then unlinks where
    // that is unsupported): it fails rather than replace an existing card. On failure
    // the temporary file is dropped, which deletes it.
    match temp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            return Ok(PutOutcome::AlreadyExists);
        }
        Err(e) => return Err(local("store", path)(e.error)),
    }
    // The new directory entry is only durable once the directory itself is synced.
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(local("sync directory", parent))?;
    Ok(PutOutcome::Stored)
}

fn local(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
    let path = path.to_owned();
    move |source| StorageError::Local {
        action,
        path,
        source,
    }
}

/// Runs blocking file-system work off the async worker threads.
async fn blocking<T: Send + 'static>(
    path: PathBuf,
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        // Only a runtime shutting down cancels blocking work before it starts.
        Err(join) => Err(local("finish (runtime shutting down) work on", &path)(
            io::Error::other(join),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shared_ids::{CURRENT_DESIGN, SocialId};

    use super::*;

    fn key(id: &str) -> StorageKey {
        StorageKey::new(CURRENT_DESIGN, SocialId::parse(id).unwrap())
    }

    fn file_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn a_stored_card_reads_back_with_a_content_etag() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalDirStorage::new(dir.path().join("cards")).unwrap();
        let key = key("12-34-10");
        let jpeg = Bytes::from_static(b"\xFF\xD8\xFFa card");

        assert_eq!(
            storage.put_if_absent(&key, jpeg.clone()).await.unwrap(),
            PutOutcome::Stored
        );
        let stored = storage.get(&key).await.unwrap().expect("stored");
        assert_eq!(stored.bytes, jpeg);
        assert_eq!(stored.etag, super::super::content_etag(&jpeg));
        assert_eq!(
            storage.path_of(&key),
            dir.path()
                .join("cards")
                .join(CURRENT_DESIGN.as_str())
                .join("12-34-10.jpg")
        );
    }

    #[tokio::test]
    async fn a_missing_card_is_none_even_before_its_design_directory_exists() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalDirStorage::new(dir.path()).unwrap();
        assert_eq!(storage.get(&key("00-00-00")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_second_put_keeps_the_first_card_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalDirStorage::new(dir.path()).unwrap();
        let key = key("99-00-42");
        let first = Bytes::from_static(b"first");

        storage.put_if_absent(&key, first.clone()).await.unwrap();
        assert_eq!(
            storage
                .put_if_absent(&key, Bytes::from_static(b"second"))
                .await
                .unwrap(),
            PutOutcome::AlreadyExists
        );
        assert_eq!(storage.get(&key).await.unwrap().unwrap().bytes, first);
        assert_eq!(
            file_names(&dir.path().join(CURRENT_DESIGN.as_str())),
            ["99-00-42.jpg"]
        );
    }

    #[tokio::test]
    async fn a_read_error_other_than_absence_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalDirStorage::new(dir.path()).unwrap();
        let key = key("12-34-10");
        // A directory where the card should be: present but unreadable as a file.
        fs::create_dir_all(storage.path_of(&key)).unwrap();
        let err = storage.get(&key).await.unwrap_err();
        assert!(
            matches!(err, StorageError::Local { action: "read", .. }),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_puts_of_one_key_store_exactly_one_complete_card() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(LocalDirStorage::new(dir.path()).unwrap());
        let key = key("12-34-10");
        // Large and distinct per writer, so a torn or mixed file could not pass as any.
        let card = |writer: u8| Bytes::from(vec![writer; 256 * 1024]);

        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..32 {
            let (storage, key) = (Arc::clone(&storage), key.clone());
            tasks.spawn(async move { storage.put_if_absent(&key, card(writer)).await });
        }
        let mut stored = 0;
        while let Some(outcome) = tasks.join_next().await {
            if outcome.unwrap().unwrap() == PutOutcome::Stored {
                stored += 1;
            }
        }

        assert_eq!(stored, 1, "exactly one writer wins");
        let bytes = storage.get(&key).await.unwrap().unwrap().bytes;
        assert!((0..32).any(|writer| bytes == card(writer)));
        assert_eq!(
            file_names(&dir.path().join(CURRENT_DESIGN.as_str())),
            ["12-34-10.jpg"]
        );
    }
}

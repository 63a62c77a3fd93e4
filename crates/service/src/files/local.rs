//! Files in a local directory (the default: `<data_dir>/files`).

use std::io;
use std::path::{Path, PathBuf};

use domain::ObjectId;
use futures_util::future::BoxFuture;

use super::{valid_key, BlobStore};

/// Files in a local directory, one file per key. A file is written to a temporary name, flushed
/// to disk (`fsync`), renamed and its directory flushed, so a reader never sees half a file and a
/// crash after `put` returns never loses one: the purchase that names the file commits after.
#[derive(Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Files under `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        if !valid_key(key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid blob key",
            ));
        }
        Ok(self.root.join(key))
    }

    fn put_now(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // What this write creates: the object's directory, and the account's on its first file.
        let new_dir = !dir.exists();
        let new_parent = new_dir && dir.parent().is_some_and(|p| !p.exists());
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", ObjectId::new()));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_data()?;
        }
        std::fs::rename(&tmp, &path)?;
        // The rename, and each directory made for it, is durable once its parent is flushed.
        std::fs::File::open(dir)?.sync_all()?;
        let made = [new_dir, new_parent];
        for (parent, made) in dir.ancestors().skip(1).zip(made) {
            if made {
                std::fs::File::open(parent)?.sync_all()?;
            }
        }
        Ok(())
    }

    fn get_now(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete_now(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("file task: {e}")))?
}

impl BlobStore for LocalBlobs {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, io::Result<()>> {
        let (me, key) = (self.clone(), key.to_string());
        Box::pin(blocking(move || me.put_now(&key, &bytes)))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Vec<u8>>>> {
        let (me, key) = (self.clone(), key.to_string());
        Box::pin(blocking(move || me.get_now(&key)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>> {
        let (me, key) = (self.clone(), key.to_string());
        Box::pin(blocking(move || me.delete_now(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::key;

    #[tokio::test]
    async fn local_files_round_trip() {
        let dir = std::env::temp_dir().join(format!("consign-blobs-{}", ObjectId::new()));
        let blobs = LocalBlobs::new(&dir);
        let k = key(ObjectId::new(), ObjectId::new(), "label.png");
        assert_eq!(blobs.get(&k).await.unwrap(), None);
        blobs.put(&k, b"png".to_vec()).await.unwrap();
        assert_eq!(blobs.get(&k).await.unwrap().as_deref(), Some(&b"png"[..]));
        blobs.delete(&k).await.unwrap();
        assert_eq!(blobs.get(&k).await.unwrap(), None);
        assert!(blobs.put("../x", b"no".to_vec()).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}

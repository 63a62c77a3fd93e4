//! Files in a local directory (the default: `<data_dir>/files`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use domain::ObjectId;
use futures_util::future::BoxFuture;

use super::{valid_key, BlobStore};

/// Files in a local directory, one file per key. A file is written to a temporary name and
/// renamed, so a reader never sees half a file; `put` returns once the file, its name and any
/// directory made for it are on disk, so a crash after `put` returns never loses one (the
/// purchase that names the file commits after).
///
/// Durability is group-committed, as the SQLite writer groups its commits: on Linux the puts
/// waiting at one moment share one `syncfs(2)` of the files' file system (label purchases
/// fsynced file, directory and parent one by one — three flushes a label — and fell to 4 % of
/// `/health`). Elsewhere, or where `syncfs` fails, each file and directory is flushed itself.
/// `syncfs` flushes the whole file system: on a host where a busy database writes to the same
/// file system, put `data_dir` (or its `files/`) on its own, or use a bucket
/// (docs/CONFIGURATION.md).
#[derive(Clone)]
pub struct LocalBlobs {
    root: PathBuf,
    group: Arc<GroupSync>,
}

/// Leader–follower group flushing: the first put to find no flush running flushes for every put
/// that finished writing before it started; the others wait for that flush or the next.
#[derive(Default)]
struct GroupSync {
    state: Mutex<Rounds>,
    done: Condvar,
}

#[derive(Default)]
struct Rounds {
    /// Puts that asked for a flush so far.
    asked: u64,
    /// Puts known to be flushed.
    flushed: u64,
    running: bool,
}

impl GroupSync {
    /// Returns once everything written before the call is on disk (`flush` does the work, for
    /// many callers at once).
    fn wait(&self, flush: impl Fn() -> io::Result<()>) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.asked += 1;
        let mine = st.asked;
        loop {
            if st.flushed >= mine {
                return Ok(());
            }
            if !st.running {
                st.running = true;
                let covers = st.asked;
                drop(st);
                let result = flush();
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                st.running = false;
                if result.is_ok() {
                    st.flushed = st.flushed.max(covers);
                }
                self.done.notify_all();
                result?;
                continue;
            }
            st = self.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Flushes the file system holding `root` (Linux `syncfs`); `false` where it is not available.
fn sync_file_system(root: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = std::fs::File::open(root)?;
        // SAFETY: syncfs only reads the descriptor, which `dir` keeps open for the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOSYS) {
            return Ok(false);
        }
        Err(e)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        Ok(false)
    }
}

impl LocalBlobs {
    /// Files under `root` (created when first written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            group: Arc::default(),
        }
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
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        // No row names the file until this returns, so nobody reads it before it is durable
        // (and a crash before then leaves at worst an unnamed file).
        let grouped = self.group.wait(|| match sync_file_system(&self.root)? {
            true => Ok(()),
            false => Err(io::Error::from(io::ErrorKind::Unsupported)),
        });
        match grouped {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
            Err(e) => return Err(e),
        }
        // One by one: the file, then the rename and each directory made for it, durable once
        // its parent is flushed.
        std::fs::File::open(&path)?.sync_data()?;
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

    #[tokio::test]
    async fn many_puts_at_once_are_all_durable_and_readable() {
        let dir = std::env::temp_dir().join(format!("consign-blobs-{}", ObjectId::new()));
        let blobs = LocalBlobs::new(&dir);
        let keys: Vec<String> = (0..64)
            .map(|_| key(ObjectId::new(), ObjectId::new(), "label.pdf"))
            .collect();
        let puts = keys
            .iter()
            .enumerate()
            .map(|(i, k)| blobs.put(k, format!("label {i}").into_bytes()));
        for r in futures_util::future::join_all(puts).await {
            r.unwrap();
        }
        for (i, k) in keys.iter().enumerate() {
            let got = blobs.get(k).await.unwrap().unwrap();
            assert_eq!(got, format!("label {i}").into_bytes());
        }
        // Every put waited for a flush that covered it.
        let st = blobs.group.state.lock().unwrap();
        assert_eq!(st.asked, 64);
        assert_eq!(st.flushed, 64);
        drop(st);
        let _ = std::fs::remove_dir_all(dir);
    }
}

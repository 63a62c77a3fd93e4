//! Files in a local directory (the default: `<data_dir>/files`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use domain::ObjectId;
use futures_util::future::BoxFuture;

use super::{valid_key, BlobStore};

/// Files in a local directory, one file per key. A reader never sees half a file: a new key is
/// named by no row until its put returns, a replaced one is renamed into place; `put` returns once the file, its name and any
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

    /// Where `key`'s file is written: see [`path_of`].
    fn path(&self, key: &str) -> io::Result<PathBuf> {
        path_of(&self.root, key)
    }

    /// Where `key`'s file was written before the bucketed layout (read and deleted there too).
    fn legacy_path(&self, key: &str) -> io::Result<PathBuf> {
        checked(key)?;
        Ok(self.root.join(key))
    }

    fn put_now(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // What this write creates: a new bucket's directory, and the account's on its first file.
        let new_dir = !dir.exists();
        let new_parent = new_dir && dir.parent().is_some_and(|p| !p.exists());
        std::fs::create_dir_all(dir)?;
        // A new key is written in place: no row names the file until this returns, so nobody
        // reads it half written, and a crash leaves at worst a file no row names (as a
        // temporary would) — a rename less per label, each taking the directory's lock. A key
        // written before (a re-rendered packing slip, a batch's merged labels, a retry after a
        // crash) is replaced through a temporary file and a rename, so a reader sees the old
        // file or the new one.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                if let Err(e) = file.write_all(bytes) {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let tmp = dir.join(format!(".{}.tmp", ObjectId::new()));
                std::fs::write(&tmp, bytes)?;
                std::fs::rename(&tmp, &path)?;
            }
            Err(e) => return Err(e),
        }
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
        for path in [self.path(key)?, self.legacy_path(key)?] {
            match std::fs::read(path) {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn delete_now(&self, key: &str) -> io::Result<()> {
        for path in [self.path(key)?, self.legacy_path(key)?] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Where `key` (`<account>/<object>/<name>`) is kept under `root`:
/// `<account>/<bucket>/<object>.<name>`, the bucket being the object id's first 8 hex digits.
/// Object ids begin with their creation time in milliseconds, so a bucket holds about a minute
/// (65.5 s) of an account's files: no directory is made per label (one `mkdir` per purchase —
/// a new inode placed by the directory allocator — cost about 9 % of a label's CPU), and no
/// directory grows without bound. Files written before this layout, at
/// `<account>/<object>/<name>`, are still read and deleted where they are.
pub fn path_of(root: &Path, key: &str) -> io::Result<PathBuf> {
    checked(key)?;
    let mut parts = key.split('/');
    let (Some(account), Some(object), Some(name)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    Ok(root
        .join(account)
        .join(&object[..8])
        .join(format!("{object}.{name}")))
}

fn checked(key: &str) -> io::Result<()> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn invalid() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "invalid blob key")
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
        // Written again (a re-rendered slip): replaced whole, no temporary left behind.
        blobs.put(&k, b"png, again".to_vec()).await.unwrap();
        assert_eq!(
            blobs.get(&k).await.unwrap().as_deref(),
            Some(&b"png, again"[..])
        );
        let path = blobs.path(&k).unwrap();
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [path.file_name().unwrap()]);
        blobs.delete(&k).await.unwrap();
        assert_eq!(blobs.get(&k).await.unwrap(), None);
        assert!(blobs.put("../x", b"no".to_vec()).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn files_are_bucketed_by_creation_minute_and_old_layout_files_still_read() {
        let dir = std::env::temp_dir().join(format!("consign-blobs-{}", ObjectId::new()));
        let blobs = LocalBlobs::new(&dir);
        let account = ObjectId::new();
        let (a, b) = (
            ObjectId::at(1_800_000_000_000),
            ObjectId::at(1_800_000_000_500),
        );
        for object in [a, b] {
            blobs
                .put(&key(account, object, "label.pdf"), b"%PDF".to_vec())
                .await
                .unwrap();
        }
        // Two labels half a second apart share one directory; no directory per label.
        let bucket = dir.join(account.to_string()).join(&a.to_string()[..8]);
        let mut names: Vec<String> = std::fs::read_dir(&bucket)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [format!("{a}.label.pdf"), format!("{b}.label.pdf")]);
        assert_eq!(
            std::fs::read_dir(dir.join(account.to_string()))
                .unwrap()
                .count(),
            1
        );
        // A file an earlier version wrote at <account>/<object>/<name>: read, then deleted.
        let old = ObjectId::new();
        let old_key = key(account, old, "label.png");
        std::fs::create_dir_all(dir.join(account.to_string()).join(old.to_string())).unwrap();
        std::fs::write(dir.join(&old_key), b"png").unwrap();
        assert_eq!(
            blobs.get(&old_key).await.unwrap().as_deref(),
            Some(&b"png"[..])
        );
        blobs.delete(&old_key).await.unwrap();
        assert_eq!(blobs.get(&old_key).await.unwrap(), None);
        assert!(!dir.join(&old_key).exists());
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

//! Where label, invoice and manifest files live: a blob store behind [`BlobStore`] (a local
//! directory by default; an S3-compatible store can implement the same three calls), and the
//! signed, expiring links that let anyone holding a link download one file.
//!
//! Keys are `{account id}/{object id}/{name}`: the account prefix is how a token's downloads
//! are confined to its own account's files.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use domain::{ObjectId, Timestamp};

use crate::Cipher;

/// How long a signed link works: 7 days (each read of the object signs a fresh one).
pub const LINK_TTL_SECS: i64 = 7 * 24 * 3600;

/// A store of immutable files by key.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing any earlier file.
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    /// The file under `key`, or `None`.
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>>;
    /// Removes the file under `key` (no error when missing).
    fn delete(&self, key: &str) -> io::Result<()>;
}

/// Files in a local directory, one file per key. A file is written to a temporary name, flushed
/// to disk (`fsync`), renamed and its directory flushed, so a reader never sees half a file and a
/// crash after `put` returns never loses one: the purchase that names the file commits after.
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
}

impl BlobStore for LocalBlobs {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let new_dir = !dir.exists();
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", ObjectId::new()));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_data()?;
        }
        std::fs::rename(&tmp, &path)?;
        // The rename (and a directory made for it) is durable once the directories are flushed.
        std::fs::File::open(dir)?.sync_all()?;
        if new_dir {
            for parent in dir.ancestors().skip(1).take(2) {
                std::fs::File::open(parent)?.sync_all()?;
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Files in memory (tests, and services built without a data directory).
#[derive(Default)]
pub struct MemoryBlobs(Mutex<HashMap<String, Vec<u8>>>);

impl BlobStore for MemoryBlobs {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned())
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
        Ok(())
    }
}

/// Whether `key` is `{32 hex}/{32 hex}/{name}` with a plain file name: nothing that could
/// climb out of the store's directory.
pub fn valid_key(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    let hex32 = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 3
        && hex32(parts[0])
        && hex32(parts[1])
        && !parts[2].is_empty()
        && parts[2].len() <= 40
        && !parts[2].starts_with('.')
        && parts[2]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The key of an object's file.
pub fn key(account: ObjectId, object: ObjectId, name: &str) -> String {
    format!("{account}/{object}/{name}")
}

/// The account a key belongs to.
pub fn owner_of(key: &str) -> Option<ObjectId> {
    key.split('/').next().and_then(ObjectId::parse)
}

/// Whether `who` may download `key` with its token: the key is in its account and names an
/// object (a transaction's label or invoice, a manifest) of its mode. A live token never reads a
/// test label, as it never sees the test transaction.
pub async fn visible_to(
    s: &crate::Services,
    who: &crate::Principal,
    key: &str,
) -> Result<bool, crate::ServiceError> {
    let object = key.split('/').nth(1).and_then(ObjectId::parse);
    let (Some(object), true) = (object, owner_of(key) == Some(who.account_id)) else {
        return Ok(false);
    };
    let scope = crate::scope(who);
    let mut conn = s.store.conn().await?;
    match store::transactions::get(&mut conn, scope, object).await {
        Ok(_) => return Ok(true),
        Err(store::StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    match store::manifests::get(&mut conn, scope, object).await {
        Ok(_) => Ok(true),
        Err(store::StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The content type of a file by its name.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("zpl") => "application/zpl",
        _ => "application/octet-stream",
    }
}

/// The path and query of a signed link to `key`, valid until `now + LINK_TTL_SECS`.
pub fn signed_path(cipher: &Cipher, key: &str, now: Timestamp) -> String {
    let expires = now.millis() / 1000 + LINK_TTL_SECS;
    let signature = cipher.sign_link(&format!("{key}\n{expires}"));
    format!("/files/{key}?expires={expires}&signature={signature}")
}

/// Whether a link's `expires` and `signature` are valid for `key` at `now`.
pub fn check_link(
    cipher: &Cipher,
    key: &str,
    expires: i64,
    signature: &str,
    now: Timestamp,
) -> bool {
    expires >= now.millis() / 1000 && cipher.verify_link(&format!("{key}\n{expires}"), signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn keys_cannot_climb_out() {
        let a = ObjectId::new();
        let o = ObjectId::new();
        assert!(valid_key(&key(a, o, "label.pdf")));
        assert!(!valid_key(&format!("{a}/{o}/../x")));
        assert!(!valid_key(&format!("{a}/../{o}")));
        assert!(!valid_key(&format!("{a}/{o}/.hidden")));
        assert!(!valid_key("../../etc/passwd"));
        assert_eq!(owner_of(&key(a, o, "x.pdf")), Some(a));
    }

    #[test]
    fn links_expire_and_bind_the_key() {
        let c = cipher();
        let now = Timestamp::from_millis(1_700_000_000_000);
        let k = key(ObjectId::new(), ObjectId::new(), "label.pdf");
        let path = signed_path(&c, &k, now);
        let query = path.split_once('?').unwrap().1;
        let params: HashMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let expires: i64 = params["expires"].parse().unwrap();
        assert!(check_link(&c, &k, expires, params["signature"], now));
        let later = Timestamp::from_millis((expires + 1) * 1000);
        assert!(
            !check_link(&c, &k, expires, params["signature"], later),
            "expired"
        );
        let other = key(ObjectId::new(), ObjectId::new(), "label.pdf");
        assert!(
            !check_link(&c, &other, expires, params["signature"], now),
            "another file"
        );
        assert!(
            !check_link(&c, &k, expires + 3600, params["signature"], now),
            "extended expiry"
        );
        let other_secret = Cipher::from_hex(&"cd".repeat(32)).unwrap();
        assert!(!check_link(
            &other_secret,
            &k,
            expires,
            params["signature"],
            now
        ));
    }

    #[test]
    fn local_files_round_trip() {
        let dir = std::env::temp_dir().join(format!("consign-blobs-{}", ObjectId::new()));
        let blobs = LocalBlobs::new(&dir);
        let k = key(ObjectId::new(), ObjectId::new(), "label.png");
        assert_eq!(blobs.get(&k).unwrap(), None);
        blobs.put(&k, b"png").unwrap();
        assert_eq!(blobs.get(&k).unwrap().as_deref(), Some(&b"png"[..]));
        blobs.delete(&k).unwrap();
        assert_eq!(blobs.get(&k).unwrap(), None);
        assert!(blobs.put("../x", b"no").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}

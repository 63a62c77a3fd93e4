//! Where label, invoice and manifest files live: a blob store behind [`BlobStore`] — a local
//! directory by default ([`local`]), an S3-compatible bucket when configured ([`s3`]), memory in
//! tests ([`memory`]) — and the signed, expiring links that let anyone holding a link download one
//! file.
//!
//! Keys are `{account id}/{object id}/{name}`: the account prefix is how a token's downloads
//! are confined to its own account's files, in every store.

pub mod local;
pub mod memory;
pub mod s3;

use std::io;

use domain::{ObjectId, Timestamp};
use futures_util::future::BoxFuture;

use crate::Cipher;

pub use local::LocalBlobs;
pub use memory::MemoryBlobs;
pub use s3::{S3Blobs, S3Config};

/// How long a signed link works: 7 days (each read of the object signs a fresh one).
pub const LINK_TTL_SECS: i64 = 7 * 24 * 3600;

/// A store of immutable files by key. `put` returns once the file is durable: the purchase that
/// names it commits after.
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`, replacing any earlier file.
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, io::Result<()>>;
    /// The file under `key`, or `None`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Vec<u8>>>>;
    /// Removes the file under `key` (no error when missing).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<()>>;
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
/// object (a transaction's label or invoice, a manifest, a batch's merged labels, an order's packing slip) of its mode. A live token never reads a
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
        Ok(_) => return Ok(true),
        Err(store::StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    // A batch's merged labels.
    match store::batches::get(&mut conn, scope, object).await {
        Ok(_) => return Ok(true),
        Err(store::StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    // An order's packing slips.
    match store::orders::get(&mut conn, scope, object).await {
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
    use std::collections::HashMap;

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
}

//! Encryption at rest for provider credentials: XChaCha20-Poly1305 with a random 192-bit nonce
//! per value, and the owning row's identity as associated data, so a ciphertext copied to another
//! row or account does not decrypt.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Version tag of the stored format: `v1:` + hex(nonce ‖ ciphertext).
const PREFIX: &str = "v1:";

/// The key that encrypts credentials. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Cipher {
    aead: XChaCha20Poly1305,
    /// HMAC key of signed file links, derived from the secret key (never the key itself).
    link_key: [u8; 32],
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

/// A key that cannot be used, or a value that does not decrypt with it.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the key file {0}: {1}")]
    KeyFile(String, std::io::Error),
    #[error("stored secret does not decrypt with the configured key")]
    Decrypt,
}

impl Cipher {
    /// From 64 hex characters.
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let link_key: [u8; 32] = Sha256::new()
            .chain_update(b"consign file links v1\0")
            .chain_update(&bytes)
            .finalize()
            .into();
        Ok(Self {
            aead: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?,
            link_key,
        })
    }

    /// Reads the key from `path`, creating it (random, mode 0600) when missing.
    pub fn from_key_file(path: &Path) -> Result<Self, CryptoError> {
        let err = |e| CryptoError::KeyFile(path.display().to_string(), e);
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            write_private(path, hex::encode(key).as_bytes()).map_err(err)?;
        }
        Self::from_hex(&std::fs::read_to_string(path).map_err(err)?)
    }

    /// HMAC-SHA256 of `message` under the link key, hex-encoded (signed file links).
    pub fn sign_link(&self, message: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `signature` (hex) signs `message`, compared in constant time.
    pub fn verify_link(&self, message: &str, signature: &str) -> bool {
        let Ok(raw) = hex::decode(signature) else {
            return false;
        };
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac.verify_slice(&raw).is_ok()
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the row's id).
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        format!("{PREFIX}{}{}", hex::encode(nonce), hex::encode(ct))
    }

    /// Decrypts a value made by [`Cipher::encrypt`] with the same `context`.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let raw = hex::decode(stored.strip_prefix(PREFIX).ok_or(CryptoError::Decrypt)?)
            .map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < 24 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = raw.split_at(24);
        self.aead
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn round_trips_and_binds_to_context() {
        let c = cipher();
        let stored = c.encrypt(b"{\"password\":\"hunter2\"}", "acct-1");
        assert!(stored.starts_with("v1:"));
        assert!(!stored.contains("hunter2"));
        assert_eq!(
            c.decrypt(&stored, "acct-1").unwrap(),
            b"{\"password\":\"hunter2\"}"
        );
        assert!(
            c.decrypt(&stored, "acct-2").is_err(),
            "another row's context must not decrypt"
        );
        assert_ne!(
            stored,
            c.encrypt(b"{\"password\":\"hunter2\"}", "acct-1"),
            "fresh nonce per value"
        );
        let other = Cipher::from_hex(&"cd".repeat(32)).unwrap();
        assert!(other.decrypt(&stored, "acct-1").is_err());
        assert!(c.decrypt("v1:zz", "acct-1").is_err());
    }

    #[test]
    fn keys_are_checked_and_key_files_created_private() {
        assert!(Cipher::from_hex("abc").is_err());
        let dir = std::env::temp_dir().join(format!("consign-key-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        let a = Cipher::from_key_file(&path).unwrap();
        let b = Cipher::from_key_file(&path).unwrap();
        assert_eq!(
            b.decrypt(&a.encrypt(b"x", "c"), "c").unwrap(),
            b"x",
            "the same file gives the same key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! Object ids: 32 lowercase hex characters, time-ordered.

use std::fmt;

use std::sync::Mutex;

use rand::RngCore;

/// A Shippo-style object id: 32 lowercase hex characters.
///
/// The first 12 characters are the creation time in milliseconds since the Unix epoch, the other 20
/// are random, so ids sort by creation time (good for index locality and for stable list order)
/// while staying unguessable (80 random bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 16]);

impl ObjectId {
    /// A fresh id for an object created now.
    pub fn new() -> Self {
        Self::at(chrono::Utc::now().timestamp_millis())
    }

    /// A fresh id for an object created at `millis` since the epoch.
    ///
    /// Ids made by one process are strictly increasing, even within one millisecond (the
    /// random part is incremented, as monotonic ULIDs do), so lists sort in creation order.
    pub fn at(millis: i64) -> Self {
        static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));
        let mut random = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut random[6..]);
        let mut ms = (millis.max(0) as u64) & 0xFFFF_FFFF_FFFF;
        let mut rand80 = u128::from_be_bytes(random);
        {
            let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
            if ms <= last.0 {
                ms = last.0;
                rand80 = (last.1 + 1) & ((1u128 << 80) - 1);
                if rand80 == 0 {
                    ms += 1;
                }
            }
            *last = (ms, rand80);
        }
        let value = (u128::from(ms) << 80) | rand80;
        Self(value.to_be_bytes())
    }

    /// The smallest id of millisecond `millis`: every id made at or after it sorts at or after
    /// this one (for turning a time range into an id range).
    pub fn first_at(millis: i64) -> Self {
        let ms = (millis.clamp(0, 0xFFFF_FFFF_FFFF) as u64) as u128;
        Self((ms << 80).to_be_bytes())
    }

    /// When the id was made: milliseconds since the epoch (its first 48 bits).
    pub fn millis(&self) -> i64 {
        (u128::from_be_bytes(self.0) >> 80) as i64
    }

    /// Parses 32 hex characters (either case); anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            bytes[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(Self(bytes))
    }
}

impl Default for ObjectId {
    fn default() -> Self {
        Self::new()
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ids are formatted for every row bound and every object answered: one write, not 16.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&out).expect("hex digits are ASCII"))
    }
}

/// Serialised as its 32-hex text, as on the wire and in the database.
impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ObjectId::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("{raw:?} is not an object id")))
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_lowercase_hex_and_round_trip() {
        let id = ObjectId::new();
        let s = id.to_string();
        assert_eq!(s.len(), 32);
        assert!(s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_eq!(ObjectId::parse(&s), Some(id));
        assert_eq!(ObjectId::parse(&s.to_uppercase()), Some(id));
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = ObjectId::at(1_000);
        let b = ObjectId::at(2_000);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn ids_increase_within_one_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| ObjectId::at(5_000).to_string()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert_eq!(ObjectId::parse("abc"), None);
        assert_eq!(ObjectId::parse(&"g".repeat(32)), None);
        assert_eq!(ObjectId::parse(&"a".repeat(33)), None);
    }
}

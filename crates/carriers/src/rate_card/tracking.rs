//! The tracking-number format of a rate card: what the labels of its carrier will carry.
//!
//! A number is `PREFIX` + a serial of `digits` digits + a check digit + `SUFFIX`. Check digits:
//! - `s10`: the UPU S10 standard of postal items (`RR123456785PT`): a 2-letter service
//!   indicator, an 8-digit serial, a mod-11 check digit (weights 8 6 4 2 3 5 9 7) and the
//!   2-letter country of the issuing operator;
//! - `mod10`: the Luhn digit over the serial;
//! - `none`: no check digit.

use serde::{Deserialize, Serialize};

/// How check digits are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckDigit {
    S10,
    Mod10,
    None,
}

impl CheckDigit {
    /// The document spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S10 => "s10",
            Self::Mod10 => "mod10",
            Self::None => "none",
        }
    }

    /// Parses the document spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "s10" => Some(Self::S10),
            "mod10" | "luhn" => Some(Self::Mod10),
            "none" | "" => Some(Self::None),
            _ => None,
        }
    }

    /// The check digit of `serial` (ASCII digits).
    fn digit(self, serial: &str) -> Option<char> {
        let digits = serial.bytes().map(|b| u32::from(b - b'0'));
        match self {
            Self::None => None,
            Self::S10 => {
                const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
                let sum: u32 = digits.zip(WEIGHTS).map(|(d, w)| d * w).sum();
                let check = match 11 - sum % 11 {
                    10 => 0,
                    11 => 5,
                    c => c,
                };
                char::from_digit(check, 10)
            }
            Self::Mod10 => {
                let sum: u32 = digits
                    .rev()
                    .enumerate()
                    .map(|(i, d)| {
                        if i % 2 == 0 {
                            let doubled = d * 2;
                            doubled / 10 + doubled % 10
                        } else {
                            d
                        }
                    })
                    .sum();
                char::from_digit((10 - sum % 10) % 10, 10)
            }
        }
    }
}

/// A card's tracking-number format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingFormat {
    pub prefix: String,
    /// Digits of the serial (before the check digit).
    pub digits: u8,
    pub suffix: String,
    pub check: CheckDigit,
}

impl Default for TrackingFormat {
    /// Twelve digits with a Luhn check digit, no letters.
    fn default() -> Self {
        Self {
            prefix: String::new(),
            digits: 12,
            suffix: String::new(),
            check: CheckDigit::Mod10,
        }
    }
}

impl TrackingFormat {
    /// Checks the format: S10 needs 2-letter prefix and suffix and 8 digits; otherwise prefix and
    /// suffix are up to 6 letters or digits and the serial 4 to 18 digits.
    pub fn check(&self) -> Result<(), String> {
        let letters = |s: &str| s.chars().all(|c| c.is_ascii_uppercase());
        let alnum = |s: &str| {
            s.len() <= 6
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        match self.check {
            CheckDigit::S10 => {
                if self.prefix.len() != 2 || !letters(&self.prefix) {
                    return Err(
                        "s10 numbers start with 2 capital letters (the service indicator)".into(),
                    );
                }
                if self.suffix.len() != 2 || !letters(&self.suffix) {
                    return Err("s10 numbers end with the 2-letter country of the operator".into());
                }
                if self.digits != 8 {
                    return Err("s10 numbers have an 8-digit serial".into());
                }
            }
            _ => {
                if !alnum(&self.prefix) || !alnum(&self.suffix) {
                    return Err("prefix and suffix are up to 6 capital letters or digits".into());
                }
                if !(4..=18).contains(&self.digits) {
                    return Err("the serial has 4 to 18 digits".into());
                }
            }
        }
        Ok(())
    }

    /// The number for serial `n` (taken modulo the serial's range).
    pub fn format(&self, n: u64) -> String {
        let modulus = 10u64
            .checked_pow(u32::from(self.digits))
            .unwrap_or(u64::MAX);
        let serial = format!("{:0width$}", n % modulus, width = usize::from(self.digits));
        let mut out = format!("{}{serial}", self.prefix);
        if let Some(c) = self.check.digit(&serial) {
            out.push(c);
        }
        out.push_str(&self.suffix);
        out
    }

    /// Whether `number` has this format and a correct check digit.
    pub fn is_valid(&self, number: &str) -> bool {
        let Some(rest) = number.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        let Some(body) = rest.strip_suffix(self.suffix.as_str()) else {
            return false;
        };
        let digits = usize::from(self.digits);
        let expected = digits + usize::from(self.check != CheckDigit::None);
        if body.len() != expected || !body.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let serial = &body[..digits];
        self.check.digit(serial).is_none_or(|c| body.ends_with(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s10_check_digits_follow_the_upu_rule() {
        let f = TrackingFormat {
            prefix: "RR".into(),
            digits: 8,
            suffix: "PT".into(),
            check: CheckDigit::S10,
        };
        assert_eq!(f.check(), Ok(()));
        // 4·8 + 7·6 + 3·4 + 1·2 + 2·3 + 4·5 + 8·9 + 2·7 = 200; 200 mod 11 = 2; 11 − 2 = 9.
        assert_eq!(f.format(47_312_482), "RR473124829PT");
        // Remainder 0 gives 11, written 5; remainder 1 gives 10, written 0 (3·4 = 12).
        assert_eq!(f.format(0), "RR000000005PT");
        assert_eq!(f.format(300_000), "RR003000000PT");
        assert!(f.is_valid("RR473124829PT"));
        assert!(
            !f.is_valid("RR473124828PT"),
            "a wrong check digit is refused"
        );
        assert!(!f.is_valid("RR47312482PT"));
    }

    #[test]
    fn luhn_numbers_and_limits() {
        let f = TrackingFormat::default();
        // Luhn of 7992739871 is 3 (the textbook example), padded to 12 digits.
        assert_eq!(f.format(7_992_739_871), "0079927398713");
        assert!(f.is_valid("0079927398713"));
        let bad = TrackingFormat {
            prefix: "RR".into(),
            digits: 9,
            suffix: "P".into(),
            check: CheckDigit::S10,
        };
        assert!(bad.check().is_err());
    }
}

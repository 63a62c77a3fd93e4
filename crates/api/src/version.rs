//! The response shape a client asked for with the `Shippo-API-Version` header.
//!
//! Shippo versions its API by date. Without the header (what the official SDKs send) the current
//! shape is used; `2014-02-11` and earlier get the shape of the seed's reference (`object_status`,
//! `object_purpose`, single `parcel`, `rates_list`/`rates_url`, flat `servicelevel_*`). Values
//! that are not dates are ignored, never rejected.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The newest version date that still gets the seed's shape.
pub const LEGACY_UNTIL: &str = "2014-02-11";

/// Which wire shape to answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Current,
    Legacy,
}

impl Shape {
    /// The shape for a `Shippo-API-Version` value.
    pub fn for_version(version: Option<&str>) -> Self {
        let Some(v) = version.map(str::trim) else {
            return Self::Current;
        };
        let is_date = v.len() == 10
            && v.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if is_date && v <= LEGACY_UNTIL {
            Self::Legacy
        } else {
            Self::Current
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Shape {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::for_version(
            parts
                .headers
                .get("shippo-api-version")
                .and_then(|v| v.to_str().ok()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_dates_get_the_seed_shape() {
        assert_eq!(Shape::for_version(None), Shape::Current);
        assert_eq!(Shape::for_version(Some("2014-02-11")), Shape::Legacy);
        assert_eq!(Shape::for_version(Some("2013-08-01")), Shape::Legacy);
        assert_eq!(Shape::for_version(Some("2014-02-12")), Shape::Current);
        assert_eq!(Shape::for_version(Some("2018-02-08")), Shape::Current);
        assert_eq!(Shape::for_version(Some("latest")), Shape::Current);
        assert_eq!(Shape::for_version(Some("2014-2-1")), Shape::Current);
    }
}

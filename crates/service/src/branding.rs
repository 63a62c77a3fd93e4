//! An account's branding: the name, accent colour and logo its buyers see — on the public
//! tracking page (all three), in its buyer emails (the name as the sender's display name and
//! the `{{shop_name}}` placeholder) and on its packing slips (the name: slips are printed in
//! black on office and thermal printers, so neither colour nor logo is drawn there).

use domain::text::check_text;
use domain::{FieldErrors, ObjectId};
pub use store::branding::Branding;

use crate::{Principal, ServiceError, Services};

/// Longest brand name.
const NAME_MAX: usize = 60;
/// Largest logo file.
pub const LOGO_MAX: usize = 256 * 1024;
/// The colour when none is chosen (the web app's own blue).
pub const DEFAULT_COLOR: &str = "#0b5cad";

/// What happens to the logo on a save.
#[derive(Debug, Clone)]
pub enum LogoChange {
    Keep,
    Remove,
    /// A new logo's bytes (PNG, JPEG, GIF or WebP, at most [`LOGO_MAX`]).
    New(Vec<u8>),
}

/// The media type of an image the tracking page and emails can show, from its first bytes.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `#rrggbb` (any case, `#` optional) as `#rrggbb`, or `None`.
fn hex_color(raw: &str) -> Option<String> {
    let h = raw.trim().trim_start_matches('#');
    (h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("#{}", h.to_ascii_lowercase()))
}

/// WCAG's contrast ratio of white text on `#rrggbb`.
pub fn contrast_with_white(color: &str) -> f64 {
    let h = color.trim_start_matches('#');
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (l + 0.05)
}

/// Where the account's logo is served (public: buyers' pages and emails show it).
pub fn logo_path(account: ObjectId) -> String {
    format!("/brand/{account}/logo")
}

/// The account's branding, if it set one (public pages ask by the owner's id).
pub async fn of_account(s: &Services, account: ObjectId) -> Result<Option<Branding>, ServiceError> {
    Ok(store::branding::get(&mut *s.store.conn().await?, account).await?)
}

/// The principal's branding (the defaults when none is set).
pub async fn get(s: &Services, who: &Principal) -> Result<Branding, ServiceError> {
    Ok(of_account(s, who.account_id)
        .await?
        .unwrap_or_else(|| Branding {
            name: String::new(),
            color: DEFAULT_COLOR.into(),
            logo: None,
        }))
}

/// The account's logo: its bytes and media type.
pub async fn logo(s: &Services, account: ObjectId) -> Result<(Vec<u8>, String), ServiceError> {
    let Some((key, kind)) = of_account(s, account).await?.and_then(|b| b.logo) else {
        return Err(ServiceError::NotFound);
    };
    match s.blobs.get(&key).await {
        Ok(Some(bytes)) => Ok((bytes, kind)),
        Ok(None) => Err(ServiceError::NotFound),
        Err(e) => Err(ServiceError::Unavailable(format!("file store: {e}"))),
    }
}

/// Saves the account's branding: a name (empty: none shown), a colour white text reads on
/// (WCAG AA, 4.5:1) and the logo kept, removed or replaced. Audited.
pub async fn set(
    s: &Services,
    who: &Principal,
    name: &str,
    color: &str,
    logo: LogoChange,
) -> Result<Branding, ServiceError> {
    let name = name.trim().to_string();
    let mut errors = FieldErrors::new();
    check_text(&mut errors, "name", &name, NAME_MAX);
    let color = match hex_color(color) {
        Some(c) if contrast_with_white(&c) >= 4.5 => c,
        Some(c) => {
            errors.add(
                "color",
                format!(
                    "White text on {c} has a contrast of {:.1}:1; choose a darker colour (4.5:1 at least).",
                    contrast_with_white(&c)
                ),
            );
            String::new()
        }
        None => {
            errors.add("color", "Give the colour as #rrggbb, e.g. #0b5cad.");
            String::new()
        }
    };
    let new_logo = match &logo {
        LogoChange::New(bytes) if bytes.len() > LOGO_MAX => {
            errors.add(
                "logo",
                format!(
                    "The logo is {} KB; at most {} KB.",
                    bytes.len() / 1024,
                    LOGO_MAX / 1024
                ),
            );
            None
        }
        LogoChange::New(bytes) => match image_type(bytes) {
            Some(kind) => Some(kind),
            None => {
                errors.add("logo", "The logo must be a PNG, JPEG, GIF or WebP image.");
                None
            }
        },
        _ => None,
    };
    errors.into_result()?;
    let account = who.account_id;
    let mut b = get(s, who).await?;
    b.name = name;
    b.color = color;
    match (logo, new_logo) {
        (LogoChange::New(bytes), Some(kind)) => {
            // A new key per logo, so caches of the old one never show it again.
            let key = crate::files::key(account, ObjectId::new(), "logo");
            crate::labels::put(s, &key, bytes).await?;
            b.logo = Some((key, kind.to_string()));
        }
        (LogoChange::Remove, _) => b.logo = None,
        _ => {}
    }
    let (saved, actor) = (b.clone(), who.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                store::branding::put(conn, account, &saved).await?;
                let detail = format!(
                    "name \"{}\", colour {}, {}",
                    saved.name,
                    saved.color,
                    if saved.logo.is_some() {
                        "a logo"
                    } else {
                        "no logo"
                    }
                );
                crate::audit::record(conn, &actor, "changed the branding", None, &detail).await
            })
        })
        .await?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_and_checked_for_contrast_with_white() {
        assert_eq!(hex_color(" #0B5CAD "), Some("#0b5cad".into()));
        assert_eq!(hex_color("0b5cad"), Some("#0b5cad".into()));
        assert_eq!(hex_color("#0b5ca"), None);
        assert_eq!(hex_color("red"), None);
        assert!((contrast_with_white("#000000") - 21.0).abs() < 0.01);
        assert!((contrast_with_white("#ffffff") - 1.0).abs() < 0.01);
        assert!(contrast_with_white(DEFAULT_COLOR) >= 4.5);
        assert!(contrast_with_white("#ffcc00") < 4.5);
    }

    #[test]
    fn logos_are_known_images_by_their_first_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            image_type(b"<svg onload=alert(1)>"),
            None,
            "no SVG: it can carry script"
        );
    }
}

//! What the pages that take a CSV share (orders, backers, tracking): the file — chosen now, or
//! kept from the preview ([`service::uploads`]) so "Import" reads the bytes that were previewed —
//! and the column map a person adjusts on the preview.

use axum::body::Bytes;
use domain::ObjectId;

use crate::ctx::{Ctx, FormData};

/// One column of the file on the preview: its position, name and the field read from it.
pub(crate) struct ColumnRow {
    pub index: usize,
    pub name: String,
    /// `""`: not read.
    pub field: String,
}

/// The file of a form: the one chosen (kept for the next step) or the one kept before
/// (`upload` field). Answers the bytes and the kept id, or the page to show instead.
pub(crate) async fn file_of(
    ctx: &Ctx,
    form: &FormData,
    file: Option<Bytes>,
) -> Result<(Vec<u8>, ObjectId), String> {
    let s = &ctx.web.services;
    let (bytes, id) = match (file, ObjectId::parse(form.get("upload"))) {
        (Some(bytes), _) => {
            let bytes = bytes.to_vec();
            let id = service::uploads::keep(s, &ctx.principal, bytes.clone())
                .await
                .map_err(|e| e.to_string())?;
            (bytes, id)
        }
        (None, Some(id)) => match service::uploads::read(s, &ctx.principal, id).await {
            Ok(bytes) => (bytes, id),
            Err(service::ServiceError::NotFound) => {
                return Err("The file previewed before is gone; choose it again.".into())
            }
            Err(e) => return Err(e.to_string()),
        },
        (None, None) => return Err("Choose a CSV file.".into()),
    };
    if std::str::from_utf8(&bytes).is_err() {
        return Err("The file is not UTF-8 text (save it as CSV UTF-8).".into());
    }
    Ok((bytes, id))
}

/// The column map the preview's selects give (`map.<column>` = field), as `field → column`;
/// a field chosen for two columns is refused.
pub(crate) fn mapping_of(
    form: &FormData,
    columns: &[service::Column],
) -> Result<Vec<(String, String)>, String> {
    let mut mapping: Vec<(String, String)> = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let field = form.get(&format!("map.{i}"));
        if field.is_empty() {
            continue;
        }
        if let Some((_, other)) = mapping.iter().find(|(f, _)| f == field) {
            return Err(format!(
                "Both \"{other}\" and \"{}\" are mapped to {field}; choose one.",
                c.name
            ));
        }
        mapping.push((field.to_string(), c.name.clone()));
    }
    Ok(mapping)
}

/// The preview's rows.
pub(crate) fn rows(columns: &[service::Column]) -> Vec<ColumnRow> {
    columns
        .iter()
        .enumerate()
        .map(|(index, c)| ColumnRow {
            index,
            name: c.name.clone(),
            field: c.field.unwrap_or("").to_string(),
        })
        .collect()
}

//! The orders inbox's saved views: a name and the web app's filter query, shared by the
//! account's people (a setting of the account, like its sender addresses, in both modes).

use domain::text::check_text;
use domain::{FieldErrors, ObjectId};
pub use store::views::SavedView;

use crate::{Principal, ServiceError, Services};

/// Views an account keeps at most.
pub const MAX_VIEWS: usize = 30;
/// Longest name of a view.
const NAME_MAX: usize = 40;
/// Longest query a view keeps (the inbox's filters fit many times over).
const QUERY_MAX: usize = 600;

/// The account's views by name.
pub async fn list(s: &Services, who: &Principal) -> Result<Vec<SavedView>, ServiceError> {
    Ok(store::views::list(&mut *s.store.conn().await?, who.account_id).await?)
}

/// Saves the inbox's filters under `name` (a view of that name gets the new filters).
pub async fn save(
    s: &Services,
    who: &Principal,
    name: &str,
    query: &str,
) -> Result<SavedView, ServiceError> {
    let name = name.trim();
    let mut errors = FieldErrors::new();
    if name.is_empty() {
        errors.add("name", "Name the view.");
    }
    check_text(&mut errors, "name", name, NAME_MAX);
    if query.is_empty() {
        errors.add(
            "query",
            "Filter the inbox first: a view of everything is \"All\".",
        );
    }
    check_text(&mut errors, "query", query, QUERY_MAX);
    errors.into_result()?;
    let view = SavedView {
        id: ObjectId::new(),
        name: name.to_string(),
        query: query.to_string(),
    };
    let (account, v) = (who.account_id, view.clone());
    let full = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                let have = store::views::list(conn, account).await?;
                if have.len() >= MAX_VIEWS && !have.iter().any(|h| h.name == v.name) {
                    return Ok(true);
                }
                store::views::upsert(conn, account, &v).await?;
                Ok(false)
            })
        })
        .await?;
    if full {
        return Err(domain::ValidationError::field(
            "name",
            format!("An account keeps at most {MAX_VIEWS} views: delete one first."),
        )
        .into());
    }
    Ok(view)
}

/// Deletes one of the account's views.
pub async fn delete(s: &Services, who: &Principal, id: ObjectId) -> Result<(), ServiceError> {
    let account = who.account_id;
    let gone = s
        .store
        .write(move |conn| Box::pin(async move { store::views::delete(conn, account, id).await }))
        .await?;
    if gone {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

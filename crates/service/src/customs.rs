//! Customs items and declarations (seed 002 "Customs Items", "Customs Declarations").
//!
//! A declaration's items may be given as ids of stored items or as new items (what the official
//! SDK sends); new items are stored with the declaration, in one statement.

use domain::customs::{
    parse_customs_item, parse_declaration, CustomsDeclaration, CustomsItem, CustomsItemInput,
    DeclarationInput, MAX_ITEMS,
};
use domain::error::FieldErrors;
use domain::{ObjectId, Timestamp, ValidationError};
use store::customs as repo;
use store::{LazyConn, Page, PageRequest};

use crate::{scope, Principal, ServiceError, Services};

/// A customs item given by id or as a new object.
#[derive(Debug, Clone)]
pub enum ItemRef {
    Id(String),
    New(Box<CustomsItemInput>),
}

/// A customs declaration given by id or as a new object with its items.
#[derive(Debug, Clone)]
pub enum DeclarationRef {
    Id(String),
    New(Box<DeclarationInput>, Vec<ItemRef>),
}

/// Creates a customs item.
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create_item(
    s: &Services,
    who: &Principal,
    input: CustomsItemInput,
) -> Result<CustomsItem, ServiceError> {
    let item = parse_customs_item(input, Timestamp::now(), who.mode.is_test())?;
    let scope = scope(who);
    let stored = item.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move { repo::insert_items(conn, scope, &[stored]).await })
        })
        .await?;
    Ok(item)
}

/// One of the principal's customs items.
pub async fn get_item(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<CustomsItem, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::get_item(&mut conn, scope(who), id).await?)
}

/// A page of the principal's customs items, newest first.
pub async fn list_items(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<CustomsItem>, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::list_items(&mut conn, scope(who), page).await?)
}

/// Creates a declaration (and the items given as objects).
#[tracing::instrument(skip_all, fields(account = %who.account_id))]
pub async fn create_declaration(
    s: &Services,
    who: &Principal,
    input: DeclarationInput,
    items: Vec<ItemRef>,
) -> Result<CustomsDeclaration, ServiceError> {
    let mut conn = s.store.lazy_conn();
    let (declaration, new_items) = build_declaration(who, &mut conn, input, items)
        .await?
        .map_err(ServiceError::Validation)?;
    drop(conn);
    let script = repo::creation_script(s.store.backend(), scope(who), &new_items, &declaration);
    s.store.write_script(script).await?;
    Ok(declaration)
}

/// Checks a declaration and resolves its items: stored ones are looked up in the principal's
/// scope, new ones checked. `Ok(Err(_))` carries the field errors (paths relative to the
/// declaration); the new items are returned for the caller to store with the declaration.
pub(crate) async fn build_declaration(
    who: &Principal,
    conn: &mut LazyConn<'_>,
    input: DeclarationInput,
    items: Vec<ItemRef>,
) -> Result<Result<(CustomsDeclaration, Vec<CustomsItem>), ValidationError>, ServiceError> {
    let now = Timestamp::now();
    let mut errors = FieldErrors::new();
    let mut ids = Vec::with_capacity(items.len());
    let mut new_items = Vec::new();
    if items.len() > MAX_ITEMS {
        errors.add(
            "items",
            format!("At most {MAX_ITEMS} items per declaration."),
        );
    } else {
        for (i, item) in items.into_iter().enumerate() {
            let field = format!("items.{i}");
            match item {
                ItemRef::Id(raw) => {
                    let found = match ObjectId::parse(raw.trim()) {
                        Some(id) => match repo::get_item(conn.get().await?, scope(who), id).await {
                            Ok(item) => Some(item.id),
                            Err(store::StoreError::NotFound) => None,
                            Err(e) => return Err(e.into()),
                        },
                        None => None,
                    };
                    match found {
                        Some(id) => ids.push(id),
                        None => errors.add(field, format!("No customs item with id \"{raw}\".")),
                    }
                }
                ItemRef::New(input) => match parse_customs_item(*input, now, who.mode.is_test()) {
                    Ok(item) => {
                        ids.push(item.id);
                        new_items.push(item);
                    }
                    Err(e) => errors.absorb(e.prefixed(&field)),
                },
            }
        }
    }
    let declaration = match parse_declaration(input, ids, now, who.mode.is_test()) {
        Ok(d) => Some(d),
        Err(e) => {
            // An empty or oversized list was already reported with its reason.
            for (field, messages) in e.0.iter() {
                if field == "items" && errors.iter().any(|(f, _)| f.starts_with("items")) {
                    continue;
                }
                for m in messages {
                    errors.add(field, m.clone());
                }
            }
            None
        }
    };
    if let Err(e) = errors.into_result() {
        return Ok(Err(e));
    }
    Ok(Ok((declaration.expect("checked"), new_items)))
}

/// One of the principal's declarations.
pub async fn get_declaration(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<CustomsDeclaration, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::get_declaration(&mut conn, scope(who), id).await?)
}

/// A page of the principal's declarations, newest first.
pub async fn list_declarations(
    s: &Services,
    who: &Principal,
    page: PageRequest,
) -> Result<Page<CustomsDeclaration>, ServiceError> {
    let mut conn = s.store.conn().await?;
    Ok(repo::list_declarations(&mut conn, scope(who), page).await?)
}

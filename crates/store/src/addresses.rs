//! Address rows.

use domain::address::{
    Address, AddressFields, AddressState, Message, MessageKind, Purpose, Source, ValidationResults,
};
use domain::{ObjectId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::insert::Args;
use crate::page::scoped;
use crate::rows::corrupt;
use crate::{Conn, Page, PageRequest, Scope, StoreError};

/// Stored form of a validation message (JSON in the `messages`/`validation` columns).
#[derive(Serialize, Deserialize)]
struct MessageRecord {
    source: String,
    code: String,
    kind: String,
    text: String,
}

#[derive(Serialize, Deserialize)]
struct ValidationRecord {
    is_valid: bool,
    messages: Vec<MessageRecord>,
}

fn records(messages: &[Message]) -> Vec<MessageRecord> {
    messages
        .iter()
        .map(|m| MessageRecord {
            source: m.source.clone(),
            code: m.code.clone(),
            kind: m.kind.as_str().into(),
            text: m.text.clone(),
        })
        .collect()
}

fn messages_to_json(messages: &[Message]) -> String {
    serde_json::to_string(&records(messages)).expect("messages serialise")
}

fn messages_from(records: Vec<MessageRecord>) -> Result<Vec<Message>, StoreError> {
    records
        .into_iter()
        .map(|r| {
            Ok(Message {
                kind: MessageKind::parse(&r.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("message kind {:?}", r.kind)))?,
                source: r.source,
                code: r.code,
                text: r.text,
            })
        })
        .collect()
}

const COLUMNS: &str = "id, test, created_ms, updated_ms, purpose, state, source, name, company, street_no, street1, street2, street3, city, state_code, zip, country, phone, email, is_residential, metadata, messages, validation";

fn from_row(row: &AnyRow) -> Result<Address, StoreError> {
    let id: String = row.try_get("id")?;
    let purpose: String = row.try_get("purpose")?;
    let state: String = row.try_get("state")?;
    let source: String = row.try_get("source")?;
    let messages: String = row.try_get("messages")?;
    let validation: Option<String> = row.try_get("validation")?;
    let validation = match validation {
        None => None,
        Some(json) => {
            let r: ValidationRecord =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Some(ValidationResults {
                is_valid: r.is_valid,
                messages: messages_from(r.messages)?,
            })
        }
    };
    Ok(Address {
        id: ObjectId::parse(&id).ok_or_else(|| corrupt("address id", &id))?,
        created: Timestamp::from_millis(row.try_get("created_ms")?),
        updated: Timestamp::from_millis(row.try_get("updated_ms")?),
        test: row.try_get::<i64, _>("test")? != 0,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("address purpose", &purpose))?,
        state: AddressState::parse(&state).ok_or_else(|| corrupt("address state", &state))?,
        source: Source::parse(&source).ok_or_else(|| corrupt("address source", &source))?,
        messages: messages_from(
            serde_json::from_str(&messages).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        )?,
        validation,
        fields: AddressFields {
            name: row.try_get("name")?,
            company: row.try_get("company")?,
            street_no: row.try_get("street_no")?,
            street1: row.try_get("street1")?,
            street2: row.try_get("street2")?,
            street3: row.try_get("street3")?,
            city: row.try_get("city")?,
            state: row.try_get("state_code")?,
            zip: row.try_get("zip")?,
            country: row.try_get("country")?,
            phone: row.try_get("phone")?,
            email: row.try_get("email")?,
            is_residential: row
                .try_get::<Option<i64>, _>("is_residential")?
                .map(|v| v != 0),
            metadata: row.try_get("metadata")?,
        },
    })
}

fn validation_json(v: &Option<ValidationResults>) -> Option<String> {
    v.as_ref().map(|v| {
        serde_json::to_string(&ValidationRecord {
            is_valid: v.is_valid,
            messages: records(&v.messages),
        })
        .expect("serialise")
    })
}

/// Stores a new address for `scope`.
pub async fn insert(conn: &mut Conn, scope: Scope, a: &Address) -> Result<(), StoreError> {
    crate::insert::insert_rows(conn, scope, std::slice::from_ref(a)).await
}

/// Stores new addresses for `scope`, many to a statement (an import's).
pub async fn insert_many(
    conn: &mut Conn,
    scope: Scope,
    items: &[Address],
) -> Result<(), StoreError> {
    // 24 values a row: 1,000 rows stay within every backend's limit on bound values.
    for chunk in items.chunks(1000) {
        crate::insert::insert_rows(conn, scope, chunk).await?;
    }
    Ok(())
}

impl crate::insert::Rows for Address {
    const TABLE: &'static str = "addresses";
    const COLUMNS: &'static str = COLUMNS;
    const WIDTH: usize = 24;

    fn bind(&self, a: &mut Args, scope: Scope) {
        let f = &self.fields;
        a.add(scope.account_id.to_string())
            .add(self.id.to_string())
            .add(i64::from(self.test))
            .add(self.created.millis())
            .add(self.updated.millis())
            .add(self.purpose.as_str())
            .add(self.state.as_str())
            .add(self.source.as_str())
            .add(f.name.clone())
            .add(f.company.clone())
            .add(f.street_no.clone())
            .add(f.street1.clone())
            .add(f.street2.clone())
            .add(f.street3.clone())
            .add(f.city.clone())
            .add(f.state.clone())
            .add(f.zip.clone())
            .add(f.country.clone())
            .add(f.phone.clone())
            .add(f.email.clone())
            .add(f.is_residential.map(i64::from))
            .add(f.metadata.clone())
            .add(messages_to_json(&self.messages))
            .add(validation_json(&self.validation));
    }
}

/// Replaces an address's values and verdict (the validator's normalisation).
pub async fn update(conn: &mut Conn, scope: Scope, a: &Address) -> Result<(), StoreError> {
    let f = &a.fields;
    let result = sqlx::query(
        "UPDATE addresses SET updated_ms = $1, purpose = $2, state = $3, source = $4, name = $5, company = $6, street_no = $7, \
         street1 = $8, street2 = $9, street3 = $10, city = $11, state_code = $12, zip = $13, phone = $14, email = $15, \
         messages = $16, validation = $17 WHERE id = $18 AND account_id = $19 AND test = $20",
    )
    .bind(a.updated.millis())
    .bind(a.purpose.as_str())
    .bind(a.state.as_str())
    .bind(a.source.as_str())
    .bind(&f.name)
    .bind(&f.company)
    .bind(&f.street_no)
    .bind(&f.street1)
    .bind(&f.street2)
    .bind(&f.street3)
    .bind(&f.city)
    .bind(&f.state)
    .bind(&f.zip)
    .bind(&f.phone)
    .bind(&f.email)
    .bind(messages_to_json(&a.messages))
    .bind(validation_json(&a.validation))
    .bind(a.id.to_string())
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .execute(conn)
    .await?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One address of `scope`, or [`StoreError::NotFound`].
pub async fn get(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<Address, StoreError> {
    scoped::get(conn, "addresses", COLUMNS, scope, id, from_row).await
}

/// A page of `scope`'s addresses, newest first.
pub async fn list(
    conn: &mut Conn,
    scope: Scope,
    req: PageRequest,
) -> Result<Page<Address>, StoreError> {
    scoped::list(conn, "addresses", COLUMNS, scope, req, from_row).await
}

/// The addresses of `scope` among `ids` (missing ones are left out), for pages of objects that
/// embed theirs and a shipment's parts.
pub async fn get_many(
    conn: &mut Conn,
    scope: Scope,
    ids: &[ObjectId],
) -> Result<std::collections::HashMap<ObjectId, Address>, StoreError> {
    scoped::get_many(conn, "addresses", COLUMNS, scope, ids, from_row).await
}

/// Marks one of `scope`'s addresses as a sender address (again: nothing changes).
pub async fn add_sender(conn: &mut Conn, scope: Scope, id: ObjectId) -> Result<(), StoreError> {
    let conflict = "ON CONFLICT (account_id, test, address_id) DO NOTHING";
    sqlx::query(&format!(
        "INSERT INTO senders (account_id, test, address_id, created_ms) VALUES ($1, $2, $3, $4) {conflict}"
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .bind(id.to_string())
    .bind(Timestamp::now().millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an address from `scope`'s senders (the address itself stays: labels name it).
pub async fn remove_sender(
    conn: &mut Conn,
    scope: Scope,
    id: ObjectId,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("DELETE FROM senders WHERE account_id = $1 AND test = $2 AND address_id = $3")
            .bind(scope.account_id.to_string())
            .bind(i64::from(scope.test))
            .bind(id.to_string())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// `scope`'s sender addresses, oldest first (at most 100).
pub async fn senders(conn: &mut Conn, scope: Scope) -> Result<Vec<Address>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM senders s JOIN addresses a ON a.id = s.address_id WHERE s.account_id = $1 AND s.test = $2 ORDER BY s.created_ms, a.id LIMIT 100",
        COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(scope.account_id.to_string())
    .bind(i64::from(scope.test))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

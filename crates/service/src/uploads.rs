//! Files a person uploads to preview before acting on them (a CSV of orders or backers): kept
//! in the blob store under the account's prefix, so "Import" after "Preview" reads the very
//! bytes that were previewed without a second upload. An import that succeeds deletes its
//! file; one previewed and never imported stays in the store (no sweep of old uploads yet:
//! docs/WEB.md).

use domain::ObjectId;

use crate::{files, Principal, ServiceError, Services};

fn key(who: &Principal, id: ObjectId) -> String {
    let mode = if who.mode.is_test() { "test" } else { "live" };
    files::key(who.account_id, id, &format!("upload-{mode}.csv"))
}

/// Keeps `bytes` and answers the id to read them back with.
pub async fn keep(s: &Services, who: &Principal, bytes: Vec<u8>) -> Result<ObjectId, ServiceError> {
    let id = ObjectId::new();
    s.blobs
        .put(&key(who, id), bytes)
        .await
        .map_err(|e| ServiceError::internal(format!("keeping an upload: {e}")))?;
    Ok(id)
}

/// The bytes kept as `id` for the principal's account and mode (not found otherwise).
pub async fn read(s: &Services, who: &Principal, id: ObjectId) -> Result<Vec<u8>, ServiceError> {
    s.blobs
        .get(&key(who, id))
        .await
        .map_err(|e| ServiceError::internal(format!("reading an upload: {e}")))?
        .ok_or(ServiceError::NotFound)
}

/// Deletes the upload `id` (done with it).
pub async fn discard(s: &Services, who: &Principal, id: ObjectId) -> Result<(), ServiceError> {
    s.blobs
        .delete(&key(who, id))
        .await
        .map_err(|e| ServiceError::internal(format!("discarding an upload: {e}")))
}

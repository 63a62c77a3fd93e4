//! Accounts and API tokens.

use domain::account::{parse_account_name, Account, Actor, Mode};
use domain::{ObjectId, ValidationError};
use store::accounts::{self as repo, Principal, TokenInfo};

use crate::{ServiceError, Services};

/// The account created on a fresh database so the first `consign serve` is usable.
pub const DEMO_ACCOUNT: &str = "demo";

/// Creates an account with a unique name.
/// Every account starts with the `shippo` test carrier account.
pub async fn create_account(s: &Services, name: &str) -> Result<Account, ServiceError> {
    let name = parse_account_name(name).map_err(|m| ValidationError::field("name", m))?;
    let cipher = s.cipher.clone();
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let account = repo::create_account(conn, &name).await?;
                crate::carrier_accounts::seed_test_carrier(&cipher, conn, account.id).await?;
                Ok(account)
            })
        })
        .await?)
}

/// On an empty database, creates the demo account, a test token and the demo rate-card carrier
/// account, in one transaction.
/// Returns `None` when any account already exists.
pub async fn ensure_demo(s: &Services) -> Result<Option<(Account, String)>, ServiceError> {
    let cipher = s.cipher.clone();
    let seeded = s
        .store
        .write(move |conn| {
            Box::pin(async move {
                if repo::count_accounts(conn).await? > 0 {
                    return Ok(None);
                }
                let account = repo::create_account(conn, DEMO_ACCOUNT).await?;
                let (_, token) = repo::create_token(conn, &account, Mode::Test).await?;
                crate::carrier_accounts::seed_test_carrier(&cipher, conn, account.id).await?;
                crate::carrier_accounts::seed_demo(&cipher, conn, account.id).await?;
                Ok(Some((account, token)))
            })
        })
        .await?;
    Ok(seeded)
}

async fn find(s: &Services, name: &str) -> Result<Account, ServiceError> {
    let mut conn = s.store.conn().await?;
    repo::find_account(&mut conn, name)
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound => ServiceError::Validation(ValidationError::field(
                "account",
                format!("no account named {name:?}"),
            )),
            other => other.into(),
        })
}

/// Issues a token for the named account; the clear token is returned once and never stored.
pub async fn create_token(
    s: &Services,
    account: &str,
    mode: Mode,
) -> Result<(TokenInfo, String), ServiceError> {
    let account = find(s, account).await?;
    Ok(s.store
        .write(move |conn| Box::pin(async move { repo::create_token(conn, &account, mode).await }))
        .await?)
}

/// A signed-in person makes an API token of their account in `mode` (recorded in the audit
/// log); the clear token is returned once and never stored.
pub async fn make_token(
    s: &Services,
    who: &Principal,
    mode: Mode,
) -> Result<(TokenInfo, String), ServiceError> {
    let account = find(s, &who.account_name).await?;
    let actor = who.clone();
    Ok(s.store
        .write(move |conn| {
            Box::pin(async move {
                let made = repo::create_token(conn, &account, mode).await?;
                let scope = store::Scope {
                    account_id: account.id,
                    test: mode == Mode::Test,
                };
                let detail = format!("{}…", made.0.prefix);
                store::audit::record(
                    conn,
                    scope,
                    actor.actor,
                    "made an API token",
                    Some(made.0.id),
                    &detail,
                )
                .await?;
                Ok(made)
            })
        })
        .await?)
}

/// A signed-in person revokes one of their account's tokens by id (recorded in the audit log).
pub async fn revoke_token_by_id(
    s: &Services,
    who: &Principal,
    id: ObjectId,
) -> Result<(), ServiceError> {
    let account = find(s, &who.account_name).await?;
    let actor = who.clone();
    s.store
        .write(move |conn| {
            Box::pin(async move {
                repo::revoke_token(conn, &account, &id.to_string()).await?;
                let scope = store::Scope {
                    account_id: account.id,
                    test: actor.mode == Mode::Test,
                };
                store::audit::record(
                    conn,
                    scope,
                    actor.actor,
                    "revoked an API token",
                    Some(id),
                    "",
                )
                .await
            })
        })
        .await?;
    Ok(())
}

/// The named account's tokens (prefixes only).
pub async fn list_tokens(s: &Services, account: &str) -> Result<Vec<TokenInfo>, ServiceError> {
    let account = find(s, account).await?;
    let mut conn = s.store.conn().await?;
    Ok(repo::list_tokens(&mut conn, &account).await?)
}

/// Revokes one of the named account's tokens, given its id or the token itself.
pub async fn revoke_token(
    s: &Services,
    account: &str,
    id_or_token: &str,
) -> Result<(), ServiceError> {
    let account = find(s, account).await?;
    let id_or_token = id_or_token.trim().to_string();
    s.store
        .write(move |conn| {
            Box::pin(async move { repo::revoke_token(conn, &account, &id_or_token).await })
        })
        .await?;
    Ok(())
}

/// The principal behind a presented token; unknown and revoked tokens are `Unauthorized`.
pub async fn authenticate(s: &Services, token: &str) -> Result<Principal, ServiceError> {
    let mut conn = s.store.conn().await?;
    repo::authenticate(&mut conn, token)
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound => ServiceError::Unauthorized,
            other => other.into(),
        })
}

/// The demo account, created when missing (for `consign token create` without `--account`).
pub async fn demo_account(s: &Services) -> Result<Account, ServiceError> {
    let account = s
        .store
        .write(|conn| {
            Box::pin(async move {
                match repo::find_account(conn, DEMO_ACCOUNT).await {
                    Err(store::StoreError::NotFound) => {
                        repo::create_account(conn, DEMO_ACCOUNT).await
                    }
                    other => other,
                }
            })
        })
        .await?;
    Ok(account)
}

/// The principal the command line acts as for the named account (live mode: objects it makes
/// are real; the CLI only manages account-level things such as rate cards).
pub async fn principal_for(s: &Services, account: &str) -> Result<Principal, ServiceError> {
    let account = find(s, account).await?;
    let label_file_type = repo::label_file_type(&mut *s.store.conn().await?, account.id).await?;
    Ok(Principal {
        account_id: account.id,
        account_name: account.name,
        mode: Mode::Live,
        actor: Actor::Cli,
        label_file_type,
    })
}

/// The principal a background job acts as for the account of `scope` (in its mode).
pub(crate) async fn principal_of(
    s: &Services,
    scope: store::Scope,
) -> Result<Principal, ServiceError> {
    let mut conn = s.store.conn().await?;
    let account_name = repo::name_of(&mut conn, scope.account_id).await?;
    let label_file_type = repo::label_file_type(&mut conn, scope.account_id).await?;
    Ok(Principal {
        account_id: scope.account_id,
        account_name,
        mode: if scope.test { Mode::Test } else { Mode::Live },
        actor: Actor::Job,
        label_file_type,
    })
}

/// The account's default `label_file_type`: what a purchase that names none gets.
pub async fn default_label_file_type(
    s: &Services,
    who: &Principal,
) -> Result<String, ServiceError> {
    Ok(store::accounts::label_file_type(&mut *s.store.conn().await?, who.account_id).await?)
}

/// Sets the account's default `label_file_type`.
pub async fn set_default_label_file_type(
    s: &Services,
    who: &Principal,
    raw: Option<String>,
) -> Result<String, ServiceError> {
    let raw = raw.unwrap_or_default();
    let Some(format) = documents::LabelFormat::parse(&raw) else {
        let names: Vec<&str> = documents::LabelFormat::ALL
            .iter()
            .map(|f| f.as_str())
            .collect();
        return Err(domain::ValidationError::field(
            "default_label_file_type",
            format!(
                "\"{}\" is not a label file type; use one of {}.",
                raw.trim(),
                names.join(", ")
            ),
        )
        .into());
    };
    let (account, name, actor) = (who.account_id, format.as_str(), who.clone());
    s.store
        .write(move |conn| {
            Box::pin(async move {
                repo::set_label_file_type(conn, account, name).await?;
                crate::audit::record(
                    conn,
                    &actor,
                    "changed the default label file type",
                    None,
                    name,
                )
                .await
            })
        })
        .await?;
    Ok(name.to_string())
}

/// The label file types an account may default to (`PDF_4x6`, `ZPLII`, …).
pub fn label_file_types() -> Vec<&'static str> {
    documents::LabelFormat::ALL
        .iter()
        .map(|f| f.as_str())
        .collect()
}

//! People who sign in to the web app: users made from the command line, sign-in, sessions kept
//! hashed and ended at once, password resets. (The web pages come on top of these.)

use domain::user::Role;
use service::users::{self, NewUser};
use service::ServiceError;
use sqlx::Row;

use crate::cli::consign;
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_made_on_the_command_line_signs_in_and_sessions_end_at_once() {
    let app = spawn_app().await;
    let account = app.account_name().await;
    let (ok, stdout, stderr) = consign(
        &app,
        &[
            "user",
            "create",
            "--email",
            " Packer@Shop.example ",
            "--role",
            "staff",
            "--name",
            "Pat Packer",
            "--account",
            &account,
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("created staff packer@shop.example"),
        "{stderr}"
    );
    let password = stdout.trim_end().to_string();
    assert_eq!(
        password.len(),
        20,
        "one made-up password on stdout: {stdout:?}"
    );

    // The same email cannot be taken twice.
    let (ok, _, stderr) = consign(
        &app,
        &[
            "user",
            "create",
            "--email",
            "packer@shop.example",
            "--role",
            "admin",
            "--account",
            &account,
        ],
    );
    assert!(!ok);
    assert!(
        stderr.contains("email") && stderr.contains("already belongs"),
        "{stderr}"
    );

    // Wrong password, unknown email: both refused alike.
    for (email, pw) in [
        ("packer@shop.example", "not the password"),
        ("nobody@shop.example", password.as_str()),
    ] {
        assert!(matches!(
            users::sign_in(&app.services, email, pw).await,
            Err(ServiceError::Unauthorized)
        ));
    }
    let first = users::sign_in(&app.services, "PACKER@shop.example", &password)
        .await
        .unwrap();
    let second = users::sign_in(&app.services, "packer@shop.example", &password)
        .await
        .unwrap();
    assert_ne!(
        first.secret, second.secret,
        "a new session at every sign-in"
    );
    assert_eq!(first.secret.len(), 64);
    let who = users::session(&app.services, &first.secret).await.unwrap();
    assert_eq!(who.user.email, "packer@shop.example");
    assert_eq!(who.user.role, Role::Staff);
    assert_eq!(who.user.name, "Pat Packer");
    assert_eq!(who.csrf, first.signed_in.csrf);
    assert_ne!(first.signed_in.csrf, second.signed_in.csrf);

    // Kept hashed: the database holds SHA-256 of the cookie's value, never the value.
    {
        let mut conn = app.services.store.conn().await.unwrap();
        let rows = sqlx::query("SELECT id_hash FROM sessions")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let hashes: Vec<String> = rows.iter().map(|r| r.get("id_hash")).collect();
        assert_eq!(hashes.len(), 2);
        assert!(hashes.contains(&store::accounts::hash_token(&first.secret)));
        assert!(!hashes.contains(&first.secret));
        let stored: String = sqlx::query("SELECT password_hash FROM users")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get("password_hash");
        assert!(
            stored.starts_with("$argon2id$") && !stored.contains(&password),
            "{stored}"
        );
    }

    // Signing out ends that session only, at once; signing out everywhere ends the rest.
    users::sign_out(&app.services, &first.secret).await.unwrap();
    assert!(matches!(
        users::session(&app.services, &first.secret).await,
        Err(ServiceError::Unauthorized)
    ));
    assert!(users::session(&app.services, &second.secret).await.is_ok());
    let ended = users::sign_out_everywhere(&app.services, who.user.account_id, who.user.id)
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(users::session(&app.services, &second.secret).await.is_err());

    // Garbage and oversized cookies are simply not sessions.
    for bogus in ["", "x", &"f".repeat(64), &"a".repeat(10_000)] {
        assert!(users::session(&app.services, bogus).await.is_err());
    }
}

#[tokio::test]
async fn a_password_reset_ends_every_session_and_only_the_new_password_opens() {
    let app = spawn_app().await;
    let (user, made_up) = users::create_user(
        &app.services,
        NewUser {
            account: app.account_name().await,
            email: "dev@shop.example".into(),
            name: String::new(),
            role: Role::Developer,
            password: Some("first password 1".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(made_up, None, "a given password is not echoed");
    assert_eq!(user.role, Role::Developer);
    let session = users::sign_in(&app.services, "dev@shop.example", "first password 1")
        .await
        .unwrap();
    // Piped in on standard input, as a script would.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_consign"))
        .args([
            "user",
            "reset-password",
            "--email",
            "dev@shop.example",
            "--password-stdin",
        ])
        .env_remove("DATABASE_URL")
        .env("CONSIGN_DATABASE_URL", &app.database_url)
        .env("CONSIGN_DATA_DIR", &app.data_dir)
        .env("CONSIGN_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"second password 2\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "a piped password is not printed");
    assert!(
        stderr.contains("every session of dev@shop.example ended"),
        "{stderr}"
    );
    assert!(users::session(&app.services, &session.secret)
        .await
        .is_err());
    assert!(
        users::sign_in(&app.services, "dev@shop.example", "first password 1")
            .await
            .is_err()
    );
    assert!(
        users::sign_in(&app.services, "dev@shop.example", "second password 2")
            .await
            .is_ok()
    );
    // A bad request names every field at once.
    let err = users::create_user(
        &app.services,
        NewUser {
            account: app.account_name().await,
            email: "not an email".into(),
            name: "n".repeat(101),
            role: Role::Staff,
            password: Some("short".into()),
        },
    )
    .await
    .unwrap_err()
    .to_string();
    for field in ["email", "name", "password"] {
        assert!(err.contains(field), "{field} in {err}");
    }
    // Weak passwords and unknown users are named.
    let err = users::reset_password(&app.services, "dev@shop.example", Some("short".into()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("password"), "{err}");
    let err = users::reset_password(&app.services, "ghost@shop.example", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no user has this email"), "{err}");
    let (ok, stdout, _) = consign(
        &app,
        &["user", "list", "--account", &app.account_name().await],
    );
    assert!(ok);
    assert!(
        stdout.contains("dev@shop.example\tdeveloper\tactive"),
        "{stdout}"
    );
}

use autonomos::domains::auth::model::Role;
use autonomos::domains::auth::token::TokenKeys;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{error_code, spawn_app, unique_email, PASSWORD};

const LOGIN: &str =
    "mutation($i: LoginInput!) { login(input: $i) { token user { email role } tenant { id } } }";
const ME: &str = "{ me { id email role status } tenant { id name } }";

#[tokio::test]
async fn sign_up_creates_tenant_and_admin_and_signs_in() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let data = app.ok(ME, json!({}), Some(&t.token)).await;
    assert_eq!(data["me"]["email"], t.email);
    assert_eq!(data["me"]["role"], "ADMIN");
    assert_eq!(data["me"]["status"], "ACTIVE");
    assert_eq!(data["tenant"]["id"], t.tenant_id.as_str());
}

#[tokio::test]
async fn login_returns_a_working_token() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let data = app
        .ok(
            LOGIN,
            json!({ "i": { "email": t.email.to_uppercase(), "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(data["login"]["tenant"]["id"], t.tenant_id.as_str());
    let token = data["login"]["token"].as_str().unwrap();
    let me = app.ok(ME, json!({}), Some(token)).await;
    assert_eq!(me["me"]["id"], t.user_id.as_str());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let wrong = app
        .gql(
            LOGIN,
            json!({ "i": { "email": t.email, "password": "not the right password" } }),
            None,
        )
        .await;
    let unknown = app
        .gql(
            LOGIN,
            json!({ "i": { "email": unique_email("nobody"), "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );
}

#[tokio::test]
async fn duplicate_email_is_a_conflict() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let body = app
        .gql(
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "tenantName": "Other", "email": t.email, "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
}

#[tokio::test]
async fn sign_up_validates_its_input() {
    let app = spawn_app().await;
    for (input, field) in [
        (
            json!({ "tenantName": "Acme", "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "tenantName": "Acme", "email": unique_email("a"), "password": "short" }),
            "password",
        ),
        (
            json!({ "tenantName": "   ", "email": unique_email("a"), "password": PASSWORD }),
            "tenantName",
        ),
    ] {
        let body = app
            .gql(
                "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
                json!({ "i": input }),
                None,
            )
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["problems"][0]["field"],
            field
        );
    }
}

#[tokio::test]
async fn expired_forged_and_garbage_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let (user, tenant) = (
        Uuid::parse_str(&t.user_id).unwrap(),
        Uuid::parse_str(&t.tenant_id).unwrap(),
    );
    let keys = TokenKeys::new(&app.settings.auth);
    let past = chrono::Utc::now() - chrono::Duration::minutes(31);
    let (expired, _) = keys.issue_at(user, tenant, Role::Admin, past).unwrap();
    let mut other = app.settings.auth.clone();
    other.jwt_secret = "a-completely-different-secret-of-enough-length"
        .to_owned()
        .into();
    let (forged, _) = TokenKeys::new(&other)
        .issue(user, tenant, Role::Admin)
        .unwrap();
    for (token, message) in [
        (expired.as_str(), "token expired"),
        (forged.as_str(), "invalid token"),
        ("garbage", "invalid token"),
    ] {
        let body = app.gql(ME, json!({}), Some(token)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED");
        assert_eq!(body["errors"][0]["message"], message);
    }
    let anonymous = app.gql(ME, json!({}), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn tokens_expire_after_thirty_minutes() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let keys = TokenKeys::new(&app.settings.auth);
    let claims = keys.verify(&t.token).unwrap();
    assert_eq!(claims.exp - claims.iat, 30 * 60);
    assert_eq!(claims.role, "ADMIN");
    assert_eq!(claims.tid.to_string(), t.tenant_id);
}

#[tokio::test]
async fn api_keys_authenticate_until_revoked() {
    let app = spawn_app().await;
    let t = app.sign_up().await;
    let created = app
        .ok(
            "mutation { createApiKey(input: { name: \"etl\", role: EDITOR }) { secret apiKey { id prefix role } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    let secret = created["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_id = created["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with(
        created["createApiKey"]["apiKey"]["prefix"]
            .as_str()
            .unwrap()
    ));

    // As a bearer credential and as X-Api-Key.
    let data = app
        .ok("{ tenant { id } me { id } }", json!({}), Some(&secret))
        .await;
    assert_eq!(data["tenant"]["id"], t.tenant_id.as_str());
    assert!(data["me"].is_null(), "API keys are not users");
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-api-key", &secret)
        .json(&json!({ "query": "{ tenant { id } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["tenant"]["id"], t.tenant_id.as_str());

    // The key's role applies: an EDITOR key may not manage keys.
    let denied = app
        .gql("{ apiKeys { totalCount } }", json!({}), Some(&secret))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");

    // The listing never shows the secret.
    let listed = app
        .ok(
            "{ apiKeys { totalCount edges { node { id prefix } } } }",
            json!({}),
            Some(&t.token),
        )
        .await;
    assert_eq!(listed["apiKeys"]["totalCount"], 1);
    assert!(!listed.to_string().contains(&secret));

    app.ok(
        "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
        json!({ "id": key_id }),
        Some(&t.token),
    )
    .await;
    let after = app.gql("{ tenant { id } }", json!({}), Some(&secret)).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    assert_eq!(after["errors"][0]["message"], "API key revoked");

    let unknown = app
        .gql(
            "{ tenant { id } }",
            json!({}),
            Some("aos_thisKeyDoesNotExistAnywhere0000000000000"),
        )
        .await;
    assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
}

#[tokio::test]
async fn invited_users_join_with_their_role_once() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let email = unique_email("invitee");
    let invite = app
        .ok(
            "mutation($i: InviteUserInput!) { inviteUser(input: $i) { inviteToken user { status role } } }",
            json!({ "i": { "email": email, "role": "EDITOR" } }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(invite["inviteUser"]["user"]["status"], "INVITED");
    let token = invite["inviteUser"]["inviteToken"].as_str().unwrap();

    // Invited users cannot log in before accepting.
    let early = app
        .gql(
            LOGIN,
            json!({ "i": { "email": email, "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(error_code(&early), "UNAUTHENTICATED");

    let accept = "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { token user { role status } tenant { id } } }";
    let joined = app
        .ok(
            accept,
            json!({ "i": { "token": token, "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(joined["acceptInvite"]["user"]["role"], "EDITOR");
    assert_eq!(
        joined["acceptInvite"]["tenant"]["id"],
        admin.tenant_id.as_str()
    );
    let again = app
        .gql(
            accept,
            json!({ "i": { "token": token, "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED");
    app.ok(
        LOGIN,
        json!({ "i": { "email": email, "password": PASSWORD } }),
        None,
    )
    .await;
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let admin = app.sign_up().await;
    let body = app
        .gql(
            "mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { role } }",
            json!({ "id": admin.user_id }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
}

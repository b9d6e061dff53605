use std::sync::OnceLock;

use autonomos::config::Settings;
use autonomos::startup::Application;
use serde_json::{json, Value};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

/// The clone under test. Read at run time: test binaries in a target directory shared by several
/// clones may have been compiled from another one.
pub fn project_root() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .expect("tests run under cargo, which sets CARGO_MANIFEST_DIR")
}

pub fn settings() -> Settings {
    let dir = project_root().join("config");
    let mut settings = Settings::load_from(&dir, "test").expect("test settings");
    settings.server.port = 0;
    settings
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The running app's state, for calling library functions next to the API.
    pub state: autonomos::state::AppState,
    /// The running app's domain services, likewise.
    pub services: autonomos::services::Services,
}

/// A signed-up tenant with its first admin.
pub struct TestTenant {
    pub token: String,
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
}

static LOGGING: OnceLock<()> = OnceLock::new();

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The real app with some settings changed for one test.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    LOGGING.get_or_init(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = autonomos::observability::init("info", None);
        }
    });
    let mut settings = settings();
    change(&mut settings);
    autonomos::infra::db::migrate(&settings.database)
        .await
        .expect("migrations");
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        // A connection per request: a pooled one the server is closing at that moment fails the
        // request with IncompleteMessage (seen once under CI load), which no test is about.
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client"),
        settings,
        state,
        services,
    }
}

/// A loopback port nothing listens on right now (for a process of the test's own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback port that forwards every connection to `target` (host:port), for reaching a
/// service through an address other than its own.
pub async fn tcp_forward(target: &str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = target.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", Uuid::new_v4().simple())
}

impl TestApp {
    pub async fn post_raw(&self, body: Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// Runs one operation and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let resp = self
            .post_raw(json!({ "query": query, "variables": variables }), token)
            .await;
        assert_eq!(
            resp.status(),
            200,
            "GraphQL responses are 200 even with errors"
        );
        resp.json().await.expect("JSON body")
    }

    /// Runs one operation that must succeed and returns `data`.
    pub async fn ok(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = self.gql(query, variables, token).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    pub async fn sign_up(&self) -> TestTenant {
        let email = unique_email("admin");
        let data = self
            .ok(
                "mutation($i: SignUpInput!) { signUp(input: $i) { token tenant { id name } user { id email role } } }",
                json!({ "i": { "tenantName": format!("Tenant {}", Uuid::new_v4()), "email": email, "password": PASSWORD } }),
                None,
            )
            .await;
        let s = &data["signUp"];
        TestTenant {
            token: s["token"].as_str().unwrap().to_owned(),
            tenant_id: s["tenant"]["id"].as_str().unwrap().to_owned(),
            user_id: s["user"]["id"].as_str().unwrap().to_owned(),
            email,
        }
    }

    /// Invites a user with `role` into the tenant and returns their token.
    /// A session token of `t`'s admin with `secs` seconds left to live.
    pub fn token_expiring_in(&self, t: &TestTenant, secs: i64) -> String {
        let ttl = chrono::Duration::minutes(self.settings.auth.token_ttl_minutes);
        let issued = chrono::Utc::now() - ttl + chrono::Duration::seconds(secs);
        self.services
            .auth
            .tokens()
            .issue_at(
                t.user_id.parse().unwrap(),
                t.tenant_id.parse().unwrap(),
                autonomos::domains::auth::model::Role::Admin,
                issued,
            )
            .unwrap()
            .0
    }

    pub async fn member(&self, admin: &TestTenant, role: &str) -> String {
        let email = unique_email(&role.to_lowercase());
        let invite = self
            .ok(
                "mutation($i: InviteUserInput!) { inviteUser(input: $i) { inviteToken } }",
                json!({ "i": { "email": email, "role": role } }),
                Some(&admin.token),
            )
            .await;
        let token = invite["inviteUser"]["inviteToken"].as_str().unwrap();
        let accepted = self
            .ok(
                "mutation($i: AcceptInviteInput!) { acceptInvite(input: $i) { token user { role } } }",
                json!({ "i": { "token": token, "password": PASSWORD } }),
                None,
            )
            .await;
        assert_eq!(accepted["acceptInvite"]["user"]["role"], role);
        accepted["acceptInvite"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The tenant's own file area, where its CSV connectors read (created if missing).
    pub fn files_of(&self, tenant: &TestTenant) -> std::path::PathBuf {
        self.files_of_tenant(tenant.tenant_id.parse().unwrap())
    }

    pub fn files_of_tenant(&self, tenant: Uuid) -> std::path::PathBuf {
        let dir = autonomos::domains::connectors::kinds::csv::tenant_dir(
            &self.settings.sync.file_root,
            tenant,
        );
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The file area of the tenant a token belongs to.
    pub async fn files_of_token(&self, token: &str) -> std::path::PathBuf {
        let me = self.ok("{ tenant { id } }", json!({}), Some(token)).await;
        self.files_of_tenant(me["tenant"]["id"].as_str().unwrap().parse().unwrap())
    }

    pub async fn create_csv_connector(&self, token: &str, name: &str) -> String {
        let data = self
            .ok(
                "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
                json!({ "i": { "name": name, "kind": "CSV", "config": { "path": "/data/accounts.csv" } } }),
                Some(token),
            )
            .await;
        data["createConnector"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn create_mapping(
        &self,
        token: &str,
        source_field: &str,
        entity: &str,
        field: &str,
    ) -> String {
        let data = self
            .ok(
                "mutation($i: CreateMappingInput!) { createMapping(input: $i) { id } }",
                json!({ "i": {
                    "sourceSystem": "hubspot", "sourceEntity": "companies", "sourceField": source_field,
                    "canonicalEntity": entity, "canonicalField": field
                } }),
                Some(token),
            )
            .await;
        data["createMapping"]["id"].as_str().unwrap().to_owned()
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body:#}"))
        .to_owned()
}

/// The fields of a sync run the pipeline tests look at.
pub const SYNC_RUN: &str = "id status attempts traceId errors { entity message }
    counts { entities recordsRead eventsWritten eventsUnchanged quarantined valueErrors unmappedRecords
             driftEvents fieldsProposed autoApplied needsReview unifiedLinks matchCandidates matchPairsCompared }";

impl TestApp {
    pub async fn create_connector(
        &self,
        token: &str,
        name: &str,
        kind: &str,
        config: Value,
    ) -> String {
        self.ok(
            "mutation($i: CreateConnectorInput!) { createConnector(input: $i) { id } }",
            json!({ "i": { "name": name, "kind": kind, "config": config } }),
            Some(token),
        )
        .await["createConnector"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Syncs a connector and returns the finished run.
    pub async fn sync(&self, token: &str, connector: &str) -> Value {
        self.ok(
            &format!(
                "mutation($id: ID!) {{ syncConnector(id: $id, wait: true) {{ {SYNC_RUN} }} }}"
            ),
            json!({ "id": connector }),
            Some(token),
        )
        .await["syncConnector"]
            .clone()
    }
}

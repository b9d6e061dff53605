use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::model::{self, ApiKey, Session, Tenant, User};
use super::service::AuthService;
use super::{api_keys, service, sessions};
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Role", remote = "model::Role")]
pub enum GqlRole {
    Viewer,
    Editor,
    Admin,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "UserStatus", remote = "model::UserStatus")]
pub enum GqlUserStatus {
    Active,
    Invited,
    Disabled,
}

#[derive(SimpleObject)]
#[graphql(name = "User")]
pub struct GqlUser {
    pub id: ID,
    pub email: String,
    pub role: GqlRole,
    pub status: GqlUserStatus,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for GqlUser {
    fn from(u: User) -> Self {
        Self {
            id: to_id(u.id),
            email: u.email,
            role: u.role.into(),
            status: u.status.into(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "Tenant")]
pub struct GqlTenant {
    pub id: ID,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Tenant> for GqlTenant {
    fn from(t: Tenant) -> Self {
        Self {
            id: to_id(t.id),
            name: t.name,
            created_at: t.created_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "ApiKey")]
pub struct GqlApiKey {
    pub id: ID,
    pub name: String,
    /// The first characters of the key, to tell keys apart; never the key.
    pub prefix: String,
    pub role: GqlRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for GqlApiKey {
    fn from(k: ApiKey) -> Self {
        Self {
            id: to_id(k.id),
            name: k.name,
            prefix: k.prefix,
            role: k.role.into(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Bearer token (JWT, HS256) for `Authorization: Bearer …`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub tenant: GqlTenant,
    pub user: GqlUser,
}

impl From<Session> for AuthPayload {
    fn from(s: Session) -> Self {
        Self {
            token: s.token,
            expires_at: s.expires_at,
            tenant: s.tenant.into(),
            user: s.user.into(),
        }
    }
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: GqlApiKey,
    /// The key itself. Shown once; only its hash is stored.
    pub secret: String,
}

#[derive(SimpleObject)]
pub struct InviteUserPayload {
    pub user: GqlUser,
    /// One-time token for `acceptInvite`. Shown once; only its hash is stored.
    pub invite_token: String,
}

#[derive(InputObject)]
pub struct SignUpInput {
    pub tenant_name: String,
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct AcceptInviteInput {
    pub token: String,
    pub password: String,
}

#[derive(InputObject)]
pub struct InviteUserInput {
    pub email: String,
    pub role: GqlRole,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub role: GqlRole,
    /// Days until the key stops working; never when absent.
    pub expires_in_days: Option<i32>,
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in user; null when the caller is an API key.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<GqlUser>> {
        let scope = ctx.scope(model::Role::Viewer)?;
        Ok(service::me(ctx.service::<AuthService>()?, &scope)
            .await?
            .map(Into::into))
    }

    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<GqlTenant> {
        let scope = ctx.scope(model::Role::Viewer)?;
        Ok(service::tenant(ctx.service::<AuthService>()?, &scope)
            .await?
            .into())
    }

    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlUser>> {
        let scope = ctx.scope(model::Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let result = service::list_users(ctx.service::<AuthService>()?, &scope, page).await?;
        Ok(connection(result, after.is_some(), |u| u.id, GqlUser::from))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Viewer)?;
        Ok(
            service::user(ctx.service::<AuthService>()?, &scope, parse_id("id", &id)?)
                .await?
                .into(),
        )
    }

    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlApiKey>> {
        let scope = ctx.scope(model::Role::Admin)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let result = api_keys::list_api_keys(ctx.service::<AuthService>()?, &scope, page).await?;
        Ok(connection(
            result,
            after.is_some(),
            |k| k.id,
            GqlApiKey::from,
        ))
    }
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Creates a tenant and its first ADMIN, and signs them in.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = service::sign_up(
            ctx.service::<AuthService>()?,
            ctx.request_meta(),
            service::SignUp {
                tenant_name: input.tenant_name,
                email: input.email,
                password: input.password,
            },
        )
        .await?;
        Ok(session.into())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = service::login(
            ctx.service::<AuthService>()?,
            ctx.request_meta(),
            &input.email,
            input.password,
        )
        .await?;
        Ok(session.into())
    }

    /// Sets the invited user's password and signs them in.
    async fn accept_invite(
        &self,
        ctx: &Context<'_>,
        input: AcceptInviteInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = service::accept_invite(
            ctx.service::<AuthService>()?,
            ctx.request_meta(),
            &input.token,
            input.password,
        )
        .await?;
        Ok(session.into())
    }

    async fn invite_user(
        &self,
        ctx: &Context<'_>,
        input: InviteUserInput,
    ) -> async_graphql::Result<InviteUserPayload> {
        let scope = ctx.scope(model::Role::Admin)?;
        let (user, invite_token) = service::invite_user(
            ctx.service::<AuthService>()?,
            &scope,
            &input.email,
            input.role.into(),
        )
        .await?;
        Ok(InviteUserPayload {
            user: user.into(),
            invite_token,
        })
    }

    async fn change_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: GqlRole,
    ) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Admin)?;
        let user = service::change_user_role(
            ctx.service::<AuthService>()?,
            &scope,
            parse_id("userId", &user_id)?,
            role.into(),
        )
        .await?;
        Ok(user.into())
    }

    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> async_graphql::Result<CreateApiKeyPayload> {
        let scope = ctx.scope(model::Role::Admin)?;
        let (key, secret) = api_keys::create_api_key(
            ctx.service::<AuthService>()?,
            &scope,
            &input.name,
            input.role.into(),
            input.expires_in_days,
        )
        .await?;
        Ok(CreateApiKeyPayload {
            api_key: key.into(),
            secret,
        })
    }

    /// Ends every session of a user: tokens issued so far stop working on their next request
    /// (WebSockets close with 4403). Without `userId`, the caller's own; another user's needs
    /// ADMIN.
    async fn revoke_sessions(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
    ) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Viewer)?;
        let user = user_id.map(|id| parse_id("userId", &id)).transpose()?;
        Ok(
            sessions::revoke_sessions(ctx.service::<AuthService>()?, &scope, user)
                .await?
                .into(),
        )
    }

    /// Changes the caller's password; earlier sessions end and a new one is returned.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> async_graphql::Result<AuthPayload> {
        let scope = ctx.scope(model::Role::Viewer)?;
        let session = sessions::change_password(
            ctx.service::<AuthService>()?,
            &scope,
            input.current_password,
            input.new_password,
        )
        .await?;
        Ok(session.into())
    }

    /// Disables a user of the tenant (ADMIN): their tokens are refused at once and they cannot
    /// sign in until enabled again.
    async fn disable_user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Admin)?;
        let user = sessions::set_disabled(
            ctx.service::<AuthService>()?,
            &scope,
            parse_id("id", &id)?,
            true,
        )
        .await?;
        Ok(user.into())
    }

    async fn enable_user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Admin)?;
        let user = sessions::set_disabled(
            ctx.service::<AuthService>()?,
            &scope,
            parse_id("id", &id)?,
            false,
        )
        .await?;
        Ok(user.into())
    }

    /// Removes a user from the tenant (ADMIN); their audit trail stays.
    async fn remove_user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlUser> {
        let scope = ctx.scope(model::Role::Admin)?;
        Ok(
            sessions::remove(ctx.service::<AuthService>()?, &scope, parse_id("id", &id)?)
                .await?
                .into(),
        )
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlApiKey> {
        let scope = ctx.scope(model::Role::Admin)?;
        Ok(
            api_keys::revoke_api_key(ctx.service::<AuthService>()?, &scope, parse_id("id", &id)?)
                .await?
                .into(),
        )
    }
}

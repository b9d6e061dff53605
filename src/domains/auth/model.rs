//! Auth domain types: roles, actors, principals. No framework types here.

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use crate::tenancy::{Actor, ActorKind, Role};
use crate::text_enum::text_enum;

text_enum! {
    pub enum UserStatus { Active => "ACTIVE", Invited => "INVITED", Disabled => "DISABLED" }
}

/// Who is calling, as established by the HTTP layer from a token or API key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
    pub role: Role,
}

/// The outcome of reading credentials from a request.
#[derive(Debug, Clone)]
pub enum Authentication {
    Anonymous,
    Authenticated(Principal),
    /// Credentials were sent but are not valid; the reason is safe to show.
    Rejected(String),
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: UserStatus,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub role: Role,
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A signed-in session handed back by sign-up, login and invite acceptance.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
    pub tenant: Tenant,
}

/// Normalizes and checks an email address; returns the lower-cased form.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.len() > 320 {
        return Err("is too long");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address");
    };
    let valid = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if valid {
        Ok(email)
    } else {
        Err("must be an email address")
    }
}

/// Passwords: 12 to 256 characters (NIST 800-63B favours length over composition rules).
pub fn check_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 12 {
        Err("must be at least 12 characters")
    } else if n > 256 {
        Err("must be at most 256 characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Admin > Role::Editor);
        assert!(Role::Editor > Role::Viewer);
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM "),
            Ok("ada@example.com".into())
        );
        assert!(normalize_email("no-at-sign").is_err());
        assert!(normalize_email("a@b").is_err());
        assert!(normalize_email("a b@c.de").is_err());
        assert!(normalize_email("@c.de").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
    }
}

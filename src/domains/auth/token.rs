//! Access tokens: JWT HS256 carrying user, tenant and role.
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::Role;
use crate::config::AuthSettings;
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub tid: Uuid,
    pub role: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl TokenKeys {
    pub fn new(settings: &AuthSettings) -> Self {
        let secret = settings.jwt_secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: settings.jwt_issuer.clone(),
            ttl: Duration::minutes(settings.token_ttl_minutes),
        }
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
    ) -> AppResult<(String, DateTime<Utc>)> {
        self.issue_at(user_id, tenant_id, role, Utc::now())
    }

    pub fn issue_at(
        &self,
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            role: role.as_str().to_owned(),
            iss: self.issuer.clone(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&AuthSettings {
            jwt_secret: secret.to_owned().into(),
            secrets_key: String::new().into(),
            jwt_issuer: "autonomos".into(),
            token_ttl_minutes: 30,
            invite_ttl_hours: 72,
        })
    }

    #[test]
    fn issued_tokens_verify_and_carry_claims() {
        let k = keys("a-secret-that-is-long-enough-for-hs256!!");
        let (user, tenant) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, exp) = k.issue(user, tenant, Role::Editor).unwrap();
        let claims = k.verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.tid, claims.role.as_str()),
            (user, tenant, "EDITOR")
        );
        assert_eq!(claims.exp - claims.iat, 30 * 60);
        assert_eq!(exp.timestamp(), claims.exp);
    }

    #[test]
    fn expired_and_forged_tokens_are_refused() {
        let k = keys("a-secret-that-is-long-enough-for-hs256!!");
        let past = Utc::now() - Duration::minutes(31);
        let (old, _) = k
            .issue_at(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, past)
            .unwrap();
        assert_eq!(k.verify(&old).unwrap_err(), TokenError::Expired);
        let other = keys("another-secret-that-is-long-enough-too!!");
        let (forged, _) = other
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin)
            .unwrap();
        assert_eq!(k.verify(&forged).unwrap_err(), TokenError::Invalid);
        assert_eq!(k.verify("not.a.jwt").unwrap_err(), TokenError::Invalid);
    }
}

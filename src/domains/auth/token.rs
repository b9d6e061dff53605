//! Access tokens: JWT HS256 carrying user, tenant and role, signed with a key named in the
//! header (`kid`), so a new key can be introduced while tokens of the previous one still verify.
//! A token is never honoured past the configured lifetime, whatever its `exp` says; the role in
//! it is informational (each request reads the user's role from the database).
use std::collections::HashMap;

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
    /// Issue time in milliseconds: sessions revoked within a second still separate cleanly.
    #[serde(default)]
    pub iat_ms: i64,
}

impl Claims {
    pub fn issued_at_ms(&self) -> i64 {
        if self.iat_ms > 0 {
            self.iat_ms
        } else {
            self.iat.saturating_mul(1000)
        }
    }
}

pub struct TokenKeys {
    current: String,
    encoding: EncodingKey,
    /// Every key a token may name: the current one and those being retired.
    decoding: HashMap<String, DecodingKey>,
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
        let mut decoding: HashMap<String, DecodingKey> = settings
            .previous_jwt_keys
            .iter()
            .map(|k| {
                (
                    k.id.clone(),
                    DecodingKey::from_secret(k.secret.expose_secret().as_bytes()),
                )
            })
            .collect();
        decoding.insert(
            settings.jwt_key_id.clone(),
            DecodingKey::from_secret(secret),
        );
        Self {
            current: settings.jwt_key_id.clone(),
            encoding: EncodingKey::from_secret(secret),
            decoding,
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
            iat_ms: now.timestamp_millis(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.clone());
        let token =
            jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, Utc::now())
    }

    fn verify_at(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        // Tokens from before key ids were named were signed with the current key.
        let kid = header.kid.unwrap_or_else(|| self.current.clone());
        let key = self.decoding.get(&kid).ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub", "iat"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        // The lifetime is the server's to decide: a token claiming ten years gets the same as
        // any other. A small allowance for clocks that disagree.
        let ttl = self.ttl.num_seconds();
        if claims.exp.saturating_sub(claims.iat) > ttl || claims.iat > now.timestamp() + 60 {
            return Err(TokenError::Invalid);
        }
        if now.timestamp().saturating_sub(claims.iat) > ttl {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(secret: &str) -> AuthSettings {
        AuthSettings {
            jwt_secret: secret.to_owned().into(),
            jwt_key_id: "k1".into(),
            previous_jwt_keys: vec![],
            secrets_key: String::new().into(),
            previous_secrets_keys: vec![],
            jwt_issuer: "autonomos".into(),
            token_ttl_minutes: 30,
            invite_ttl_hours: 72,
            recheck_secs: 5,
        }
    }

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&settings(secret))
    }

    #[test]
    fn lifetimes_past_the_servers_are_refused_whatever_exp_says() {
        let secret = "a-secret-that-is-long-enough-for-hs256!!";
        let k = keys(secret);
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: Uuid::new_v4(),
            tid: Uuid::new_v4(),
            role: "ADMIN".into(),
            iss: "autonomos".into(),
            iat: now,
            exp: now + 10 * 365 * 24 * 3600,
            jti: Uuid::new_v4(),
            iat_ms: 0,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let forever = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        assert_eq!(k.verify(&forever).unwrap_err(), TokenError::Invalid);
        // Issued 31 minutes ago with a far `exp`, and a 30 minute lifetime: expired.
        let old = Claims {
            iat: now - 31 * 60,
            exp: now - 60 + 30 * 60,
            ..claims
        };
        let old = jsonwebtoken::encode(&header, &old, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap();
        assert!(k.verify(&old).is_err());
    }

    #[test]
    fn a_new_signing_key_keeps_tokens_of_the_previous_one_valid_until_it_is_retired() {
        let old_secret = "the-old-secret-that-is-long-enough-ok!!";
        let (token, _) = keys(old_secret)
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Viewer)
            .unwrap();
        let mut rotated = settings("the-new-secret-that-is-long-enough-ok!!");
        rotated.jwt_key_id = "k2".into();
        rotated.previous_jwt_keys = vec![crate::config::SigningKey {
            id: "k1".into(),
            secret: old_secret.to_owned().into(),
        }];
        assert!(TokenKeys::new(&rotated).verify(&token).is_ok());
        rotated.previous_jwt_keys.clear();
        assert_eq!(
            TokenKeys::new(&rotated).verify(&token).unwrap_err(),
            TokenError::Invalid
        );
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

//! Secrets at rest (connector passwords and tokens): AES-256-GCM under a key derived per tenant
//! (HKDF-SHA256 of the server's master key with the tenant id), the tenant id as associated
//! data, so a value copied into another tenant's row does not decrypt.
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

const PREFIX: &str = "enc:v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secrets key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong key or tampered)")]
    Undecryptable,
    #[error("no randomness available")]
    NoRandom,
}

pub struct SecretsKey {
    master: [u8; 32],
    /// Earlier master keys: values they sealed still open while a rotation re-encrypts them.
    previous: Vec<[u8; 32]>,
    random: SystemRandom,
}

fn decode_master(encoded: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

impl SecretsKey {
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        Self::with_previous(encoded, &[])
    }

    /// The current key (sealing and opening) and earlier ones (opening only).
    pub fn with_previous(current: &str, previous: &[&str]) -> Result<Self, CryptoError> {
        Ok(Self {
            master: decode_master(current)?,
            previous: previous
                .iter()
                .map(|p| decode_master(p))
                .collect::<Result<_, _>>()?,
            random: SystemRandom::new(),
        })
    }

    fn tenant_key(&self, tenant: Uuid) -> Result<LessSafeKey, CryptoError> {
        Self::derive(&self.master, tenant)
    }

    fn derive(master: &[u8; 32], tenant: Uuid) -> Result<LessSafeKey, CryptoError> {
        let prk = Salt::new(HKDF_SHA256, b"autonomos connector secrets v1").extract(master);
        let info = [tenant.as_bytes().as_slice()];
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .map_err(|_| CryptoError::BadKey)?;
        Ok(LessSafeKey::new(UnboundKey::from(okm)))
    }

    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    pub fn seal(&self, tenant: Uuid, plaintext: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| CryptoError::NoRandom)?;
        let mut data = plaintext.as_bytes().to_vec();
        self.tenant_key(tenant)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(tenant.as_bytes()),
                &mut data,
            )
            .map_err(|_| CryptoError::Undecryptable)?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    pub fn open(&self, tenant: Uuid, sealed: &str) -> Result<String, CryptoError> {
        let encoded = sealed
            .strip_prefix(PREFIX)
            .ok_or(CryptoError::Undecryptable)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| CryptoError::Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        for master in std::iter::once(&self.master).chain(&self.previous) {
            let mut data = rest.to_vec();
            let once =
                Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Undecryptable)?;
            if let Ok(plain) = Self::derive(master, tenant)?.open_in_place(
                once,
                Aad::from(tenant.as_bytes()),
                &mut data,
            ) {
                return String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Undecryptable);
            }
        }
        Err(CryptoError::Undecryptable)
    }

    /// Sealed under the current key, whichever key sealed it before (key rotation).
    pub fn reseal(&self, tenant: Uuid, sealed: &str) -> Result<String, CryptoError> {
        self.seal(tenant, &self.open(tenant, sealed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretsKey {
        SecretsKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
            .unwrap()
    }

    #[test]
    fn secrets_round_trip_only_in_their_tenant() {
        let k = key();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = k.seal(a, "s3cr3t").unwrap();
        assert!(SecretsKey::is_sealed(&sealed));
        assert!(!sealed.contains("s3cr3t"));
        assert_ne!(
            sealed,
            k.seal(a, "s3cr3t").unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(k.open(a, &sealed).unwrap(), "s3cr3t");
        assert!(
            k.open(b, &sealed).is_err(),
            "another tenant's key does not open it"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(k.open(a, &tampered).is_err());
        assert!(SecretsKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn a_rotated_key_opens_old_values_until_they_are_resealed() {
        let old = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let new = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let tenant = Uuid::now_v7();
        let sealed = SecretsKey::from_base64(&old)
            .unwrap()
            .seal(tenant, "pw")
            .unwrap();
        let rotating = SecretsKey::with_previous(&new, &[&old]).unwrap();
        assert_eq!(rotating.open(tenant, &sealed).unwrap(), "pw");
        let resealed = rotating.reseal(tenant, &sealed).unwrap();
        let only_new = SecretsKey::from_base64(&new).unwrap();
        assert!(only_new.open(tenant, &sealed).is_err());
        assert_eq!(only_new.open(tenant, &resealed).unwrap(), "pw");
    }
}

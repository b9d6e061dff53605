//! High-entropy secrets (API keys, invite tokens): random, shown once, stored as SHA-256.
//! They carry 240 bits of entropy, so a fast hash is safe and keeps per-request checks cheap.
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

pub struct NewSecret {
    /// The full secret, returned to the caller once.
    pub plaintext: String,
    /// A short, non-secret prefix shown in listings so people can tell keys apart.
    pub display_prefix: String,
    pub hash: String,
}

pub fn generate(kind: &str) -> NewSecret {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let plaintext = format!("{kind}_{body}");
    let display_prefix = plaintext.chars().take(kind.len() + 9).collect();
    let hash = digest(&plaintext);
    NewSecret {
        plaintext,
        display_prefix,
        hash,
    }
}

pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_prefixed_and_hashed() {
        let a = generate("aos");
        let b = generate("aos");
        assert_ne!(a.plaintext, b.plaintext);
        assert!(a.plaintext.starts_with("aos_"));
        assert_eq!(a.plaintext.len(), 44);
        assert!(a.plaintext.starts_with(&a.display_prefix));
        assert_eq!(a.hash, digest(&a.plaintext));
        assert_eq!(a.hash.len(), 64);
    }
}

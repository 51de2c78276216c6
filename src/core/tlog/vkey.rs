//! Verifier keys (C2SP signed-note): `<name>+<hex key ID>+<base64(type ‖
//! public key)>`, of any signature type, with the key ID checked.

use super::error::VkeyError;
use crate::core::note::is_valid_name;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use std::fmt;

/// Signature type of signed-note Ed25519 keys (a log's checkpoint key).
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type of tlog-cosignature v1 Ed25519 keys (a witness's key).
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Signature type of ML-DSA-44 cosignatures (not supported here).
pub const TYPE_ML_DSA_44: u8 = 0x06;

/// A parsed vkey: name, key ID, signature type and key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub key_id: u32,
    pub key_type: u8,
    pub public: Vec<u8>,
}

/// The key ID of signed-note keys: SHA-256(name ‖ "\n" ‖ type ‖ public)[:4].
pub fn key_id(name: &str, key_type: u8, public: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([key_type]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl VerifierKey {
    pub fn new(name: &str, key_type: u8, public: &[u8]) -> Result<VerifierKey, VkeyError> {
        if !is_valid_name(name) {
            return Err(VkeyError::BadName(name.into()));
        }
        Ok(VerifierKey { name: name.into(), key_id: key_id(name, key_type, public), key_type, public: public.to_vec() })
    }

    /// Parses a vkey, checking its key ID against its name and key. The
    /// base64 part may itself contain '+', so only the first two split.
    pub fn parse(vkey: &str) -> Result<VerifierKey, VkeyError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VkeyError::Malformed);
        };
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VkeyError::Malformed);
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| VkeyError::Malformed)?;
        let raw = B64.decode(data).map_err(|_| VkeyError::NotBase64)?;
        let (&key_type, public) = raw.split_first().ok_or(VkeyError::Malformed)?;
        let key = VerifierKey::new(name, key_type, public)?;
        if key.key_id != id {
            return Err(VkeyError::KeyIdMismatch);
        }
        Ok(key)
    }

    /// The Ed25519 public key, for keys of the given type.
    pub fn ed25519(&self, want: u8) -> Result<ed25519_dalek::VerifyingKey, VkeyError> {
        if self.key_type != want {
            return Err(VkeyError::WrongType { want, got: self.key_type });
        }
        let bytes: [u8; 32] = self.public.as_slice().try_into().map_err(|_| VkeyError::BadKey)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| VkeyError::BadKey)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = vec![self.key_type];
        data.extend_from_slice(&self.public);
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_log_and_witness_keys_and_checks_their_ids() {
        // From docs/WITNESSING-NOTES.md: a log key (0x01) and litewitness's (0x04).
        let log = "example.com/audit/gateway-1+28af1add+AfGnpaFylRAtvSoIWQdYcISQVOf3D7ZdTm5VtX8OI6/G";
        let wit = "witness.example/w1+99d91bd5+BIzYejmlJUoEJZKZoP3WYi6vtaSpXVlTFDm512BL9RIR";
        let l = VerifierKey::parse(log).unwrap();
        assert_eq!((l.key_type, l.key_id), (TYPE_ED25519, 0x28af1add));
        let w = VerifierKey::parse(wit).unwrap();
        assert_eq!((w.key_type, w.name.as_str()), (TYPE_COSIGNATURE_V1, "witness.example/w1"));
        assert_eq!(w.to_string(), wit);
        assert!(w.ed25519(TYPE_COSIGNATURE_V1).is_ok());
        assert_eq!(w.ed25519(TYPE_ED25519), Err(VkeyError::WrongType { want: 1, got: 4 }));
        assert_eq!(VerifierKey::parse(&wit.replace("+99d91bd5+", "+99d91bd6+")), Err(VkeyError::KeyIdMismatch));
        assert_eq!(
            VerifierKey::parse(&wit.replace("witness.example", "witness example")),
            Err(VkeyError::BadName("witness example/w1".into()))
        );
        for bad in ["", "a+b", "a+1234567+AQ==", "a+1234567g+AQ==", "a+12345678+!!", "a+12345678+"] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}

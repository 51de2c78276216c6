//! C2SP tlog-cosignature v1 with Ed25519 (signature type 0x04): a witness's
//! statement that, at `timestamp`, this checkpoint is the largest
//! consistent tree it has seen for the origin. The signature line is
//! `— <name> base64(key ID ‖ u64be(timestamp) ‖ Ed25519 signature)`; the
//! signed message is `cosignature/v1\ntime <timestamp>\n` ‖ checkpoint body.

use super::error::{CosignatureError, VkeyError};
use super::vkey::{TYPE_COSIGNATURE_V1, VerifierKey};
use crate::core::note::{KeyId, NoteSignature};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

/// The exact bytes a v1 cosignature signs.
pub fn message(timestamp: u64, body: &str) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(body.as_bytes());
    m
}

/// A witness's cosigning key, as a policy or a processor config names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    pub id: KeyId,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// From a vkey of type 0x04.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, VkeyError> {
        CosignatureVerifier::from_vkey(&VerifierKey::parse(vkey)?)
    }

    pub fn from_vkey(v: &VerifierKey) -> Result<CosignatureVerifier, VkeyError> {
        let key = v.ed25519(TYPE_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { id: KeyId { name: v.name.clone(), hash: v.key_id }, key })
    }

    /// The public key's bytes (two vkeys are the same witness when these are
    /// equal, whatever their names: tlog-policy).
    pub fn public(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    pub fn vkey(&self) -> String {
        VerifierKey::new(&self.id.name, TYPE_COSIGNATURE_V1, self.key.as_bytes()).expect("a parsed name").to_string()
    }

    /// Checks one signature line over the checkpoint `body`; returns its
    /// timestamp. `OtherKey` for a line of another key (to be ignored).
    pub fn verify(&self, body: &str, sig: &NoteSignature) -> Result<u64, CosignatureError> {
        if sig.id != self.id {
            return Err(CosignatureError::OtherKey);
        }
        let [t0, t1, t2, t3, t4, t5, t6, t7, rest @ ..] = sig.signature.as_slice() else {
            return Err(CosignatureError::BadLength(sig.signature.len()));
        };
        let signature =
            ed25519_dalek::Signature::from_slice(rest).map_err(|_| CosignatureError::BadLength(sig.signature.len()))?;
        let timestamp = u64::from_be_bytes([*t0, *t1, *t2, *t3, *t4, *t5, *t6, *t7]);
        if timestamp == 0 || timestamp > i64::MAX as u64 {
            return Err(CosignatureError::BadTimestamp(timestamp));
        }
        self.key.verify_strict(&message(timestamp, body), &signature).map_err(|_| CosignatureError::BadSignature)?;
        Ok(timestamp)
    }
}

/// A cosigning key: for tests and tools that act as a witness.
pub struct CosignatureSigner {
    pub id: KeyId,
    key: SigningKey,
}

impl CosignatureSigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<CosignatureSigner, VkeyError> {
        let key = SigningKey::from_bytes(seed);
        let v = VerifierKey::new(name, TYPE_COSIGNATURE_V1, key.verifying_key().as_bytes())?;
        Ok(CosignatureSigner { id: KeyId { name: v.name, hash: v.key_id }, key })
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier { id: self.id.clone(), key: self.key.verifying_key() }
    }

    /// The cosignature of checkpoint `body` at `timestamp` (Unix seconds).
    pub fn sign(&self, body: &str, timestamp: u64) -> NoteSignature {
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&self.key.sign(&message(timestamp, body)).to_bytes());
        NoteSignature { id: self.id.clone(), signature }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::note::parse_signature_line;

    // Captured from litewitness v0.6.1 (docs/WITNESSING-NOTES.md §3).
    const VKEY: &str = "witness.example/w1+99d91bd5+BIzYejmlJUoEJZKZoP3WYi6vtaSpXVlTFDm512BL9RIR";
    const BODY: &str = "example.com/audit/gateway-1\n5\nPSRysyXZTDU4AlrnRyNu/SUqzKD/s/Awza5dJ/+DLuU=\n";
    const LINE: &str = "\u{2014} witness.example/w1 mdkb1QAAAABrDvNRSPy7SJ/1yda4G2c1kZZpaSIA76daLYaCOI6oKt/THmFKfxk9+f8FB0g3Jf4WjlRh0v1e/pCOcIIkSSaki1CSDA==";

    #[test]
    fn verifies_a_real_litewitness_cosignature() {
        let v = CosignatureVerifier::parse(VKEY).unwrap();
        let sig = parse_signature_line(LINE).unwrap();
        assert_eq!(v.verify(BODY, &sig), Ok(1796141905));
        assert_eq!(
            message(1796141905, BODY),
            b"cosignature/v1\ntime 1796141905\nexample.com/audit/gateway-1\n5\nPSRysyXZTDU4AlrnRyNu/SUqzKD/s/Awza5dJ/+DLuU=\n"
        );
        assert_eq!(v.verify(&BODY.replace("\n5\n", "\n6\n"), &sig), Err(CosignatureError::BadSignature));
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert_eq!(v.verify(BODY, &later), Err(CosignatureError::BadSignature));
        assert_eq!(v.vkey(), VKEY);
    }

    #[test]
    fn sign_verify_and_refusals() {
        let s = CosignatureSigner::from_seed("w.example/1", &[9; 32]).unwrap();
        let v = s.verifier();
        let sig = s.sign(BODY, 42);
        assert_eq!(v.verify(BODY, &sig), Ok(42));
        let other = CosignatureSigner::from_seed("w.example/2", &[9; 32]).unwrap().verifier();
        assert_eq!(other.verify(BODY, &sig), Err(CosignatureError::OtherKey));
        assert_eq!(v.verify(BODY, &s.sign(BODY, 0)), Err(CosignatureError::BadTimestamp(0)));
        assert_eq!(v.verify(BODY, &s.sign(BODY, 1 << 63)), Err(CosignatureError::BadTimestamp(1 << 63)));
        let short = NoteSignature { id: v.id.clone(), signature: sig.signature[..70].to_vec() };
        assert_eq!(v.verify(BODY, &short), Err(CosignatureError::BadLength(70)));
        // A note key (0x01) is not a cosigning key.
        let note_key = "example.com/audit/gateway-1+28af1add+AfGnpaFylRAtvSoIWQdYcISQVOf3D7ZdTm5VtX8OI6/G";
        assert_eq!(CosignatureVerifier::parse(note_key), Err(VkeyError::WrongType { want: 4, got: 1 }));
    }
}

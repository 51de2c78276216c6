//! Signed notes and checkpoints (docs/SPEC.md §5.3).
//!
//! A checkpoint is a C2SP tlog-checkpoint body signed as a C2SP signed note,
//! byte-compatible with golang.org/x/mod/sumdb/note:
//!
//! ```text
//! <origin: the stream id>
//! <size: the sequence number of the last record it covers>
//! <root: base64 of that record's audit.integrity.value (the chain head)>
//! time <unix nanoseconds when it was made>
//! interval <seconds until the next checkpoint is due>
//!
//! — <key name> <base64(key hash (4 bytes, big endian) ‖ Ed25519 signature)>
//! ```

use crate::core::chain::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Algorithm byte of Ed25519 keys in note key strings.
const ALG_ED25519: u8 = 1;

/// A key's identity in notes: its name and 32-bit key hash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId {
    pub name: String,
    pub hash: u32,
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}+{:08x}", self.name, self.hash)
    }
}

/// The note key hash: the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
pub fn key_hash(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Valid key names: non-empty UTF-8 without spaces or '+'.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// A note signer: an Ed25519 key with a name.
pub struct NoteSigner {
    pub id: KeyId,
    key: SigningKey,
}

impl NoteSigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<NoteSigner, String> {
        if !is_valid_name(name) {
            return Err(format!("invalid key name {name:?}: use no spaces and no '+'"));
        }
        let key = SigningKey::from_bytes(seed);
        let hash = key_hash(name, key.verifying_key().as_bytes());
        Ok(NoteSigner { id: KeyId { name: name.into(), hash }, key })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`.
    pub fn parse(skey: &str) -> Result<NoteSigner, String> {
        let parts: Vec<&str> = skey.trim().splitn(5, '+').collect();
        let [priv_, key_, name, hash, data] = parts[..] else {
            return Err("not a signing key (expected PRIVATE+KEY+<name>+<hash>+<key>)".into());
        };
        if priv_ != "PRIVATE" || key_ != "KEY" {
            return Err("not a signing key (expected PRIVATE+KEY+<name>+<hash>+<key>)".into());
        }
        let raw = B64.decode(data).map_err(|_| "signing key data is not base64".to_string())?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err("signing key is not an Ed25519 key".into());
        }
        let signer = NoteSigner::from_seed(name, raw[1..].try_into().expect("32 bytes"))?;
        if format!("{:08x}", signer.id.hash) != hash {
            return Err("signing key hash does not match its key".into());
        }
        Ok(signer)
    }

    pub fn private_key_string(&self) -> String {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.id.name, self.id.hash, B64.encode(data))
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { id: self.id.clone(), key: self.key.verifying_key() }
    }

    /// Signs `text` (which must end with a newline) into a note.
    pub fn sign(&self, text: &str) -> String {
        signed_note(&self.id, text, &self.key.sign(text.as_bytes()).to_bytes())
    }
}

/// What signs checkpoints: an Ed25519 key in memory ([`NoteSigner`], from
/// `signing_key_file`) or one that never leaves a hardware token (the
/// engine's PKCS#11 signer). Either way the note names the key by the name
/// and key hash of its public key.
pub trait Sign: Send {
    fn key_id(&self) -> &KeyId;
    /// The Ed25519 signature of `message`.
    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], String>;
    /// The verifier of the key's signatures (to recognise notes it signed).
    fn note_verifier(&self) -> NoteVerifier;
}

impl Sign for NoteSigner {
    fn key_id(&self) -> &KeyId {
        &self.id
    }

    fn note_verifier(&self) -> NoteVerifier {
        self.verifier()
    }

    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], String> {
        Ok(self.key.sign(message).to_bytes())
    }
}

/// Signs `text` (which must end with a newline) into a note.
pub fn sign_note(signer: &dyn Sign, text: &str) -> Result<String, String> {
    Ok(signed_note(signer.key_id(), text, &signer.sign_ed25519(text.as_bytes())?))
}

/// `text`, a blank line and the signature line of key `id`.
fn signed_note(id: &KeyId, text: &str, signature: &[u8; 64]) -> String {
    debug_assert!(text.ends_with('\n'));
    let mut data = id.hash.to_be_bytes().to_vec();
    data.extend_from_slice(signature);
    format!("{text}\n\u{2014} {} {}\n", id.name, B64.encode(data))
}

/// A note verifier: a named Ed25519 public key.
#[derive(Clone, Debug)]
pub struct NoteVerifier {
    pub id: KeyId,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// The verifier of an Ed25519 public key named `name` (a key read from
    /// a hardware token, whose note name is its label).
    pub fn from_public(name: &str, public: &[u8; 32]) -> Result<NoteVerifier, String> {
        if !is_valid_name(name) {
            return Err(format!("invalid key name {name:?}: use no spaces and no '+'"));
        }
        let key = VerifyingKey::from_bytes(public).map_err(|_| "not a valid Ed25519 public key".to_string())?;
        Ok(NoteVerifier { id: KeyId { name: name.into(), hash: key_hash(name, public) }, key })
    }

    /// Parses `<name>+<hash>+<base64(0x01 ‖ public key)>`.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, String> {
        let parts: Vec<&str> = vkey.trim().splitn(3, '+').collect();
        let [name, hash, data] = parts[..] else {
            return Err("not a verifier key (expected <name>+<hash>+<key>)".into());
        };
        if !is_valid_name(name) {
            return Err(format!("invalid key name {name:?}"));
        }
        let raw = B64.decode(data).map_err(|_| "verifier key data is not base64".to_string())?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err("verifier key is not an Ed25519 key".into());
        }
        let public: [u8; 32] = raw[1..].try_into().expect("32 bytes");
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| "verifier key is not a valid Ed25519 point".to_string())?;
        let h = key_hash(name, &public);
        if format!("{h:08x}") != hash {
            return Err("verifier key hash does not match its key".into());
        }
        Ok(NoteVerifier { id: KeyId { name: name.into(), hash: h }, key })
    }

    pub fn public_key_string(&self) -> String {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.id.name, self.id.hash, B64.encode(data))
    }

    pub fn verify(&self, text: &str, sig: &[u8]) -> bool {
        self.verify_bytes(text.as_bytes(), sig)
    }

    pub fn verify_bytes(&self, message: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else { return false };
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// A signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub id: KeyId,
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines (not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Splits a note; fails on anything the note format does not allow.
pub fn parse_note(msg: &str) -> Result<Note, String> {
    if msg.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err("note contains control characters".into());
    }
    let split = msg.rfind("\n\n").ok_or("note has no signature block")?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err("note signature block is malformed".into());
    }
    let signatures = sigs.lines().map(parse_signature_line).collect::<Result<Vec<_>, _>>()?;
    Ok(Note { text: text.to_string(), signatures })
}

/// Parses one signature line, `— <name> <base64(key hash ‖ signature)>`,
/// without its newline.
pub fn parse_signature_line(line: &str) -> Result<NoteSignature, String> {
    let line = line.strip_prefix("\u{2014} ").ok_or("note signature line does not start with an em dash")?;
    let (name, b64) = line.split_once(' ').ok_or("note signature line is malformed")?;
    let raw = B64.decode(b64).map_err(|_| "note signature is not base64")?;
    if !is_valid_name(name) || raw.len() < 5 {
        return Err("note signature line is malformed".into());
    }
    Ok(NoteSignature {
        id: KeyId { name: name.into(), hash: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) },
        signature: raw[4..].to_vec(),
    })
}

impl NoteSignature {
    /// The signature line, with its newline.
    pub fn line(&self) -> String {
        let mut data = self.id.hash.to_be_bytes().to_vec();
        data.extend_from_slice(&self.signature);
        format!("\u{2014} {} {}\n", self.id.name, B64.encode(data))
    }
}

/// The body of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub time_unix_nano: u64,
    pub interval_seconds: u64,
}

impl Checkpoint {
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\ninterval {}\n",
            self.origin,
            self.size,
            B64.encode(self.root),
            self.time_unix_nano,
            self.interval_seconds
        )
    }

    pub fn parse(text: &str) -> Result<Checkpoint, String> {
        let mut lines = text.strip_suffix('\n').ok_or("checkpoint text must end with a newline")?.split('\n');
        let origin = lines.next().filter(|s| !s.is_empty()).ok_or("checkpoint has no origin")?.to_string();
        let size = lines
            .next()
            .and_then(|s| s.parse::<u64>().ok().filter(|_| !s.starts_with('+') && (s == "0" || !s.starts_with('0'))))
            .ok_or("checkpoint size is not a decimal number")?;
        let root: Hash = lines
            .next()
            .and_then(|s| B64.decode(s).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or("checkpoint root is not a base64 SHA-256 hash")?;
        let mut time = None;
        let mut interval = None;
        for ext in lines {
            match ext.split_once(' ') {
                Some(("time", v)) => time = v.parse().ok(),
                Some(("interval", v)) => interval = v.parse().ok(),
                _ => {} // other extension lines are allowed and ignored
            }
        }
        Ok(Checkpoint {
            origin,
            size,
            root,
            time_unix_nano: time.ok_or("checkpoint has no time line")?,
            interval_seconds: interval.ok_or("checkpoint has no interval line")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key from golang.org/x/mod/sumdb/note's documentation.
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    // And the signed note from the same documentation.
    const MSG: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn compatible_with_go_note_keys_and_signatures() {
        let s = NoteSigner::parse(SKEY).unwrap();
        assert_eq!(s.private_key_string(), SKEY);
        assert_eq!(s.verifier().public_key_string(), VKEY);
        let v = NoteVerifier::parse(VKEY).unwrap();
        let note = parse_note(MSG).unwrap();
        assert_eq!(note.signatures[0].id, v.id);
        assert!(v.verify(&note.text, &note.signatures[0].signature));
        // Ed25519 is deterministic: signing the same text gives the same note,
        // also through the signer trait.
        assert_eq!(s.sign(&note.text), MSG);
        assert_eq!(sign_note(&s, &note.text).unwrap(), MSG);
        let public: [u8; 32] = B64.decode(VKEY.rsplit('+').next().unwrap()).unwrap()[1..].try_into().unwrap();
        assert_eq!(NoteVerifier::from_public("PeterNeumann", &public).unwrap().public_key_string(), VKEY);
        assert!(NoteVerifier::from_public("Peter Neumann", &public).is_err());
        assert!(!v.verify("altered\n", &note.signatures[0].signature));
    }

    #[test]
    fn checkpoint_round_trip_and_rejects() {
        let c = Checkpoint { origin: "s-1".into(), size: 42, root: [7; 32], time_unix_nano: 5, interval_seconds: 60 };
        assert_eq!(Checkpoint::parse(&c.text()).unwrap(), c);
        for bad in
            ["", "s\n", "s\n01\nAAAA\n", "s\n1\nnotbase64!\ntime 1\ninterval 1\n", "s\n1\nBwcH\ntime 1\ninterval 1\n"]
        {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_note("no block\n").is_err());
        assert!(parse_note("text\n\n- x AAAAAAA=\n").is_err());
    }
}

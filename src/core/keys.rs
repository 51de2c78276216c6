//! Key files (docs/SPEC.md §5.1): the chain key (an HMAC secret the epoch
//! keys derive from) and the signing key (Ed25519, for checkpoints).
//!
//! Secret key files must be readable by their owner only; the engine
//! refuses group- or world-readable ones. Key material is never logged.

use crate::core::chain::Hash;
use crate::core::note::{NoteSigner, NoteVerifier, is_valid_name};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

const CHAIN_KEY_PREFIX: &str = "AUDITCHAIN-CHAIN-KEY";

/// The chain key: the secret every stream's epoch keys derive from. The
/// verifier needs it; the collector needs it only to start a stream that
/// has no predecessor.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ChainKey {
    #[zeroize(skip)]
    pub name: String,
    secret: Hash,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey({})", self.id())
    }
}

impl ChainKey {
    pub fn from_secret(name: &str, secret: Hash) -> Result<ChainKey, String> {
        if !is_valid_name(name) {
            return Err(format!("invalid key name {name:?}: use no spaces and no '+'"));
        }
        Ok(ChainKey { name: name.into(), secret })
    }

    pub fn secret(&self) -> &Hash {
        &self.secret
    }

    /// `<name>+<8 hex digits>`: names the key without revealing it (the
    /// digits are the first 4 bytes of a domain-separated SHA-256 of it).
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"auditchain.chain-key-id.v1\0");
        h.update(self.secret);
        let d = h.finalize();
        format!("{}+{:02x}{:02x}{:02x}{:02x}", self.name, d[0], d[1], d[2], d[3])
    }

    /// `AUDITCHAIN-CHAIN-KEY+<name>+<id digits>+<base64 secret>`.
    pub fn to_file_string(&self) -> String {
        format!("{CHAIN_KEY_PREFIX}+{}+{}\n", self.id(), B64.encode(self.secret))
    }

    pub fn parse(s: &str) -> Result<ChainKey, String> {
        let parts: Vec<&str> = s.trim().splitn(4, '+').collect();
        let [prefix, name, id, data] = parts[..] else {
            return Err(format!("not a chain key (expected {CHAIN_KEY_PREFIX}+<name>+<id>+<key>)"));
        };
        if prefix != CHAIN_KEY_PREFIX {
            return Err(format!("not a chain key (expected {CHAIN_KEY_PREFIX}+<name>+<id>+<key>)"));
        }
        let mut raw = B64.decode(data).map_err(|_| "chain key data is not base64".to_string())?;
        let secret: Hash = raw.as_slice().try_into().map_err(|_| "chain key must be 32 bytes".to_string())?;
        raw.zeroize();
        let key = ChainKey::from_secret(name, secret)?;
        if key.id() != format!("{name}+{id}") {
            return Err("chain key id does not match its key (the file is corrupted)".into());
        }
        Ok(key)
    }
}

/// Reads a secret key file, refusing a missing, non-regular or group- or
/// world-readable one. `what` is the config key named in messages.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, String> {
    let meta = fs::metadata(path).map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{what}: {} is not a regular file", path.display()));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{what}: {} is readable by group or others (mode {mode:04o}); a secret key must be private to its owner: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    fs::read_to_string(path).map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))
}

pub fn load_chain_key(path: &Path, what: &str) -> Result<ChainKey, String> {
    let mut text = read_secret_file(path, what)?;
    let key = ChainKey::parse(&text).map_err(|e| format!("{what}: {}: {e}", path.display()));
    text.zeroize();
    key
}

pub fn load_signing_key(path: &Path, what: &str) -> Result<NoteSigner, String> {
    let mut text = read_secret_file(path, what)?;
    let key = NoteSigner::parse(&text).map_err(|e| format!("{what}: {}: {e}", path.display()));
    text.zeroize();
    key
}

/// Reads a verifier key: a file holding one, or the key string itself.
pub fn load_verifier_key(arg: &str) -> Result<NoteVerifier, String> {
    let text = match fs::read_to_string(arg) {
        Ok(t) => t,
        Err(_) if !Path::new(arg).exists() => arg.to_string(),
        Err(e) => return Err(format!("cannot read {arg}: {e}")),
    };
    NoteVerifier::parse(&text).map_err(|e| format!("{arg}: {e}"))
}

/// A new key set from the OS random source.
pub struct KeySet {
    pub chain: ChainKey,
    pub signer: NoteSigner,
}

impl KeySet {
    pub fn generate(name: &str) -> Result<KeySet, String> {
        let mut secret = [0u8; 32];
        let mut seed = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| format!("no randomness: {e}"))?;
        getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
        let chain = ChainKey::from_secret(name, secret)?;
        let signer = NoteSigner::from_seed(name, &seed)?;
        secret.zeroize();
        seed.zeroize();
        Ok(KeySet { chain, signer })
    }
}

/// Writes a new file with the given mode, refusing to replace one.
pub fn write_new_file(path: &Path, contents: &str, mode: u32) -> Result<(), String> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn chain_key_round_trip_and_corruption() {
        let k = ChainKey::from_secret("ops", [3; 32]).unwrap();
        let s = k.to_file_string();
        assert!(s.starts_with("AUDITCHAIN-CHAIN-KEY+ops+"), "{s}");
        assert_eq!(ChainKey::parse(&s).unwrap().secret(), &[3; 32]);
        let flipped = s.replacen("AwMD", "AwME", 1);
        assert!(ChainKey::parse(&flipped).unwrap_err().contains("does not match"));
        assert!(ChainKey::parse("PRIVATE+KEY+x+1+2").is_err());
    }

    #[test]
    fn secret_files_must_be_private_and_present() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        assert!(read_secret_file(&p, "key_file").unwrap_err().starts_with("key_file: cannot read"));
        fs::write(&p, "x").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_secret_file(&p, "key_file").unwrap_err();
        assert!(e.contains("readable by group or others (mode 0644)") && e.contains("chmod 600"), "{e}");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(read_secret_file(&p, "key_file").is_err());
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&p, "key_file").unwrap(), "x");
        assert!(read_secret_file(d.path(), "key_file").unwrap_err().contains("not a regular file"));
    }

    #[test]
    fn generated_keys_load_back() {
        let d = tempfile::tempdir().unwrap();
        let ks = KeySet::generate("ops").unwrap();
        let c = d.path().join("c");
        let s = d.path().join("s");
        write_new_file(&c, &ks.chain.to_file_string(), 0o600).unwrap();
        write_new_file(&s, &(ks.signer.private_key_string() + "\n"), 0o600).unwrap();
        assert_eq!(load_chain_key(&c, "key_file").unwrap().id(), ks.chain.id());
        assert_eq!(load_signing_key(&s, "signing_key_file").unwrap().id, ks.signer.id);
        assert!(write_new_file(&c, "x", 0o600).unwrap_err().contains("cannot create"));
        let v = load_verifier_key(&ks.signer.verifier().public_key_string()).unwrap();
        assert_eq!(v.id, ks.signer.id);
    }
}

//! Checkpoint signing keys in hardware, through PKCS#11 (docs/SPEC.md §5.1).
//!
//! The Ed25519 private key stays on the token: the engine keeps a logged-in
//! session and the key's handle, and the token signs (`C_Sign` with
//! `CKM_EDDSA`, pure Ed25519). The note names the key by its label and the
//! key hash of the public key read from the token (`CKA_EC_POINT` of the
//! public key object with the same label). Every signature is checked
//! against that public key before it is used, so a token that signs with
//! another key, or badly, never yields a checkpoint that does not verify.

use super::config::Pkcs11Config;
use super::error::{Error, ErrorKind};
use crate::core::keys;
use crate::core::note::{KeyId, NoteVerifier, Sign};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A message signed once at opening, to check that the token's private key
/// and the public key read from it belong together.
const PROBE: &[u8] = b"auditchain pkcs11 key check\n";

/// A checkpoint signer whose key is on a PKCS#11 token.
pub struct Pkcs11Signer {
    verifier: NoteVerifier,
    token: Mutex<Token>,
}

/// What it takes to sign: the module, the token's slot, a logged-in
/// session (reopened when the token drops it) and the key's handle.
struct Token {
    pkcs11: Pkcs11,
    slot: Slot,
    key_label: String,
    pin: AuthPin,
    session: Option<(Session, ObjectHandle)>,
}

fn key_error(message: String) -> Error {
    Error::new(ErrorKind::Key, message)
}

/// A PKCS#11 error, short: the function and the return value's name.
fn p11(e: cryptoki::error::Error) -> String {
    match e {
        cryptoki::error::Error::Pkcs11(rv, f) => format!("{f}: {rv:?}"),
        other => other.to_string(),
    }
}

/// Modules loaded and initialised in this process, never finalised: a
/// module is initialised once per process (`C_Initialize`), and several
/// engines (one per pipeline) may share it.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

fn module(path: &Path) -> Result<Pkcs11, String> {
    let mut modules = MODULES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, m)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(m.clone());
    }
    let what = "signing_key.pkcs11.module";
    let m = Pkcs11::new(path).map_err(|e| format!("{what}: cannot load {}: {e}", path.display()))?;
    // The collector calls in from many threads: the module must lock.
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(format!("{what}: {} does not initialise: {}", path.display(), p11(e))),
    }
    modules.push((path.to_path_buf(), m.clone()));
    Ok(m)
}

/// The slot of the one token labelled `label`.
fn find_token(pkcs11: &Pkcs11, label: &str, module: &Path) -> Result<Slot, String> {
    let what = "signing_key.pkcs11.token_label";
    let slots = pkcs11.get_slots_with_token().map_err(|e| format!("{what}: cannot list tokens: {}", p11(e)))?;
    let mut labels = Vec::new();
    let mut found = Vec::new();
    for slot in slots {
        let Ok(info) = pkcs11.get_token_info(slot) else { continue };
        if !info.token_initialized() {
            continue;
        }
        let l = info.label().trim_end().to_string();
        if l == label {
            found.push(slot);
        }
        labels.push(l);
    }
    match found[..] {
        [slot] => Ok(slot),
        [] => Err(format!(
            "{what}: no token labelled {label:?} in {} (tokens: {})",
            module.display(),
            if labels.is_empty() { "none".to_string() } else { format!("{labels:?}") }
        )),
        _ => Err(format!("{what}: {} tokens are labelled {label:?}; labels must be unique", found.len())),
    }
}

/// The one object of `class` labelled `label`, if any.
fn find_object(session: &Session, class: ObjectClass, label: &str) -> Result<Option<ObjectHandle>, String> {
    let template = [Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())];
    let found = session.find_objects(&template).map_err(p11)?;
    match found[..] {
        [] => Ok(None),
        [h] => Ok(Some(h)),
        _ => Err(format!("{} objects of class {class} are labelled {label:?}; labels must be unique", found.len())),
    }
}

/// The 32-byte Ed25519 public key from `CKA_EC_PARAMS` and `CKA_EC_POINT`.
/// PKCS#11 3.0 says the point is a DER OCTET STRING; some modules give
/// the 32 bytes bare. The curve may be named by OID (1.3.101.112) or by
/// the PrintableString "edwards25519" (what pkcs11-tool and SoftHSM use).
fn ed25519_public(params: &[u8], point: &[u8]) -> Result<[u8; 32], String> {
    const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
    const NAME_ED25519: &[u8] = b"\x13\x0cedwards25519";
    if !params.is_empty() && params != OID_ED25519 && params != NAME_ED25519 {
        return Err(
            "the key is not an Ed25519 key (its curve is not edwards25519; Ed448 cannot sign checkpoints)".into()
        );
    }
    let raw = match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        p if p.len() == 32 => p,
        _ => return Err(format!("its CKA_EC_POINT ({} bytes) is not an Ed25519 public key", point.len())),
    };
    Ok(raw.try_into().expect("32 bytes"))
}

impl Token {
    /// A session logged in as the user, with the private key's handle.
    fn open_session(&self) -> Result<(Session, ObjectHandle), String> {
        let session =
            self.pkcs11.open_ro_session(self.slot).map_err(|e| format!("cannot open a session: {}", p11(e)))?;
        match session.login(UserType::User, Some(&self.pin)) {
            // Logins are per application: another engine of this process
            // may have logged in to the same token already.
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(format!("signing_key.pkcs11.pin_file: cannot log in to the token: {}", p11(e))),
        }
        let label = &self.key_label;
        let key = find_object(&session, ObjectClass::PRIVATE_KEY, label)
            .map_err(|e| format!("signing_key.pkcs11.key_label: {e}"))?
            .ok_or_else(|| format!("signing_key.pkcs11.key_label: no private key labelled {label:?} on the token"))?;
        let attrs = session.get_attributes(key, &[AttributeType::KeyType]).map_err(p11)?;
        match attrs.first() {
            Some(Attribute::KeyType(t)) if *t == KeyType::EC_EDWARDS => Ok((session, key)),
            Some(Attribute::KeyType(t)) => Err(format!(
                "signing_key.pkcs11.key_label: the private key labelled {label:?} is a {t} key, not Ed25519; checkpoints need an Ed25519 (CKK_EC_EDWARDS) key"
            )),
            _ => Err(format!("signing_key.pkcs11.key_label: the token does not say the key type of {label:?}")),
        }
    }

    /// Signs with the current session, or with a new one when the token has
    /// dropped it (restarted, session closed, logged out): once.
    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        if let Some((session, key)) = &self.session
            && let Ok(sig) = session.sign(&mechanism, *key, message)
        {
            return Ok(sig);
        }
        self.session = None;
        let (session, key) = self.open_session()?;
        let sig = session.sign(&mechanism, key, message).map_err(|e| format!("the token did not sign: {}", p11(e)))?;
        self.session = Some((session, key));
        Ok(sig)
    }
}

/// The public key labelled `key_label` on the token, as a note verifier
/// named `key_label`: from its public key object, or (for tokens that keep
/// only the private key) from the private key object's `CKA_EC_POINT`.
fn public_key(session: &Session, key_label: &str) -> Result<NoteVerifier, String> {
    let what = "signing_key.pkcs11.key_label";
    let object = match find_object(session, ObjectClass::PUBLIC_KEY, key_label).map_err(|e| format!("{what}: {e}"))? {
        Some(h) => h,
        None => find_object(session, ObjectClass::PRIVATE_KEY, key_label)
            .map_err(|e| format!("{what}: {e}"))?
            .ok_or_else(|| format!("{what}: no public key labelled {key_label:?} on the token"))?,
    };
    let attrs = session
        .get_attributes(object, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| format!("{what}: cannot read the public key of {key_label:?}: {}", p11(e)))?;
    let (mut params, mut point) = (Vec::new(), None);
    for a in attrs {
        match a {
            Attribute::EcParams(p) => params = p,
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let point = point.ok_or_else(|| {
        format!(
            "{what}: the token gives no CKA_EC_POINT for {key_label:?}; store its public key object with the same label"
        )
    })?;
    let public = ed25519_public(&params, &point).map_err(|e| format!("{what}: {key_label:?}: {e}"))?;
    NoteVerifier::from_public(key_label, &public).map_err(|e| format!("{what}: {e}"))
}

impl Pkcs11Signer {
    /// Loads the module, finds the token and the key pair, logs in with the
    /// PIN of `pin_file` (private to its owner, like a key file), and checks
    /// that the token signs with the key whose public key it gives.
    pub fn open(config: &Pkcs11Config) -> Result<Pkcs11Signer, Error> {
        let text = keys::read_secret_file(&config.pin_file, "signing_key.pkcs11.pin_file").map_err(key_error)?;
        let pin = text.trim_end_matches(['\n', '\r']).to_string();
        drop(zeroize::Zeroizing::new(text));
        if pin.is_empty() {
            return Err(key_error(format!("signing_key.pkcs11.pin_file: {} is empty", config.pin_file.display())));
        }
        let pkcs11 = module(&config.module).map_err(key_error)?;
        let slot = find_token(&pkcs11, &config.token_label, &config.module).map_err(key_error)?;
        let mut token =
            Token { pkcs11, slot, key_label: config.key_label.clone(), pin: AuthPin::from(pin), session: None };
        let (session, key) = token.open_session().map_err(key_error)?;
        let verifier = public_key(&session, &config.key_label).map_err(key_error)?;
        token.session = Some((session, key));
        let signer = Pkcs11Signer { verifier, token: Mutex::new(token) };
        signer.sign_ed25519(PROBE).map_err(|e| key_error(format!("signing_key.pkcs11.key_label: {e}")))?;
        Ok(signer)
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }
}

impl Sign for Pkcs11Signer {
    fn note_verifier(&self) -> NoteVerifier {
        self.verifier.clone()
    }

    fn key_id(&self) -> &KeyId {
        &self.verifier.id
    }

    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], String> {
        let sig = self.token.lock().unwrap_or_else(|p| p.into_inner()).sign(message)?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|s: Vec<u8>| format!("the token returned a {}-byte signature, not Ed25519's 64", s.len()))?;
        if !self.verifier.verify_bytes(message, &sig) {
            return Err(format!(
                "the token's signature does not verify under the public key labelled {:?} ({}): the key pair does not match",
                self.verifier.id.name, self.verifier.id
            ));
        }
        Ok(sig)
    }
}

/// The public key of a token's key pair in note verifier form
/// (`<label>+<hash>+<key>`, what `auditchain verify --public-key` takes),
/// for `auditchain pkcs11-pubkey`. Logs in only when a PIN file is given
/// (tokens whose public objects are private need it).
pub fn export_public_key(
    module_path: &Path,
    token_label: &str,
    key_label: &str,
    pin_file: Option<&Path>,
) -> Result<NoteVerifier, Error> {
    // The same messages as the processor's, naming the command's flags.
    let flags = |e: String| {
        key_error(
            e.replace("signing_key.pkcs11.module", "--module")
                .replace("signing_key.pkcs11.token_label", "--token-label")
                .replace("signing_key.pkcs11.key_label", "--key-label"),
        )
    };
    let pkcs11 = module(module_path).map_err(flags)?;
    let slot = find_token(&pkcs11, token_label, module_path).map_err(flags)?;
    let session = pkcs11.open_ro_session(slot).map_err(|e| key_error(format!("cannot open a session: {}", p11(e))))?;
    if let Some(p) = pin_file {
        let text = keys::read_secret_file(p, "--pin-file").map_err(key_error)?;
        let pin = AuthPin::from(text.trim_end_matches(['\n', '\r']).to_string());
        drop(zeroize::Zeroizing::new(text));
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(key_error(format!("--pin-file: cannot log in to the token: {}", p11(e)))),
        }
    }
    public_key(&session, key_label).map_err(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_keys_as_tokens_give_them() {
        let key = [7u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&key);
        let oid = [0x06, 0x03, 0x2b, 0x65, 0x70];
        assert_eq!(ed25519_public(&oid, &der).unwrap(), key);
        assert_eq!(ed25519_public(b"\x13\x0cedwards25519", &key).unwrap(), key);
        assert_eq!(ed25519_public(&[], &der).unwrap(), key);
        // Ed448 (1.3.101.113), P-256, short points.
        assert!(ed25519_public(&[0x06, 0x03, 0x2b, 0x65, 0x71], &der).unwrap_err().contains("not an Ed25519 key"));
        assert!(ed25519_public(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], &der).is_err());
        assert!(ed25519_public(&oid, &der[..20]).unwrap_err().contains("CKA_EC_POINT"));
    }
}

//! Checkpoints signed by a key pair on a PKCS#11 token (SoftHSM2): the
//! engine signs through the token, the checkpoints verify under the public
//! key the token gives (also as `auditchain pkcs11-pubkey` prints it), and
//! every configuration mistake is refused with a message naming the key.
//!
//! Needs SoftHSM2 and pkcs11-tool (Debian: softhsm2, opensc; `.ci/run`
//! installs them). Without them the test says so and passes, except in CI
//! (CI set), where it fails.

mod support;

use auditchain::core::note::{NoteVerifier, parse_note};
use auditchain::engine::config::{EngineConfig, Pkcs11Config, SigningKeyConfig, StateConfig};
use auditchain::engine::error::ErrorKind;
use auditchain::engine::{Engine, hsm};
use auditchain::verify::report::Verdict;
use auditchain::verify::{Options, verify};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const TOKEN: &str = "auditchain-test";
const USER_PIN: &str = "246810";

fn module() -> Option<PathBuf> {
    if let Some(m) = std::env::var_os("AUDITCHAIN_PKCS11_MODULE") {
        return Some(m.into());
    }
    ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A SoftHSM2 token in `dir` with key pairs: `sign-a` and `sign-b`
/// (Ed25519), `p256` (ECDSA P-256).
fn token(dir: &Path, module: &Path) -> PathBuf {
    let conf = dir.join("softhsm2.conf");
    std::fs::create_dir(dir.join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    run(Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN, "--so-pin", "13579", "--pin", USER_PIN])
        .env("SOFTHSM2_CONF", &conf));
    for (label, kind) in [
        ("sign-a", "EC:edwards25519"),
        ("sign-b", "EC:edwards25519"),
        ("p256", "EC:prime256v1"),
        ("mixed", "EC:edwards25519"),
    ] {
        run(&mut pkcs11_tool(module, &conf, &["--keypairgen", "--key-type", kind, "--label", label]));
    }
    conf
}

fn pkcs11_tool(module: &Path, conf: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("pkcs11-tool");
    c.arg("--module").arg(module).args(["--token-label", TOKEN, "--login", "--pin", USER_PIN]).args(args);
    c.env("SOFTHSM2_CONF", conf);
    c
}

fn pin_file(dir: &Path, name: &str, pin: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{pin}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

fn config(state: &Path, p: Pkcs11Config) -> EngineConfig {
    let mut c = EngineConfig::new("hsm-host");
    c.state = StateConfig { directory: Some(state.to_path_buf()), new_stream: false };
    c.signing_key = Some(SigningKeyConfig { pkcs11: Some(p) });
    c.checkpoint.records = 5;
    c
}

fn open_err(state: &Path, p: Pkcs11Config) -> String {
    match Engine::new(config(state, p), T0) {
        Ok(_) => panic!("the engine opened"),
        Err(e) => {
            assert_eq!(e.kind, ErrorKind::Key, "{e}");
            e.message
        }
    }
}

/// A public key object labelled `label` on the token holding another key
/// pair's public key: the token's private key `label` and this public key
/// do not belong together.
fn plant_foreign_public_key(module: &Path, label: &str, public: &[u8; 32]) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    use cryptoki::session::UserType;
    let p = Pkcs11::new(module).unwrap();
    let _ = p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot =
        p.get_slots_with_token().unwrap().into_iter().find(|s| p.get_token_info(*s).unwrap().label() == TOKEN).unwrap();
    let session = p.open_rw_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&USER_PIN.to_string().into()));
    let mut point = vec![0x04, 0x20];
    point.extend_from_slice(public);
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::EcParams(b"\x13\x0cedwards25519".to_vec()),
            Attribute::EcPoint(point),
        ])
        .unwrap();
}

#[test]
fn checkpoints_signed_on_a_token_verify_and_mistakes_name_the_key() {
    let (Some(module), true) = (module(), Command::new("pkcs11-tool").arg("--version").output().is_ok()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have SoftHSM2 and pkcs11-tool (.ci/run installs softhsm2 and opensc)"
        );
        eprintln!("SoftHSM2 or pkcs11-tool not installed (Debian: softhsm2, opensc): PKCS#11 test skipped");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let conf = token(d.path(), &module);
    // SoftHSM reads its configuration when the module is initialised, the
    // first time in this process; this is the only test of the binary.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let pin = pin_file(d.path(), "pin", USER_PIN, 0o600);
    let p11 = |key: &str| Pkcs11Config {
        module: module.clone(),
        token_label: TOKEN.into(),
        key_label: key.into(),
        pin_file: pin.clone(),
    };

    // The public key, as the verifier gets it, and as the CLI prints it.
    let public = hsm::export_public_key(&module, TOKEN, "sign-a", None).unwrap();
    assert!(public.public_key_string().starts_with("sign-a+"), "{}", public.public_key_string());
    let printed = run(Command::new(env!("CARGO_BIN_EXE_auditchain"))
        .args(["pkcs11-pubkey", "--module"])
        .arg(&module)
        .args(["--token-label", TOKEN, "--key-label", "sign-a"])
        .env("SOFTHSM2_CONF", &conf));
    assert_eq!(printed, format!("{}\n", public.public_key_string()));

    // A stream signed on the token, and a second engine on the same token
    // at the same time (the module is shared and already logged in to).
    let (sa, sb) = (d.path().join("state-a"), d.path().join("state-b"));
    let a = Engine::new(config(&sa, p11("sign-a")), T0).unwrap();
    let mut cb = config(&sb, p11("sign-b"));
    cb.stream_name = "hsm-other".into();
    let b = Engine::new(cb, T0).unwrap();
    let mut reqs: Vec<_> =
        (0..4).map(|i| deliver(&a, request((0..3).map(|j| audit_record(i * 3 + j))), T0 + i * SEC)).collect();
    reqs.push(close_delivered(&a, T0 + 5 * SEC));
    let other = vec![deliver(&b, request([audit_record(0)]), T0), close_delivered(&b, T0 + SEC)];
    let notes: Vec<String> = records(&lines(&reqs))
        .iter()
        .filter(|r| event(r) == Some("checkpoint"))
        .map(|r| r["body"]["stringValue"].as_str().unwrap().to_string())
        .collect();
    assert!(notes.len() >= 3, "{} checkpoints", notes.len());
    for n in &notes {
        let note = parse_note(n).unwrap();
        assert_eq!(note.signatures.len(), 1);
        assert_eq!(note.signatures[0].id, public.id);
        assert!(public.verify(&note.text, &note.signatures[0].signature), "{n}");
    }
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "a.jsonl", &lines(&reqs));
    write_lines(out.path(), "b.jsonl", &lines(&other));
    let b_public = hsm::export_public_key(&module, TOKEN, "sign-b", None).unwrap();
    let options =
        Options { verifiers: vec![public.clone(), b_public], as_of_unix_nano: T0 + 6 * SEC, ..Options::default() };
    let report = verify(&[out.path().to_path_buf()], &options);
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
    assert_eq!(report.streams.len(), 2);
    let counts: Vec<u64> = report.streams.iter().map(|s| s.checkpoints).collect();
    assert!(counts.iter().all(|&c| c >= 1) && counts.iter().sum::<u64>() as usize == notes.len() + 1, "{counts:?}");
    // Under another key (b's alone) a's checkpoints are not accepted.
    let b_only =
        Options { verifiers: vec![hsm::export_public_key(&module, TOKEN, "sign-b", None).unwrap()], ..options.clone() };
    assert_eq!(verify(&[out.path().join("a.jsonl")], &b_only).verdict, Verdict::Fail);
    drop((a, b));

    // Rollback detection (SPEC §6.2) reads the checkpoint file under the
    // token's key as under a key file's: an older state.json put back is
    // refused.
    let sr = d.path().join("state-r");
    let mut cr = config(&sr, p11("sign-a"));
    cr.stream_name = "hsm-rollback".into();
    cr.checkpoint.file = Some(d.path().join("checkpoints.jsonl"));
    let r = Engine::new(cr.clone(), T0).unwrap();
    deliver(&r, request((0..5).map(audit_record)), T0 + SEC);
    let state_json = sr.join("hsm-rollback/state.json");
    let older = std::fs::read(&state_json).unwrap();
    deliver(&r, request((5..10).map(audit_record)), T0 + 2 * SEC);
    drop(r);
    std::fs::write(&state_json, older).unwrap();
    match Engine::new(cr, T0 + 3 * SEC) {
        Ok(_) => panic!("an older state.json was accepted"),
        Err(e) => assert!(e.kind == ErrorKind::State && e.message.contains("rollback refused"), "{e}"),
    }

    // Mistakes, each named.
    let s = d.path().join("state-x");
    let loose = pin_file(d.path(), "pin-loose", USER_PIN, 0o644);
    let e = open_err(&s, Pkcs11Config { pin_file: loose, ..p11("sign-a") });
    assert!(e.starts_with("signing_key.pkcs11.pin_file: ") && e.contains("chmod 600"), "{e}");
    let wrong = pin_file(d.path(), "pin-wrong", "000000", 0o600);
    let e = open_err(&s, Pkcs11Config { pin_file: wrong, ..p11("sign-a") });
    assert!(e.starts_with("signing_key.pkcs11.pin_file: cannot log in") && e.contains("PinIncorrect"), "{e}");
    let e = open_err(&s, Pkcs11Config { token_label: "nope".into(), ..p11("sign-a") });
    assert!(e.starts_with("signing_key.pkcs11.token_label: no token labelled \"nope\"") && e.contains(TOKEN), "{e}");
    let e = open_err(&s, p11("missing"));
    assert_eq!(e, "signing_key.pkcs11.key_label: no private key labelled \"missing\" on the token");
    let e = open_err(&s, p11("p256"));
    assert!(e.contains("is a CKK_EC key, not Ed25519"), "{e}");
    let e = open_err(&s, Pkcs11Config { module: d.path().join("no-such-module.so"), ..p11("sign-a") });
    assert!(e.starts_with("signing_key.pkcs11.module: cannot load"), "{e}");
    // A private key whose public key object (same label) is another key's:
    // the token's signature does not verify, and the engine refuses it.
    // Delete the pair's own public key, then plant sign-a's under its label.
    run(&mut pkcs11_tool(&module, &conf, &["--delete-object", "--type", "pubkey", "--label", "mixed"]));
    let e = open_err(&s, p11("mixed"));
    assert!(e.contains("no public key labelled \"mixed\"") || e.contains("no CKA_EC_POINT"), "{e}");
    let a_key: [u8; 32] = {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(public.public_key_string().splitn(3, '+').nth(2).unwrap())
            .unwrap();
        raw[1..].try_into().unwrap()
    };
    plant_foreign_public_key(&module, "mixed", &a_key);
    let e = open_err(&s, p11("mixed"));
    assert!(
        e.contains("does not verify under the public key labelled \"mixed\"") && e.contains("does not match"),
        "{e}"
    );
    assert_eq!(
        NoteVerifier::from_public("mixed", &a_key).unwrap().id,
        hsm::export_public_key(&module, TOKEN, "mixed", None).unwrap().id
    );
}

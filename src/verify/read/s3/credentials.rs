//! AWS credentials and region the way the AWS CLI and SDKs find them:
//! AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then the
//! profile (AWS_PROFILE, else `default`) of the shared credentials file
//! (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and of the config
//! file (AWS_CONFIG_FILE, else ~/.aws/config, section `[profile NAME]` or
//! `[default]`). Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's
//! `region`. Only static keys: profiles that assume roles, SSO or
//! credential_process are refused with what to do instead.

use super::sigv4::Credentials;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The environment, as a function, so that tests need not change the
/// process's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

type Ini = BTreeMap<String, BTreeMap<String, String>>;

/// Sections of an INI file (`[name]`, `key = value`, `#` and `;` comments).
fn parse_ini(text: &str) -> Ini {
    let mut out = Ini::new();
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            out.entry(name.trim().to_string()).or_default();
        } else if let (Some(s), Some((k, v))) = (&section, line.split_once('=')) {
            out.entry(s.clone()).or_default().insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

fn home_file(env: Env, var: &str, default: &str) -> Option<PathBuf> {
    match env(var).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => env("HOME").map(|h| PathBuf::from(h).join(".aws").join(default)),
    }
}

fn read_ini(path: Option<PathBuf>) -> Result<(Ini, String), String> {
    let Some(path) = path else { return Ok((Ini::new(), String::new())) };
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok((parse_ini(&t), path.display().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Ini::new(), path.display().to_string())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The profile's section of each file: `[NAME]` in credentials, `[profile
/// NAME]` (or `[default]`) in config.
struct Profile {
    name: String,
    credentials: BTreeMap<String, String>,
    config: BTreeMap<String, String>,
    files: String,
}

fn profile(env: Env) -> Result<Profile, String> {
    let name = env("AWS_PROFILE").filter(|p| !p.is_empty()).unwrap_or_else(|| "default".into());
    let (creds, creds_path) = read_ini(home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"))?;
    let (config, config_path) = read_ini(home_file(env, "AWS_CONFIG_FILE", "config"))?;
    let config_section = if name == "default" { "default".to_string() } else { format!("profile {name}") };
    Ok(Profile {
        credentials: creds.get(&name).cloned().unwrap_or_default(),
        config: config.get(&config_section).or_else(|| config.get(&name)).cloned().unwrap_or_default(),
        name,
        files: format!("{creds_path}, {config_path}"),
    })
}

/// The credentials to sign with.
pub fn credentials(env: Env) -> Result<Credentials, String> {
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        && !id.is_empty()
    {
        let session_token = env("AWS_SESSION_TOKEN").filter(|t| !t.is_empty());
        return Ok(Credentials { access_key_id: id, secret_access_key: secret, session_token });
    }
    let p = profile(env)?;
    for section in [&p.credentials, &p.config] {
        if let (Some(id), Some(secret)) = (section.get("aws_access_key_id"), section.get("aws_secret_access_key")) {
            let session_token = section.get("aws_session_token").filter(|t| !t.is_empty()).cloned();
            return Ok(Credentials { access_key_id: id.clone(), secret_access_key: secret.clone(), session_token });
        }
    }
    if let Some(k) = ["role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file"]
        .into_iter()
        .find(|k| p.config.contains_key(*k) || p.credentials.contains_key(*k))
    {
        return Err(format!(
            "AWS profile {:?} gets its credentials through {k}, which auditchain does not do; export static or temporary keys \
             first, e.g. eval \"$(aws configure export-credentials --profile {} --format env)\"",
            p.name, p.name
        ));
    }
    Err(format!(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), \
         or aws_access_key_id and aws_secret_access_key in profile {:?} of {}",
        p.name, p.files
    ))
}

/// The region to sign for; S3's default, us-east-1, when none is set.
pub fn region(env: Env) -> Result<String, String> {
    if let Some(r) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).filter(|r| !r.is_empty()) {
        return Ok(r);
    }
    Ok(profile(env)?.config.get("region").cloned().unwrap_or_else(|| "us-east-1".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn environment_first_then_profiles() {
        let d = tempfile::tempdir().unwrap();
        let creds = d.path().join("credentials");
        let config = d.path().join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n# audit\n[audit]\naws_access_key_id=AKIAAUDIT\naws_secret_access_key=s2\naws_session_token=tok\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = eu-west-1\n[profile audit]\nregion=eu-central-2\n[profile sso]\nsso_session = corp\n",
        )
        .unwrap();
        let files =
            [("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()), ("AWS_CONFIG_FILE", config.to_str().unwrap())];

        let e = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "s0"),
            ("AWS_REGION", "ap-south-1"),
            files[0],
            files[1],
        ]);
        assert_eq!(credentials(&e).unwrap().access_key_id, "AKIAENV");
        assert_eq!(region(&e).unwrap(), "ap-south-1");

        let e = env_of(&[files[0], files[1]]);
        let c = credentials(&e).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token), ("AKIADEFAULT", None));
        assert_eq!(region(&e).unwrap(), "eu-west-1");

        let e = env_of(&[("AWS_PROFILE", "audit"), ("AWS_DEFAULT_REGION", ""), files[0], files[1]]);
        let c = credentials(&e).unwrap();
        assert_eq!((c.access_key_id.as_str(), c.session_token.as_deref()), ("AKIAAUDIT", Some("tok")));
        assert_eq!(region(&e).unwrap(), "eu-central-2");

        let e = env_of(&[("AWS_PROFILE", "sso"), files[0], files[1]]);
        assert!(credentials(&e).unwrap_err().contains("through sso_session"));
        let e = env_of(&[("AWS_PROFILE", "nobody"), files[0], files[1]]);
        assert!(credentials(&e).unwrap_err().starts_with("no AWS credentials"));
        assert_eq!(region(&env_of(&[("HOME", "/nonexistent")])).unwrap(), "us-east-1");
        // ~/.aws when the variables are unset.
        std::fs::create_dir(d.path().join(".aws")).unwrap();
        std::fs::copy(&creds, d.path().join(".aws/credentials")).unwrap();
        let e = env_of(&[("HOME", d.path().to_str().unwrap())]);
        assert_eq!(credentials(&e).unwrap().access_key_id, "AKIADEFAULT");
    }
}

//! Reading the archive straight from S3 (or an S3-compatible store):
//! `s3://bucket/prefix` is listed with ListObjectsV2 (every page) and each
//! object read with GetObject, like the files of a local directory, in key
//! order. The awss3exporter's keys
//! (`<prefix>/year=%Y/month=%m/day=%d/hour=%H/minute=%M/<file_prefix>logs_<random>.json[.gz]`)
//! sort by time. Object Lock retention and legal hold are read back from
//! GetObject's `x-amz-object-lock-*` headers, or asked for
//! (GetObjectRetention, GetObjectLegalHold) when the headers are absent.
//!
//! Requests are signed with SigV4 in headers ([`sigv4`]); credentials and
//! region come from the standard AWS variables and files ([`credentials`]).

pub mod credentials;
pub mod sigv4;

use serde::Serialize;
use sigv4::Credentials;
use std::io::Read;
use std::time::Duration;

/// Objects larger than this are refused rather than read into memory.
const MAX_OBJECT_BYTES: u64 = 1 << 30;

/// How to reach the store.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); default AWS S3
    /// in the region, or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
    pub endpoint_url: Option<String>,
    /// Read back each object's retention and legal hold.
    pub retention: bool,
    /// Keys per ListObjectsV2 page (S3's default, 1000, when unset).
    pub max_keys: Option<u32>,
}

/// `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Empty, or ending with '/': a prefix is read like a directory.
    pub prefix: String,
}

impl Location {
    pub fn parse(url: &str) -> Result<Location, String> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url}: not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty()
            || !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        {
            return Err(format!("{url}: {bucket:?} is not an S3 bucket name"));
        }
        let mut prefix = prefix.to_string();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Location { bucket: bucket.to_string(), prefix })
    }
}

/// Object Lock state of one object, as the store reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// `GOVERNANCE` or `COMPLIANCE`; none when the object has no retention.
    pub mode: Option<String>,
    /// RFC 3339, as S3 gives it.
    pub retain_until: Option<String>,
    /// `ON` or `OFF`.
    pub legal_hold: Option<String>,
    /// Why something could not be read back (e.g. access denied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One object read.
pub struct Object {
    /// The object's bytes, gunzipped when they are gzip.
    pub bytes: Vec<u8>,
    pub retention: Option<Retention>,
}

/// A listed object.
#[derive(Clone, Debug)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// A response: the status, the headers asked for, and the body.
type Response = (u16, Vec<Option<String>>, Vec<u8>);

/// A client for one bucket.
pub struct Bucket {
    agent: ureq::Agent,
    creds: Credentials,
    region: String,
    /// `https://host[:port]` (no path).
    origin: String,
    /// Host header value.
    host: String,
    /// Path before the key: `/bucket` (path style) or empty (virtual host).
    base_path: String,
    pub location: Location,
}

/// An S3 error response, short: status, code and message.
fn error_text(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let doc = roxmltree::Document::parse(&text).ok();
    let field = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_string))
    };
    match (field("Code"), field("Message")) {
        (Some(c), Some(m)) => format!("HTTP {status} {c}: {m}"),
        (Some(c), None) => format!("HTTP {status} {c}"),
        _ => format!("HTTP {status}"),
    }
}

impl Bucket {
    /// A client for `location` with the credentials and region of `env`.
    pub fn new(location: Location, config: &Config, env: credentials::Env) -> Result<Bucket, String> {
        let creds = credentials::credentials(env)?;
        let region = credentials::region(env)?;
        let endpoint = config
            .endpoint_url
            .clone()
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .filter(|e| !e.is_empty());
        let (origin, base_path, host) = match endpoint {
            // Any other store: path style, which S3-compatible servers take.
            Some(e) => {
                let e = e.trim_end_matches('/');
                let (scheme, rest) = e
                    .split_once("://")
                    .ok_or_else(|| format!("--endpoint-url {e}: expected http://HOST[:PORT] or https://…"))?;
                if !matches!(scheme, "http" | "https") || rest.is_empty() {
                    return Err(format!("--endpoint-url {e}: expected http://HOST[:PORT] or https://…"));
                }
                let (authority, path) =
                    rest.split_once('/').map_or((rest, String::new()), |(a, p)| (a, format!("/{p}")));
                let host = match (scheme, authority.rsplit_once(':')) {
                    ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
                    _ => authority.to_string(),
                };
                (format!("{scheme}://{authority}"), format!("{path}/{}", location.bucket), host)
            }
            // AWS: virtual-hosted style; path style for names with dots,
            // which do not match the TLS certificate's wildcard.
            None if location.bucket.contains('.') => {
                let host = format!("s3.{region}.amazonaws.com");
                (format!("https://{host}"), format!("/{}", location.bucket), host)
            }
            None => {
                let host = format!("{}.s3.{region}.amazonaws.com", location.bucket);
                (format!("https://{host}"), String::new(), host)
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        Ok(Bucket { agent, creds, region, origin, host, base_path, location })
    }

    /// A signed GET of `path` (encoded) with `params`: the status, the
    /// headers asked for, and the body.
    fn get(&self, path: &str, params: &[(&str, &str)], want: &[&str]) -> Result<Response, String> {
        let query = sigv4::query_string(params);
        let amz_date = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
        let path = if path.is_empty() { "/" } else { path };
        let headers = sigv4::sign_get(&self.creds, &self.region, &self.host, path, &query, &amz_date);
        let url =
            if query.is_empty() { format!("{}{path}", self.origin) } else { format!("{}{path}?{query}", self.origin) };
        let mut req = self.agent.get(&url);
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let mut resp = req.call().map_err(|e| format!("{}: {e}", self.origin))?;
        let status = resp.status().as_u16();
        let found =
            want.iter().map(|h| resp.headers().get(*h).and_then(|v| v.to_str().ok()).map(str::to_string)).collect();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_OBJECT_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the response: {e}"))?;
        if body.len() as u64 > MAX_OBJECT_BYTES {
            return Err(format!("larger than {MAX_OBJECT_BYTES} bytes: not read"));
        }
        Ok((status, found, body))
    }

    /// The URL naming an object in reports.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.location.bucket)
    }

    /// Every object under the prefix, in key order, all pages.
    pub fn list(&self, max_keys: Option<u32>) -> Result<Vec<Listed>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let max = max_keys.map(|m| m.to_string());
        loop {
            let mut params = vec![("list-type", "2"), ("prefix", self.location.prefix.as_str())];
            if let Some(t) = &token {
                params.push(("continuation-token", t.as_str()));
            }
            if let Some(m) = &max {
                params.push(("max-keys", m.as_str()));
            }
            let (status, _, body) = self.get(&self.base_path, &params, &[])?;
            if status != 200 {
                return Err(format!("ListObjectsV2: {}", error_text(status, &body)));
            }
            let text = String::from_utf8(body).map_err(|_| "ListObjectsV2: the response is not UTF-8".to_string())?;
            let doc = roxmltree::Document::parse(&text)
                .map_err(|e| format!("ListObjectsV2: the response is not XML: {e}"))?;
            let root = doc.root_element();
            for c in root.children().filter(|c| c.has_tag_name("Contents")) {
                let key = child(c, "Key").ok_or("ListObjectsV2: an entry without a Key")?.to_string();
                let size = child(c, "Size").and_then(|s| s.parse().ok()).unwrap_or(0);
                if !key.ends_with('/') {
                    out.push(Listed { key, size });
                }
            }
            match (child(root, "IsTruncated"), child(root, "NextContinuationToken")) {
                (Some("true"), Some(t)) => token = Some(t.to_string()),
                (Some("true"), None) => return Err("ListObjectsV2: truncated without a continuation token".into()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Reads one object; with `retention`, also its Object Lock state.
    pub fn read(&self, key: &str, retention: bool) -> Result<Object, String> {
        const LOCK: [&str; 3] =
            ["x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"];
        let path = format!("{}/{}", self.base_path, sigv4::uri_encode(key, true));
        let (status, lock, body) = self.get(&path, &[], &LOCK)?;
        if status != 200 {
            return Err(format!("GetObject: {}", error_text(status, &body)));
        }
        let retention = retention.then(|| {
            let mut r = Retention {
                mode: lock[0].clone(),
                retain_until: lock[1].clone(),
                legal_hold: lock[2].clone(),
                problem: None,
            };
            // The headers come only with s3:GetObjectRetention and
            // s3:GetObjectLegalHold: without them, ask, so that "none" is
            // never a guess.
            if r.mode.is_none() {
                self.ask(&path, "retention", &mut r);
            }
            if r.legal_hold.is_none() {
                self.ask(&path, "legal-hold", &mut r);
            }
            r
        });
        Ok(Object { bytes: gunzip(body)?, retention })
    }

    /// GetObjectRetention (`?retention`) or GetObjectLegalHold (`?legal-hold`).
    fn ask(&self, path: &str, what: &str, r: &mut Retention) {
        let (status, body) = match self.get(path, &[(what, "")], &[]) {
            Ok((s, _, b)) => (s, b),
            Err(e) => {
                r.problem = Some(format!("{what}: {e}"));
                return;
            }
        };
        let text = String::from_utf8_lossy(&body);
        let field = |name: &str| {
            roxmltree::Document::parse(&text)
                .ok()
                .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)).and_then(|n| n.text()).map(str::to_string))
        };
        match (status, what) {
            (200, "retention") => (r.mode, r.retain_until) = (field("Mode"), field("RetainUntilDate")),
            (200, _) => r.legal_hold = field("Status"),
            // No lock configuration on the object: none, for certain.
            (404, _) if matches!(field("Code").as_deref(), Some("NoSuchObjectLockConfiguration")) => {}
            _ => r.problem = Some(format!("{what}: {}", error_text(status, &body))),
        }
    }
}

/// The text of `n`'s child element `name`.
fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    n.children().find(|c| c.has_tag_name(name)).and_then(|c| c.text())
}

/// Gunzips bytes that start with the gzip magic, as for local files.
fn gunzip(raw: Vec<u8>) -> Result<Vec<u8>, String> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| format!("gzip: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let l = Location::parse("s3://audit-archive/otel/audit").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("audit-archive", "otel/audit/"));
        assert_eq!(Location::parse("s3://b").unwrap().prefix, "");
        assert_eq!(Location::parse("s3://b/p/").unwrap().prefix, "p/");
        assert!(Location::parse("s3://Bad_Bucket/x").is_err());
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("/local/path").is_err());
    }

    #[test]
    fn error_responses_name_code_and_message() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(error_text(403, body), "HTTP 403 AccessDenied: Access Denied");
        assert_eq!(error_text(500, b"oops"), "HTTP 500");
    }
}

//! AWS Signature Version 4 for S3 requests, signed in headers (the
//! `Authorization` header, as the AWS SDKs and CLI send it): a GET with an
//! empty payload, its path and query percent-encoded the one way SigV4
//! defines, so that the URL sent and the request signed are the same bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// SHA-256 of the empty payload of a GET.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An access key, with the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "Credentials({}, session token: {})", self.access_key_id, self.session_token.is_some())
    }
}

/// SigV4's URI encoding: unreserved characters as they are, every other
/// byte as %XY (upper case); '/' kept in paths.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string, encoded and sorted as SigV4 canonicalises it (and as
/// it is sent).
pub fn query_string(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (uri_encode(k, false), uri_encode(v, false))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The headers that sign `GET <path>?<query>` to `host` (as the Host
/// header carries it: with the port unless it is the scheme's default) at
/// `amz_date` (`YYYYMMDDTHHMMSSZ`, UTC): x-amz-date,
/// x-amz-content-sha256, x-amz-security-token (temporary credentials)
/// and authorization. `path` and `query` are already encoded.
pub fn sign_get(
    creds: &Credentials,
    region: &str,
    host: &str,
    path: &str,
    query: &str,
    amz_date: &str,
) -> Vec<(&'static str, String)> {
    let date = &amz_date[..8];
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.to_string()),
        ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
        ("x-amz-date", amz_date.to_string()),
    ];
    if let Some(t) = &creds.session_token {
        headers.push(("x-amz-security-token", t.clone()));
    }
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical_request = format!("GET\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{EMPTY_SHA256}");
    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical_request.as_bytes())));
    let mut key = hmac(format!("AWS4{}", creds.secret_access_key).as_bytes(), date);
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex(&hmac(&key, &string_to_sign));
    headers.retain(|(k, _)| *k != "host");
    headers.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(str::to_string),
        }
    }

    fn authorization(h: &[(&str, String)]) -> String {
        h.iter().find(|(k, _)| *k == "authorization").unwrap().1.clone()
    }

    #[test]
    fn encoding_is_sigv4s() {
        assert_eq!(uri_encode("audit/year=2026/a b+c~_.-", true), "audit/year%3D2026/a%20b%2Bc~_.-");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("é", false), "%C3%A9");
        assert_eq!(query_string(&[("prefix", "a/b="), ("list-type", "2")]), "list-type=2&prefix=a%2Fb%3D");
    }

    // Signatures computed by botocore's S3SigV4Auth (botocore 1.44.8, the
    // implementation moto's server checks requests with) for the same
    // requests, credentials and time.
    #[test]
    fn signatures_match_botocore() {
        let list = sign_get(
            &creds(None),
            "us-east-1",
            "127.0.0.1:9000",
            "/audit-bucket",
            &query_string(&[("list-type", "2"), ("prefix", "audit/"), ("continuation-token", "1ueGc+/x==")]),
            "20261122T040000Z",
        );
        assert_eq!(authorization(&list), BOTOCORE_LIST);
        let get = sign_get(
            &creds(Some("FwoGZXIvYXdzEXAMPLETOKEN")),
            "eu-west-1",
            "audit-bucket.s3.eu-west-1.amazonaws.com",
            &uri_encode("/audit/year=2026/month=11/day=22/hour=04/minute=00/logs_123.json.gz", true),
            "",
            "20261122T040000Z",
        );
        assert_eq!(authorization(&get), BOTOCORE_GET);
        assert!(get.iter().any(|(k, v)| *k == "x-amz-security-token" && v == "FwoGZXIvYXdzEXAMPLETOKEN"));
        assert!(!format!("{:?}", creds(None)).contains("EXAMPLEKEY"), "Debug never shows the secret");
    }

    const BOTOCORE_LIST: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/s3/aws4_request, \
        SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
        Signature=8b36c79a85db4488ed59cd7acf16b8eab338af3050f4c9b4836296051eb9b4ef";
    const BOTOCORE_GET: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/s3/aws4_request, \
        SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
        Signature=19350caadad7f4c80961c29830c3fc1e0b459271573e961d5eb56e6f5f09c46a";
}

//! `auditchain verify s3://…`: the S3 flags, and `--show-retention`'s table
//! of each object's Object Lock state in human output (the JSON report
//! carries it as `objects`).

use super::{Error, VerifyArgs};
use auditchain::verify::read::s3;
use auditchain::verify::report::Report;
use std::io::Write;

pub fn s3_config(args: &VerifyArgs) -> Result<s3::Config, Error> {
    let any_s3 = args.paths.iter().any(|p| p.to_string_lossy().starts_with("s3://"));
    if !any_s3 && (args.show_retention || args.endpoint_url.is_some()) {
        return Err("--show-retention and --endpoint-url apply to s3://BUCKET/PREFIX inputs, and none was given".into());
    }
    Ok(s3::Config {
        endpoint_url: args.endpoint_url.clone(),
        retention: args.show_retention,
        max_keys: args.s3_max_keys,
    })
}

pub fn render(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    if report.objects.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Object Lock retention ({} objects):", report.objects.len())?;
    for o in &report.objects {
        let r = &o.retention;
        let mode = match (&r.mode, &r.retain_until) {
            (Some(m), Some(u)) => format!("{m} until {u}"),
            (Some(m), None) => m.clone(),
            (None, _) => "no retention".into(),
        };
        let hold = match r.legal_hold.as_deref() {
            Some("ON") => "legal hold ON",
            Some(_) => "legal hold OFF",
            None => "no legal hold",
        };
        let problem = r.problem.as_deref().map(|p| format!(" (not read back: {p})")).unwrap_or_default();
        writeln!(out, "  {}  {mode}, {hold}{problem}", o.object)?;
    }
    Ok(())
}

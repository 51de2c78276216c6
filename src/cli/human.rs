//! The human form of a verification report: one line per stream with its
//! verdict, its findings indented below, a summary last.

use auditchain::verify::report::{Finding, Kind, Location, LogReport, Report, Severity, StreamReport, Verdict};
use std::io::{self, Write};

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn verdict(&self, v: Verdict) -> String {
        match v {
            Verdict::Pass => self.paint("1;32", "ok  "),
            Verdict::Fail => self.paint("1;31", "FAIL"),
            Verdict::Incomplete => self.paint("1;33", "????"),
        }
    }
    fn severity(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.paint("31", "error  "),
            Severity::Warning => self.paint("33", "warning"),
            Severity::Info => self.paint("36", "info   "),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn location(l: &Location) -> String {
    format!("{}:{} #{}", l.file, l.line, l.record)
}

fn summary(s: &StreamReport) -> String {
    if s.records == 0 {
        return "no records".into();
    }
    let missing: u64 = s.missing.iter().map(|[a, b]| b - a + 1).sum();
    let from = s.window.as_ref().map_or(s.first_sequence.min(1), |w| w.from_sequence);
    let mut parts = vec![format!("records {from}..{}", s.last_sequence)];
    parts.push(if missing == 0 { "all present".into() } else { format!("{} present, {} missing", s.records, missing) });
    if s.duplicates > 0 {
        parts.push(format!("{} (benign)", plural(s.duplicates, "duplicate", "duplicates")));
    }
    if s.ended {
        parts.push("ended".into());
    }
    parts.join(", ")
}

fn finding(out: &mut impl Write, st: &Style, f: &Finding) -> io::Result<()> {
    write!(out, "      {}  {}", st.severity(f.severity), f.message)?;
    match f.locations.len() {
        0 => {}
        1 => write!(out, "  ({})", location(&f.locations[0]))?,
        n => write!(out, "  ({} and {} more)", location(&f.locations[0]), n - 1)?,
    }
    writeln!(out)
}

/// One line per transparency log: its size, newest checkpoint, who
/// cosigned it and whether the policy's quorum is met.
fn log_summary(l: &LogReport) -> String {
    let mut parts = vec![format!("size {}, {} present", l.size, plural(l.leaves, "leaf", "leaves"))];
    parts.push(plural(l.checkpoints, "checkpoint", "checkpoints"));
    if let Some(n) = &l.newest_checkpoint {
        let mut newest = format!("newest: size {}", n.size);
        if let Some(t) = &n.time {
            newest.push_str(&format!(" at {t}"));
        }
        if !n.cosigned_by.is_empty() {
            newest.push_str(&format!(", cosigned by {}", n.cosigned_by.join(", ")));
        }
        match n.quorum {
            Some(true) => newest.push_str(" (quorum met)"),
            Some(false) => newest.push_str(" (quorum NOT met)"),
            None => {}
        }
        parts.push(newest);
    }
    if let Some(w) = l.witnessed_size {
        parts.push(format!("witnessed through size {w}"));
    }
    parts.join(", ")
}

/// The window asked for (SPEC §8.19), when one was.
fn window(out: &mut impl Write, r: &Report) -> io::Result<()> {
    if let Some(w) = &r.window {
        let mut parts = Vec::new();
        if let Some(s) = &w.since {
            parts.push(format!("since {s}"));
        }
        if let Some(u) = &w.until {
            parts.push(format!("until {u}"));
        }
        if !w.streams.is_empty() {
            parts.push(format!("streams {}", w.streams.join(", ")));
        }
        writeln!(out, "window: {} (by the time of the signed checkpoints)", parts.join(", "))?;
    }
    Ok(())
}

pub fn render(out: &mut impl Write, r: &Report, color: bool, verbose: bool) -> io::Result<()> {
    let st = Style { color };
    window(out, r)?;
    let mut plain = 0u64;
    // A stream of a witnessed log needs no key for what the note warns of:
    // the witnesses' cosigned roots show a rewrite or a deleted tail.
    let witnessed: std::collections::HashSet<&str> = r
        .logs
        .iter()
        .filter(|l| l.witnessed_size.is_some())
        .flat_map(|l| l.streams.iter().map(String::as_str))
        .collect();
    for s in &r.streams {
        let algorithm = s.algorithm.as_deref().unwrap_or("known only from checkpoint lines");
        writeln!(
            out,
            "{}  {}  {}  [{}, {algorithm}]",
            st.verdict(s.verdict),
            st.paint("1", &s.stream_id),
            summary(s),
            s.signal.name(),
        )?;
        if let Some(w) = &s.window {
            let outside = match (w.before, w.after) {
                (0, 0) => String::new(),
                (b, a) => format!(" ({b} records before and {a} after it among the inputs, not verified)"),
            };
            writeln!(out, "      window: {}{outside}", w.description)?;
        }
        for f in &s.findings {
            if f.kind == Kind::PlainChain {
                plain += u64::from(!witnessed.contains(s.stream_id.as_str()));
                continue;
            }
            if f.severity == Severity::Info && !verbose {
                continue;
            }
            finding(out, &st, f)?;
        }
    }
    for l in &r.logs {
        writeln!(out, "{}  log {}  {}", st.verdict(l.verdict), st.paint("1", &l.origin), log_summary(l))?;
        if let Some(w) = &l.window {
            writeln!(out, "      window: {}", w.description)?;
        }
        for f in &l.findings {
            if f.severity == Severity::Info && !verbose {
                continue;
            }
            finding(out, &st, f)?;
        }
    }
    if !r.findings.is_empty() {
        let failed = r.findings.iter().any(|f| f.severity == Severity::Error);
        writeln!(
            out,
            "{}  records outside any stream",
            st.verdict(if failed { Verdict::Fail } else { Verdict::Pass })
        )?;
        for f in &r.findings {
            finding(out, &st, f)?;
        }
    }
    if !r.errors.is_empty() {
        let unreadable = if r.inputs.unreadable > 0 {
            format!(" ({} unreadable)", plural(r.inputs.unreadable, "value", "values"))
        } else {
            String::new()
        };
        writeln!(out, "{}{unreadable}", st.paint("1;31", "input errors, nothing vouches for what they hide:"))?;
        let shown = if verbose { r.errors.len() } else { 20 };
        for e in r.errors.iter().take(shown) {
            match e.line {
                Some(l) => writeln!(out, "      {}:{l}: {}", e.file, e.message)?,
                None => writeln!(out, "      {}: {}", e.file, e.message)?,
            }
        }
        if r.errors.len() > shown {
            writeln!(out, "      ... and {} more (--verbose, or --format json, lists all)", r.errors.len() - shown)?;
        }
    }
    if plain > 0 {
        writeln!(
            out,
            "{}: {} the unkeyed SHA-256 chain: it detects edits, deletions and reordering inside a stream, but not a rewrite of the whole store nor the deletion of a stream's newest records; configure key_file and signing_key_file (or witnesses) for that",
            st.paint("33", "note"),
            if plain == 1 { "1 stream uses".to_string() } else { format!("{plain} streams use") }
        )?;
    }
    let failed = r.streams.iter().filter(|s| s.verdict == Verdict::Fail).count();
    let verdict = match r.verdict {
        Verdict::Fail => st.paint("1;31", "FAILED"),
        Verdict::Incomplete => st.paint("1;31", "INCOMPLETE"),
        Verdict::Pass => st.paint("1;32", "verified"),
    };
    writeln!(
        out,
        "{verdict}: {}, {} in {}{}",
        plural(r.streams.len() as u64, "stream", "streams"),
        plural(r.inputs.records, "record", "records"),
        plural(r.inputs.files, "file", "files"),
        if failed > 0 { format!("; {failed} failed") } else { String::new() }
    )
}

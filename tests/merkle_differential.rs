//! Differential test of src/core/merkle against an independent RFC 6962
//! implementation: golang.org/x/mod/sumdb/tlog (the Go checksum database's
//! tree code), driven by tests/merkle/main.go (its own module, pinned).
//! Leaf hashes, the root of every prefix, inclusion and consistency proofs
//! must be byte-identical; tlog's checkers must accept our proofs and
//! refuse them with one bit flipped.
//!
//! Every tree up to 64 leaves with every proof in it, then random trees (a fixed
//! seed: the same cases every run) around powers of two and up to 3000
//! leaves. The Go program is built by this test with the Go toolchain
//! (`AUDITCHAIN_TLOGREF=<binary>` to use a built one).

use auditchain::core::merkle::{
    CompactRange, Hash, MemoryStore, Tree, leaf_hash, verify_consistency, verify_inclusion,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

mod support;
use support::tlogref::tlogref;

/// splitmix64: a fixed, dependency-free stream of test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn b64_list(hs: &[Hash]) -> Value {
    Value::Array(hs.iter().map(|h| Value::String(B64.encode(h))).collect())
}

fn decode_list(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()).collect()
}

/// One tree and the questions asked of it.
struct Case {
    leaves: Vec<Vec<u8>>,
    inclusion: Vec<(u64, u64)>,
    consistency: Vec<(u64, u64)>,
}

fn random_leaves(rng: &mut Rng, n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|_| (0..rng.below(40)).map(|_| rng.next() as u8).collect()).collect()
}

fn cases() -> Vec<Case> {
    let mut rng = Rng(0x6175_6469_7463_6861);
    let mut out = Vec::new();
    for n in 0..=64u64 {
        let leaves = random_leaves(&mut rng, n);
        let inclusion = (0..n).map(|i| (i, n)).collect();
        let consistency = (1..=n).map(|m| (m, n)).collect();
        out.push(Case { leaves, inclusion, consistency });
    }
    let mut sizes: Vec<u64> = (7..=11).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]).collect();
    sizes.extend((0..24).map(|_| 65 + rng.below(3000 - 65)));
    for n in sizes {
        let leaves = random_leaves(&mut rng, n);
        let mut inclusion = Vec::new();
        let mut consistency = Vec::new();
        for _ in 0..40 {
            let size = 1 + rng.below(n);
            inclusion.push((rng.below(size), size));
            consistency.push((1 + rng.below(size), size));
        }
        inclusion.push((n - 1, n));
        consistency.push((n - 1, n));
        out.push(Case { leaves, inclusion, consistency });
    }
    out
}

/// A proof given to tlog's checker: which question, the proof, and
/// whether it is ours (true) or ours with a bit flipped (false).
type Check = (usize, Vec<Hash>, bool);

struct Ours {
    leaf_hashes: Vec<Hash>,
    roots: Vec<Hash>,
    inclusion: Vec<Vec<Hash>>,
    consistency: Vec<Vec<Hash>>,
    check_inclusion: Vec<Check>,
    check_consistency: Vec<Check>,
}

fn ours(c: &Case) -> Ours {
    let leaf_hashes: Vec<Hash> = c.leaves.iter().map(|l| leaf_hash(l)).collect();
    let mut tree = Tree::new(MemoryStore::new()).unwrap();
    let mut roots = vec![tree.root()];
    for h in &leaf_hashes {
        tree.append(h).unwrap();
        roots.push(tree.root());
    }
    // The store gives the same prefix roots as the growing compact range.
    for (n, r) in roots.iter().enumerate() {
        assert_eq!(tree.root_at(n as u64).unwrap(), *r);
    }
    let inclusion: Vec<Vec<Hash>> = c.inclusion.iter().map(|&(i, n)| tree.inclusion_proof(i, n).unwrap()).collect();
    let consistency: Vec<Vec<Hash>> =
        c.consistency.iter().map(|&(m, n)| tree.consistency_proof(m, n).unwrap()).collect();
    Ours {
        check_inclusion: with_flipped(&inclusion),
        check_consistency: with_flipped(&consistency),
        leaf_hashes,
        roots,
        inclusion,
        consistency,
    }
}

/// Every proof, each followed by a copy with one bit flipped (not for
/// empty proofs).
fn with_flipped(proofs: &[Vec<Hash>]) -> Vec<Check> {
    let mut out = Vec::new();
    for (k, p) in proofs.iter().enumerate() {
        out.push((k, p.clone(), true));
        if !p.is_empty() {
            let mut bad = p.clone();
            let at = (k * 7919) % (p.len() * 32);
            bad[at / 32][at % 32] ^= 1 << (k % 8);
            out.push((k, bad, false));
        }
    }
    out
}

fn request(c: &Case, o: &Ours) -> Value {
    let inc: Vec<Value> = o
        .check_inclusion
        .iter()
        .map(|(k, p, _)| json!({"index": c.inclusion[*k].0, "size": c.inclusion[*k].1, "proof": b64_list(p)}))
        .collect();
    let con: Vec<Value> = o
        .check_consistency
        .iter()
        .map(|(k, p, _)| json!({"old": c.consistency[*k].0, "size": c.consistency[*k].1, "proof": b64_list(p)}))
        .collect();
    json!({
        "leaves": c.leaves.iter().map(|l| B64.encode(l)).collect::<Vec<_>>(),
        "inclusion": c.inclusion, "consistency": c.consistency,
        "check_inclusion": inc, "check_consistency": con,
    })
}

fn verdicts(v: &Value) -> Vec<bool> {
    v.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect()
}

#[test]
fn agrees_with_golang_sumdb_tlog() {
    let cases = cases();
    let answers: Vec<Ours> = cases.iter().map(ours).collect();
    let trees: Vec<Value> = cases.iter().zip(&answers).map(|(c, o)| request(c, o)).collect();
    let mut child = Command::new(tlogref()).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(json!({ "trees": trees }).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "tlogref failed");
    let go: Value = serde_json::from_slice(&out.stdout).unwrap();
    let go = go["trees"].as_array().unwrap();
    assert_eq!(go.len(), cases.len());

    let (mut roots_n, mut inc_n, mut con_n, mut checks_n) = (0, 0, 0, 0);
    for ((c, o), g) in cases.iter().zip(&answers).zip(go) {
        let n = c.leaves.len();
        assert_eq!(decode_list(&g["leaf_hashes"]), o.leaf_hashes, "leaf hashes, tree of {n}");
        assert_eq!(decode_list(&g["roots"]), o.roots, "roots, tree of {n}");
        assert_eq!(CompactRange::from_leaves(&o.leaf_hashes).unwrap().root().unwrap(), o.roots[n]);
        roots_n += o.roots.len();
        for ((&(i, size), p), gp) in c.inclusion.iter().zip(&o.inclusion).zip(g["inclusion"].as_array().unwrap()) {
            assert_eq!(&decode_list(gp), p, "inclusion of {i} in {size}, tree of {n}");
            inc_n += 1;
        }
        for ((&(m, size), p), gp) in c.consistency.iter().zip(&o.consistency).zip(g["consistency"].as_array().unwrap())
        {
            assert_eq!(&decode_list(gp), p, "consistency {m} to {size}, tree of {n}");
            con_n += 1;
        }
        // tlog accepts our proofs and refuses the flipped ones; so do we.
        for ((k, p, good), go_ok) in o.check_inclusion.iter().zip(verdicts(&g["check_inclusion"])) {
            let (i, size) = c.inclusion[*k];
            let ours_ok = verify_inclusion(i, size, &o.leaf_hashes[i as usize], p, &o.roots[size as usize]).is_ok();
            assert_eq!((go_ok, ours_ok), (*good, *good), "inclusion of {i} in {size}, tree of {n}");
            checks_n += 1;
        }
        for ((k, p, good), go_ok) in o.check_consistency.iter().zip(verdicts(&g["check_consistency"])) {
            let (m, size) = c.consistency[*k];
            let ours_ok = verify_consistency(m, size, p, &o.roots[m as usize], &o.roots[size as usize]).is_ok();
            assert_eq!((go_ok, ours_ok), (*good, *good), "consistency {m} to {size}, tree of {n}");
            checks_n += 1;
        }
        assert_eq!(verdicts(&g["check_inclusion"]).len(), o.check_inclusion.len());
        assert_eq!(verdicts(&g["check_consistency"]).len(), o.check_consistency.len());
    }
    println!(
        "differential: {} trees, {roots_n} roots, {inc_n} inclusion and {con_n} consistency proofs identical to tlog's; \
         {checks_n} verdicts of tlog's checkers agreed with ours",
        cases.len()
    );
    assert!(inc_n > 3500 && con_n > 3500, "{inc_n} {con_n}");
}

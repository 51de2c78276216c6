//! The Merkle module (src/core/merkle) against the transparency-dev/merkle
//! test vectors (tests/vectors/merkle, see its README) and by property:
//! append/root/proof round trips, pruning, merging compact ranges, and
//! that any one-byte change of a proof, leaf or root fails verification.

use auditchain::core::merkle::{
    CompactRange, EMPTY_ROOT, Extension, Hash, MemoryStore, NodeId, ProofError, Tree, leaf_hash, root_of,
    verify_consistency, verify_inclusion,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use proptest::prelude::*;
use serde_json::Value;
use sha2::Digest as _;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(json_files(&p));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A Go `[]byte` in JSON: base64, or null for none.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => B64.decode(s).unwrap(),
        other => panic!("not base64: {other}"),
    }
}

/// A hash, or `None` when the vector's bytes are not 32 long: our API takes
/// `[u8; 32]`, so such a vector is refused before any verification.
fn hash(v: &Value) -> Option<Hash> {
    bytes(v).try_into().ok()
}

/// For the few probes that must pass although a root is not 32 bytes
/// (equal sizes and equal "roots" such as base64 of "don't care 2"): the
/// same probe with each such value replaced by its SHA-256, which keeps
/// equal values equal.
fn hash_or_digest(v: &Value) -> Hash {
    let b = bytes(v);
    b.clone().try_into().unwrap_or_else(|_| sha2::Sha256::digest(&b).into())
}

fn hashes(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::Array(a) => a.iter().map(hash).collect(),
        other => panic!("not a list: {other}"),
    }
}

#[derive(Default, Debug)]
struct Tally {
    passed: usize,
    /// Passed after [`hash_or_digest`] (the probe has a root of another length).
    passed_with_digested_roots: usize,
    rejected_by_verification: usize,
    rejected_by_type: usize,
}

/// Runs one kind of probe; `check` gives `None` when a field is not a
/// 32-byte hash, else the verification result; `digested` verifies with
/// [`hash_or_digest`] roots.
fn probes(
    kind: &str,
    check: impl Fn(&Value) -> Option<Result<(), ProofError>>,
    digested: impl Fn(&Value) -> Result<(), ProofError>,
) -> Tally {
    let mut t = Tally::default();
    let files = json_files(&vectors().join(kind));
    assert!(files.len() >= 90, "{kind}: only {} vectors", files.len());
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        match (check(&v), want_err) {
            (Some(Ok(())), false) => t.passed += 1,
            (Some(Err(_)), true) => t.rejected_by_verification += 1,
            (None, true) => t.rejected_by_type += 1,
            (None, false) if digested(&v).is_ok() => t.passed_with_digested_roots += 1,
            (got, _) => panic!("{}: {}: wantErr {want_err}, got {got:?}", f.display(), v["desc"]),
        }
    }
    println!("{kind}: {t:?}");
    t
}

#[test]
fn transparency_dev_inclusion_probes() {
    let t = probes(
        "inclusion",
        |v| {
            let (leaf, root, proof) = (hash(&v["leafHash"])?, hash(&v["root"])?, hashes(&v["proof"])?);
            let (index, size) = (v["leafIdx"].as_u64().unwrap(), v["treeSize"].as_u64().unwrap());
            Some(verify_inclusion(index, size, &leaf, &proof, &root))
        },
        |_| Err(ProofError::EmptyProof),
    );
    assert!(t.passed >= 5 && t.rejected_by_verification >= 60, "{t:?}");
}

#[test]
fn transparency_dev_consistency_probes() {
    let t = probes(
        "consistency",
        |v| {
            let (root1, root2, proof) = (hash(&v["root1"])?, hash(&v["root2"])?, hashes(&v["proof"])?);
            let (size1, size2) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
            Some(verify_consistency(size1, size2, &proof, &root1, &root2))
        },
        |v| {
            let (size1, size2) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
            let proof = hashes(&v["proof"]).unwrap();
            verify_consistency(size1, size2, &proof, &hash_or_digest(&v["root1"]), &hash_or_digest(&v["root2"]))
        },
    );
    assert!(t.passed >= 5 && t.rejected_by_verification >= 60, "{t:?}");
}

fn hex_hash(v: &Value) -> Hash {
    auditchain::core::hex::from_hex(v.as_str().unwrap()).unwrap()
}

fn hex_list(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hex_hash).collect()
}

/// testonly/constants.go's tree of 8 leaves and proofgen's proof tables:
/// what our generation (not only verification) must produce.
#[test]
fn transparency_dev_reference_tree() {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(vectors().join("reference-tree.json")).unwrap()).unwrap();
    let leaves: Vec<Vec<u8>> = v["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| auditchain::core::hex::decode_hex(l.as_str().unwrap()).unwrap())
        .collect();
    let mut tree = Tree::new(MemoryStore::new()).unwrap();
    let roots = hex_list(&v["roots"]);
    assert_eq!(tree.root(), roots[0]);
    for (i, l) in leaves.iter().enumerate() {
        tree.append(&leaf_hash(l)).unwrap();
        assert_eq!(tree.root(), roots[i + 1], "root of size {}", i + 1);
        let want = CompactRange::from_parts(0, i as u64 + 1, hex_list(&v["compact_ranges"][i + 1])).unwrap();
        assert_eq!(tree.range(), &want, "compact range of size {}", i + 1);
    }
    for (level, nodes) in v["node_hashes"].as_array().unwrap().iter().enumerate() {
        for (index, h) in hex_list(nodes).iter().enumerate() {
            let id = NodeId::new(level as u8, index as u64);
            assert_eq!(auditchain::core::merkle::NodeReader::get(tree.store(), id).unwrap(), Some(*h), "{id}");
        }
    }
    for p in v["inclusion"].as_array().unwrap() {
        let (index, size) = (p["index"].as_u64().unwrap(), p["size"].as_u64().unwrap());
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), hex_list(&p["proof"]), "inclusion {index} in {size}");
    }
    for p in v["consistency"].as_array().unwrap() {
        let (s1, s2) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        assert_eq!(tree.consistency_proof(s1, s2).unwrap(), hex_list(&p["proof"]), "consistency {s1} to {s2}");
    }
}

/// Inputs a verifier reads from files: no size, index or proof length may
/// make it panic (overflow, shifts), and none may pass.
#[test]
fn extreme_sizes_fail_without_panicking() {
    let h = [7u8; 32];
    for (index, size) in [(0, 0), (u64::MAX, u64::MAX), (u64::MAX - 1, u64::MAX), (0, u64::MAX), (1 << 63, u64::MAX)] {
        for len in [0, 1, 63, 64, 65] {
            assert!(verify_inclusion(index, size, &h, &vec![h; len], &h).is_err(), "{index} {size} {len}");
        }
    }
    for (s1, s2) in [(0, 0), (1, u64::MAX), (u64::MAX, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX), (3, 2)]
    {
        for len in [0, 1, 63, 64, 65, 128] {
            let r = verify_consistency(s1, s2, &vec![h; len], &h, &[8; 32]);
            assert!(r.is_err(), "{s1} {s2} {len}");
        }
    }
}

fn leaves(n: usize, seed: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("{seed}/{i}").as_bytes())).collect()
}

fn tree_of(ls: &[Hash]) -> Tree<MemoryStore> {
    let mut t = Tree::new(MemoryStore::new()).unwrap();
    for l in ls {
        t.append(l).unwrap();
    }
    t
}

/// Flips one bit of one byte of one of `hashes`, chosen by `pick`.
fn flip(hashes: &mut [Hash], pick: usize, bit: u8) {
    let n = hashes.len() * 32;
    let at = pick % n;
    hashes[at / 32][at % 32] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn proofs_round_trip(n in 1usize..300, seed in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
        let ls = leaves(n, seed);
        let t = tree_of(&ls);
        prop_assert_eq!(t.root(), root_of(&ls));
        let size = 1 + a % n as u64;
        let index = b % size;
        let root = root_of(&ls[..size as usize]);
        prop_assert_eq!(t.root_at(size).unwrap(), root);
        let p = t.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(index, size, &ls[index as usize], &p, &root).is_ok());
        let old = 1 + b % size;
        let c = t.consistency_proof(old, size).unwrap();
        prop_assert!(verify_consistency(old, size, &c, &root_of(&ls[..old as usize]), &root).is_ok());
        // The compact range round-trips through serde and gives the same root.
        let json = serde_json::to_string(t.range()).unwrap();
        let back: CompactRange = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.root().unwrap(), root_of(&ls));
    }

    #[test]
    fn one_flipped_bit_fails_inclusion(n in 2usize..200, seed in any::<u64>(), a in any::<u64>(), pick in any::<usize>(), bit in any::<u8>(), what in 0u8..3) {
        let ls = leaves(n, seed);
        let t = tree_of(&ls);
        let size = 2 + a % (n as u64 - 1);
        let index = a.rotate_left(17) % size;
        let mut proof = t.inclusion_proof(index, size).unwrap();
        let mut leaf = [ls[index as usize]];
        let mut root = [t.root_at(size).unwrap()];
        match what {
            0 => flip(&mut proof, pick, bit),
            1 => flip(&mut leaf, pick, bit),
            _ => flip(&mut root, pick, bit),
        }
        prop_assert!(verify_inclusion(index, size, &leaf[0], &proof, &root[0]).is_err());
    }

    #[test]
    fn one_flipped_bit_fails_consistency(n in 3usize..200, seed in any::<u64>(), a in any::<u64>(), pick in any::<usize>(), bit in any::<u8>(), what in 0u8..3) {
        let ls = leaves(n, seed);
        let t = tree_of(&ls);
        let size2 = 2 + a % (n as u64 - 1);
        let size1 = 1 + a.rotate_left(29) % (size2 - 1);
        let mut proof = t.consistency_proof(size1, size2).unwrap();
        let mut r1 = [t.root_at(size1).unwrap()];
        let mut r2 = [t.root_at(size2).unwrap()];
        match what {
            0 => flip(&mut proof, pick, bit),
            1 => flip(&mut r1, pick, bit),
            _ => flip(&mut r2, pick, bit),
        }
        prop_assert!(verify_consistency(size1, size2, &proof, &r1[0], &r2[0]).is_err());
    }

    #[test]
    fn wrong_positions_fail(n in 3usize..200, seed in any::<u64>(), a in any::<u64>(), d in 1u64..5) {
        let ls = leaves(n, seed);
        let t = tree_of(&ls);
        let size = 2 + a % (n as u64 - 1);
        let index = a.rotate_left(7) % size;
        let proof = t.inclusion_proof(index, size).unwrap();
        let root = t.root_at(size).unwrap();
        // Another index, a proof one hash longer or shorter. (Another size
        // can give the same path: the size is bound by the signed
        // checkpoint, not by the proof.)
        prop_assert!(verify_inclusion((index + d) % size, size, &ls[index as usize], &proof, &root).is_err() || d % size == 0);
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(index, size, &ls[index as usize], &longer, &root).is_err());
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(index, size, &ls[index as usize], &proof[1..], &root).is_err());
        }
        let old = 1 + a % (size - 1);
        let mut c = t.consistency_proof(old, size).unwrap();
        let r1 = t.root_at(old).unwrap();
        c.push(root);
        prop_assert!(verify_consistency(old, size, &c, &r1, &root).is_err());
        prop_assert!(verify_consistency(old, size, &c[..c.len() - 2], &r1, &root).is_err());
    }

    #[test]
    fn merged_ranges_equal_one_range(n in 0usize..300, seed in any::<u64>(), cuts in proptest::collection::vec(any::<u64>(), 0..6)) {
        let ls = leaves(n, seed);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| (c % (n as u64 + 1)) as usize).collect();
        cuts.push(0);
        cuts.push(n);
        cuts.sort();
        let mut whole = CompactRange::new(0);
        for w in cuts.windows(2) {
            let mut part = CompactRange::new(w[0] as u64);
            for l in &ls[w[0]..w[1]] {
                part.append(l).unwrap();
            }
            prop_assert_eq!(part.hashes().len(), part.nodes().len());
            whole.append_range(&part, |_, _| {}).unwrap();
        }
        prop_assert_eq!(whole, CompactRange::from_leaves(&ls).unwrap());
    }

    #[test]
    fn extensions_prove_like_whole_trees(n in 2usize..3000, seed in any::<u64>(), a in any::<u64>()) {
        let ls = leaves(n, seed);
        let full = tree_of(&ls);
        let old = 1 + a % (n as u64 - 1);
        let mut e = Extension::new(full.range_at(old).unwrap()).unwrap();
        for l in &ls[old as usize..] {
            e.append(l).unwrap();
        }
        prop_assert_eq!(e.root(), full.root());
        prop_assert_eq!(e.consistency_proof().unwrap(), full.consistency_proof(old, n as u64).unwrap());
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Extension>(&json).unwrap(), e);
    }

    #[test]
    fn pruned_trees_prove_like_full_ones(n in 2usize..200, seed in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
        let ls = leaves(n, seed);
        let full = tree_of(&ls);
        let mut pruned = tree_of(&ls);
        let cut = 1 + a % (n as u64 - 1);
        pruned.prune(cut).unwrap();
        let size = cut + b % (n as u64 - cut + 1);
        let old = cut + a.rotate_left(3) % (size - cut + 1);
        prop_assert_eq!(pruned.consistency_proof(old, size).unwrap(), full.consistency_proof(old, size).unwrap());
        if size > cut {
            let index = cut + b.rotate_left(5) % (size - cut);
            prop_assert_eq!(pruned.inclusion_proof(index, size).unwrap(), full.inclusion_proof(index, size).unwrap());
        }
        prop_assert!(pruned.store().len() <= 2 * (n - cut as usize) + 64);
    }
}

#[test]
fn the_empty_tree() {
    assert_eq!(root_of(&[]), EMPTY_ROOT);
    assert_eq!(CompactRange::new(0).root().unwrap(), EMPTY_ROOT);
    assert_eq!(verify_consistency(0, 5, &[], &EMPTY_ROOT, &[1; 32]), Err(ProofError::FromEmptyTree));
}

// Command tlogref answers, with golang.org/x/mod/sumdb/tlog, what the
// differential test (tests/merkle_differential.rs) asks of RFC 6962 trees:
// given leaves, their leaf hashes, every prefix root, inclusion and
// consistency proofs; given proofs made elsewhere, whether tlog's own
// checkers accept them.
//
// Input on stdin, output on stdout, one JSON document each; hashes and
// leaf data in standard base64:
//
//	{"trees": [{"leaves": [data, ...],
//	            "inclusion": [[index, size], ...],
//	            "consistency": [[old, size], ...],
//	            "check_inclusion": [{"index": i, "size": n, "proof": [...]}],
//	            "check_consistency": [{"old": m, "size": n, "proof": [...]}]}]}
//	→ {"trees": [{"leaf_hashes": [...], "roots": [root of size 0, 1, ...],
//	              "inclusion": [[...], ...], "consistency": [[...], ...],
//	              "check_inclusion": [bool, ...], "check_consistency": [bool, ...]}]}
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/mod/sumdb/tlog"
)

type check struct {
	Index int64       `json:"index"`
	Old   int64       `json:"old"`
	Size  int64       `json:"size"`
	Proof []tlog.Hash `json:"proof"`
}

type treeIn struct {
	Leaves           [][]byte   `json:"leaves"`
	Inclusion        [][2]int64 `json:"inclusion"`
	Consistency      [][2]int64 `json:"consistency"`
	CheckInclusion   []check    `json:"check_inclusion"`
	CheckConsistency []check    `json:"check_consistency"`
}

type treeOut struct {
	LeafHashes       []tlog.Hash   `json:"leaf_hashes"`
	Roots            []tlog.Hash   `json:"roots"`
	Inclusion        [][]tlog.Hash `json:"inclusion"`
	Consistency      [][]tlog.Hash `json:"consistency"`
	CheckInclusion   []bool        `json:"check_inclusion"`
	CheckConsistency []bool        `json:"check_consistency"`
}

func main() {
	var in struct {
		Trees []treeIn `json:"trees"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("input: %v", err)
	}
	var out struct {
		Trees []treeOut `json:"trees"`
	}
	for i, t := range in.Trees {
		o, err := answer(t)
		if err != nil {
			fail("tree %d: %v", i, err)
		}
		out.Trees = append(out.Trees, o)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("output: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tlogref: "+format+"\n", args...)
	os.Exit(1)
}

func answer(t treeIn) (treeOut, error) {
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("stored hash %d out of range", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	o := treeOut{LeafHashes: []tlog.Hash{}, Roots: []tlog.Hash{}, Inclusion: [][]tlog.Hash{}, Consistency: [][]tlog.Hash{},
		CheckInclusion: []bool{}, CheckConsistency: []bool{}}
	for n := int64(0); ; n++ {
		root, err := tlog.TreeHash(n, r)
		if err != nil {
			return o, err
		}
		o.Roots = append(o.Roots, root)
		if n == int64(len(t.Leaves)) {
			break
		}
		hs, err := tlog.StoredHashes(n, t.Leaves[n], r)
		if err != nil {
			return o, err
		}
		stored = append(stored, hs...)
		o.LeafHashes = append(o.LeafHashes, tlog.RecordHash(t.Leaves[n]))
	}
	for _, q := range t.Inclusion {
		p, err := tlog.ProveRecord(q[1], q[0], r)
		if err != nil {
			return o, err
		}
		o.Inclusion = append(o.Inclusion, append([]tlog.Hash{}, p...))
	}
	for _, q := range t.Consistency {
		p, err := tlog.ProveTree(q[1], q[0], r)
		if err != nil {
			return o, err
		}
		o.Consistency = append(o.Consistency, append([]tlog.Hash{}, p...))
	}
	for _, c := range t.CheckInclusion {
		ok := c.Index < int64(len(o.LeafHashes)) && c.Size < int64(len(o.Roots)) &&
			tlog.CheckRecord(c.Proof, c.Size, o.Roots[c.Size], c.Index, o.LeafHashes[c.Index]) == nil
		o.CheckInclusion = append(o.CheckInclusion, ok)
	}
	for _, c := range t.CheckConsistency {
		ok := c.Old < int64(len(o.Roots)) && c.Size < int64(len(o.Roots)) &&
			tlog.CheckTree(c.Proof, c.Size, o.Roots[c.Size], c.Old, o.Roots[c.Old]) == nil
		o.CheckConsistency = append(o.CheckConsistency, ok)
	}
	return o, nil
}

// Command poc is a proof-of-concept C2SP tlog-witness client: it keeps an
// RFC 6962 tree of synthetic leaves, signs C2SP tlog-checkpoints with a
// golang.org/x/mod/sumdb/note Ed25519 key, sends add-checkpoint requests
// with consistency proofs, resyncs on 409 and verifies the returned
// cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1).
//
// Leaf i is the bytes of fmt.Sprintf("auditchain-poc leaf %d\n", i), so an
// independent implementation (the pytest) can recompute every root.
//
// Subcommands (all output is JSON on stdout, except `body`):
//
//	keygen  -origin O -dir D          log key pair: D/log.skey, D/log.vkey
//	body    -skey F -old M -size N    one add-checkpoint request body, raw
//	client  -url U -skey F -witness V -sizes 5,13,40   a log's witnessing loop
//	bench   -url U -skey F -witness V -count K          timings of add-checkpoint
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: poc keygen|body|client|bench [flags]")
	}
	var err error
	switch os.Args[1] {
	case "keygen":
		err = cmdKeygen(os.Args[2:])
	case "body":
		err = cmdBody(os.Args[2:])
	case "client":
		err = cmdClient(os.Args[2:])
	case "bench":
		err = cmdBench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "poc: "+format+"\n", args...)
	os.Exit(1)
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fatalf("json: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
}

// ---- tree ----------------------------------------------------------------

// Tree is an in-memory RFC 6962 tree (tlog's stored-hash layout).
type Tree struct {
	stored []tlog.Hash
	n      int64
	// leaf returns the bytes of leaf i.
	leaf func(i int64) []byte
}

func leafData(i int64) []byte { return fmt.Appendf(nil, "auditchain-poc leaf %d\n", i) }

// forkLeaf returns a leaf function equal to leafData below `from` and
// different from there on: a forked history of the same log.
func forkLeaf(from int64) func(int64) []byte {
	return func(i int64) []byte {
		if i < from {
			return leafData(i)
		}
		return fmt.Appendf(nil, "auditchain-poc fork leaf %d\n", i)
	}
}

func NewTree(leaf func(int64) []byte) *Tree { return &Tree{leaf: leaf} }

func (t *Tree) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(t.stored)) {
				return nil, fmt.Errorf("stored hash %d out of range", x)
			}
			out[i] = t.stored[x]
		}
		return out, nil
	})
}

// Grow appends leaves until the tree has n of them.
func (t *Tree) Grow(n int64) error {
	for t.n < n {
		hs, err := tlog.StoredHashes(t.n, t.leaf(t.n), t.reader())
		if err != nil {
			return err
		}
		t.stored = append(t.stored, hs...)
		t.n++
	}
	return nil
}

// Root is the RFC 6962 root of the first n leaves (n <= t.n).
func (t *Tree) Root(n int64) (tlog.Hash, error) { return tlog.TreeHash(n, t.reader()) }

// Consistency is the RFC 6962 consistency proof from size old to size n.
func (t *Tree) Consistency(n, old int64) (tlog.TreeProof, error) {
	if old == 0 || old == n {
		return nil, nil
	}
	return tlog.ProveTree(n, old, t.reader())
}

// ---- checkpoints, notes, requests ----------------------------------------

// CheckpointText is a C2SP tlog-checkpoint body: origin, size, base64 root,
// then optional extension lines, each ending in a newline.
func CheckpointText(origin string, n int64, root tlog.Hash, ext []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", origin, n, root.String())
	for _, e := range ext {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// RequestBody is a C2SP tlog-witness add-checkpoint body.
func RequestBody(old int64, proof tlog.TreeProof, signedNote []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(h.String() + "\n")
	}
	b.WriteString("\n")
	b.Write(signedNote)
	return b.Bytes()
}

func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func loadSigner(path string) (note.Signer, error) {
	skey, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	return note.NewSigner(skey)
}

// ---- subcommands ----------------------------------------------------------

func cmdKeygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	origin := fs.String("origin", "", "log origin (also the note key name)")
	dir := fs.String("dir", ".", "directory for log.skey and log.vkey")
	prefix := fs.String("prefix", "log", "file name prefix")
	fs.Parse(args)
	skey, vkey, err := note.GenerateKey(rand.Reader, *origin)
	if err != nil {
		return err
	}
	sk := filepath.Join(*dir, *prefix+".skey")
	if err := os.WriteFile(sk, []byte(skey+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, *prefix+".vkey"), []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	emit(map[string]string{"vkey": vkey, "skey_file": sk})
	return nil
}

type extFlag []string

func (e *extFlag) String() string     { return strings.Join(*e, ",") }
func (e *extFlag) Set(s string) error { *e = append(*e, s); return nil }

func cmdBody(args []string) error {
	fs := flag.NewFlagSet("body", flag.ExitOnError)
	skeyPath := fs.String("skey", "", "log signing key file")
	signWith := fs.String("sign-with", "", "sign with this key file instead (a key the witness does not know)")
	old := fs.Int64("old", 0, "old size line")
	proofFrom := fs.Int64("proof-from", -1, "compute the proof from this size (default: -old)")
	size := fs.Int64("size", 0, "checkpoint size")
	forkFrom := fs.Int64("fork-from", -1, "leaves from this index on differ (a fork)")
	rootFlag := fs.String("root", "", "put this base64 root in the checkpoint instead of the tree's")
	var ext extFlag
	fs.Var(&ext, "ext", "checkpoint extension line (repeatable)")
	fs.Parse(args)

	signer, err := loadSigner(*skeyPath)
	if err != nil {
		return err
	}
	origin := signer.Name()
	if *signWith != "" {
		if signer, err = loadSigner(*signWith); err != nil {
			return err
		}
	}
	leaf := leafData
	if *forkFrom >= 0 {
		leaf = forkLeaf(*forkFrom)
	}
	t := NewTree(leaf)
	if err := t.Grow(*size); err != nil {
		return err
	}
	root, err := t.Root(*size)
	if err != nil {
		return err
	}
	if *rootFlag != "" {
		if root, err = tlog.ParseHash(*rootFlag); err != nil {
			return err
		}
	}
	pf := *old
	if *proofFrom >= 0 {
		pf = *proofFrom
	}
	var proof tlog.TreeProof
	if pf > 0 && pf <= *size {
		if proof, err = t.Consistency(*size, pf); err != nil {
			return err
		}
	}
	signed, err := note.Sign(&note.Note{Text: CheckpointText(origin, *size, root, ext)}, signer)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(RequestBody(*old, proof, signed))
	return err
}

// Attempt is one add-checkpoint exchange, as the client saw it.
type Attempt struct {
	Size        int64   `json:"size"`
	Old         int64   `json:"old"`
	ProofLines  int     `json:"proof_lines"`
	Status      int     `json:"status"`
	ContentType string  `json:"content_type"`
	Body        string  `json:"body"`
	Ms          float64 `json:"ms"`
	CosigOK     bool    `json:"cosig_ok,omitempty"`
	CosigTime   int64   `json:"cosig_time,omitempty"`
	Resync      bool    `json:"resync,omitempty"`
	Cosigned    string  `json:"cosigned,omitempty"` // checkpoint + log sig + cosignature
}

// Witness is what a log knows of one witness: where it is and its key.
type Witness struct {
	URL      string
	Verifier *CosigVerifier
	client   *http.Client
}

func (w *Witness) post(body []byte) (int, string, []byte, time.Duration, error) {
	start := time.Now()
	resp, err := w.client.Post(strings.TrimSuffix(w.URL, "/")+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, 0, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	el := time.Since(start)
	if err != nil {
		return 0, "", nil, el, err
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), rb, el, nil
}

// Log is the log side: its key, its tree, and the size each witness is
// believed to hold.
type Log struct {
	signer note.Signer
	vkey   note.Verifier
	tree   *Tree
	ext    []string
}

func loadLog(skeyPath string, ext []string) (*Log, error) {
	skey, err := readKeyFile(skeyPath)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	vkeyText, err := readKeyFile(strings.TrimSuffix(skeyPath, ".skey") + ".vkey")
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkeyText)
	if err != nil {
		return nil, err
	}
	return &Log{signer: signer, vkey: v, tree: NewTree(leafData), ext: ext}, nil
}

func (l *Log) signedCheckpoint(n int64) ([]byte, string, error) {
	if err := l.tree.Grow(n); err != nil {
		return nil, "", err
	}
	root, err := l.tree.Root(n)
	if err != nil {
		return nil, "", err
	}
	text := CheckpointText(l.signer.Name(), n, root, l.ext)
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	return signed, text, err
}

var errWitnessAhead = errors.New("witness holds a larger tree than ours: rolled-back or replaced state")

// addCheckpoint sends checkpoint n to w, believing w holds size old. On a
// 409 it resyncs once from the size the witness reports (if not larger than
// n). It returns every attempt and the size the witness holds afterwards.
func (l *Log) addCheckpoint(w *Witness, old, n int64) ([]Attempt, int64, error) {
	signed, _, err := l.signedCheckpoint(n)
	if err != nil {
		return nil, old, err
	}
	var attempts []Attempt
	for try := 0; try < 2; try++ {
		proof, err := l.tree.Consistency(n, old)
		if err != nil {
			return attempts, old, err
		}
		status, ctype, body, el, err := w.post(RequestBody(old, proof, signed))
		if err != nil {
			return attempts, old, err
		}
		a := Attempt{Size: n, Old: old, ProofLines: len(proof), Status: status, ContentType: ctype,
			Body: string(body), Ms: float64(el.Microseconds()) / 1000, Resync: try > 0}
		switch status {
		case http.StatusOK:
			merged := append(slices.Clone(signed), body...)
			ts, err := verifyCosigned(merged, l.vkey, w.Verifier)
			if err != nil {
				attempts = append(attempts, a)
				return attempts, old, fmt.Errorf("cosignature from %s does not verify: %v", w.URL, err)
			}
			a.CosigOK, a.CosigTime, a.Cosigned = true, ts, string(merged)
			attempts = append(attempts, a)
			return attempts, n, nil
		case http.StatusConflict:
			attempts = append(attempts, a)
			// The body is the witness's size in decimal and a newline
			// (Content-Type text/x.tlog.size).
			ws, perr := strconv.ParseInt(strings.TrimSuffix(string(body), "\n"), 10, 64)
			if perr != nil || ws < 0 || ctype != "text/x.tlog.size" {
				return attempts, old, fmt.Errorf("malformed 409 from %s: %q (%s)", w.URL, body, ctype)
			}
			if ws > n {
				return attempts, ws, errWitnessAhead
			}
			old = ws
			continue
		default:
			attempts = append(attempts, a)
			return attempts, old, fmt.Errorf("add-checkpoint to %s: HTTP %d: %q", w.URL, status, body)
		}
	}
	return attempts, old, fmt.Errorf("add-checkpoint to %s: still 409 after resync", w.URL)
}

// verifyCosigned opens a checkpoint that carries the log's signature and
// the witness's cosignature and checks both. Returns the cosignature time.
func verifyCosigned(msg []byte, logV note.Verifier, wv *CosigVerifier) (int64, error) {
	n, err := note.Open(msg, note.VerifierList(logV, wv))
	if err != nil {
		return 0, err
	}
	var haveLog, haveW bool
	var ts int64
	for _, s := range n.Sigs {
		switch {
		case s.Name == logV.Name() && s.Hash == logV.KeyHash():
			haveLog = true
		case s.Name == wv.Name() && s.Hash == wv.KeyHash():
			haveW = true
			if ts, err = cosigTimestamp(s.Base64); err != nil {
				return 0, err
			}
		}
	}
	if !haveLog || !haveW {
		return 0, fmt.Errorf("missing signature (log %v, witness %v)", haveLog, haveW)
	}
	return ts, nil
}

func newWitness(url, vkey string) (*Witness, error) {
	v, err := NewCosigVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Witness{URL: url, Verifier: v, client: &http.Client{Timeout: 10 * time.Second}}, nil
}

func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// client: the witnessing loop of one log with one witness. -start-old is the
// size the log's state says the witness holds (0 for a new log). A witness
// that turns out to hold more than the log has ends the run with exit
// status 3: the log's state was rolled back or replaced.
func cmdClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	url := fs.String("url", "", "witness submission prefix (http://host:port)")
	skeyPath := fs.String("skey", "", "log signing key file (the .vkey beside it is read too)")
	wvkey := fs.String("witness", "", "witness cosignature vkey")
	sizes := fs.String("sizes", "", "comma-separated checkpoint sizes, in order")
	startOld := fs.Int64("start-old", 0, "size the log believes the witness holds")
	pause := fs.Duration("pause", 0, "wait this long between checkpoints (idle keep-alive connections)")
	var ext extFlag
	fs.Var(&ext, "ext", "checkpoint extension line (repeatable)")
	fs.Parse(args)

	l, err := loadLog(*skeyPath, ext)
	if err != nil {
		return err
	}
	w, err := newWitness(*url, *wvkey)
	if err != nil {
		return err
	}
	ns, err := parseSizes(*sizes)
	if err != nil {
		return err
	}
	old := *startOld
	for i, n := range ns {
		if i > 0 {
			time.Sleep(*pause)
		}
		attempts, held, err := l.addCheckpoint(w, old, n)
		for _, a := range attempts {
			emit(a)
		}
		if errors.Is(err, errWitnessAhead) {
			emit(map[string]any{"refuse": err.Error(), "witness_size": held, "log_size": n})
			os.Exit(3)
		}
		if err != nil {
			return err
		}
		old = held
	}
	return nil
}

// bench: -count sequential add-checkpoints, each -step leaves larger, over
// one keep-alive connection; reports round-trip times.
func cmdBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	url := fs.String("url", "", "witness submission prefix")
	skeyPath := fs.String("skey", "", "log signing key file")
	wvkey := fs.String("witness", "", "witness cosignature vkey")
	count := fs.Int("count", 100, "number of checkpoints")
	step := fs.Int64("step", 7, "leaves added between checkpoints")
	startOld := fs.Int64("start-old", 0, "size the witness holds")
	fs.Parse(args)

	l, err := loadLog(*skeyPath, nil)
	if err != nil {
		return err
	}
	w, err := newWitness(*url, *wvkey)
	if err != nil {
		return err
	}
	old := *startOld
	var rtts []float64
	start := time.Now()
	for i := 0; i < *count; i++ {
		n := old + *step
		attempts, held, err := l.addCheckpoint(w, old, n)
		if err != nil {
			return err
		}
		for _, a := range attempts {
			rtts = append(rtts, a.Ms)
		}
		old = held
	}
	total := time.Since(start)
	slices.Sort(rtts)
	pct := func(p float64) float64 { return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))] }
	emit(map[string]any{
		"count": len(rtts), "final_size": old,
		"median_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": rtts[len(rtts)-1], "min_ms": rtts[0],
		"total_s": total.Seconds(), "per_checkpoint_ms_incl_client": total.Seconds() * 1000 / float64(*count),
	})
	return nil
}

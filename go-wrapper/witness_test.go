//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"golang.org/x/mod/sumdb/note"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// fakeWitness is a tlog-witness that cosigns whatever it is sent
// (C2SP tlog-cosignature v1, written here independently of the engine),
// or answers with a fixed status. The real witnesses (litewitness,
// omniwitness) are tests/witness.
type fakeWitness struct {
	name string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey

	mu       sync.Mutex
	status   int    // 0: cosign
	conflict uint64 // with status 409: the size it claims
	requests []string
}

func newFakeWitness(t testing.TB, name string) (*fakeWitness, *httptest.Server) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	w := &fakeWitness{name: name, pub: pub, priv: priv}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return w, srv
}

func (w *fakeWitness) keyID() []byte {
	h := sha256.New()
	h.Write([]byte(w.name + "\n\x04"))
	h.Write(w.pub)
	return h.Sum(nil)[:4]
}

// vkey is the witness's verifier key: <name>+<key ID hex>+base64(0x04 ‖ key).
func (w *fakeWitness) vkey() string {
	return fmt.Sprintf("%s+%x+%s", w.name, w.keyID(), base64.StdEncoding.EncodeToString(append([]byte{4}, w.pub...)))
}

func (w *fakeWitness) set(status int, conflict uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status, w.conflict = status, conflict
}

func (w *fakeWitness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.requests = append(w.requests, string(body))
	status, conflict := w.status, w.conflict
	w.mu.Unlock()
	if r.URL.Path != "/add-checkpoint" || r.Method != http.MethodPost {
		http.NotFound(rw, r)
		return
	}
	switch status {
	case 0:
	case http.StatusConflict:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(status)
		fmt.Fprintf(rw, "%d\n", conflict)
		return
	default:
		rw.WriteHeader(status)
		return
	}
	_, cp, ok := bytes.Cut(body, []byte("\n\n"))
	text, _, ok2 := bytes.Cut(cp, []byte("\n\n"))
	if !ok || !ok2 {
		rw.WriteHeader(http.StatusBadRequest)
		return
	}
	ts := uint64(time.Now().Unix())
	msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s\n", ts, text)
	sig := binary.BigEndian.AppendUint64(nil, ts)
	sig = append(sig, ed25519.Sign(w.priv, []byte(msg))...)
	fmt.Fprintf(rw, "\u2014 %s %s\n", w.name, base64.StdEncoding.EncodeToString(append(w.keyID(), sig...)))
}

func witnessedConfig(t testing.TB, keys keySet, urls []string, vkeys []string) *Config {
	cfg := keyedConfig(t, keys)
	cfg.Checkpoint = CheckpointConfig{Interval: time.Second, Records: 4, File: filepath.Join(t.TempDir(), "checkpoints.jsonl")}
	for i := range urls {
		cfg.Witnesses = append(cfg.Witnesses, WitnessConfig{URL: urls[i], Key: vkeys[i], Timeout: 2 * time.Second})
	}
	return cfg
}

// TestLogCheckpoints: version 2 checkpoints are of the log: origin =
// the signing key's name, size = the record's own leaf index.
func TestLogCheckpoints(t *testing.T) {
	keys := newKeySet(t, t.TempDir(), "audit.example.com-go")
	cfg := keyedConfig(t, keys)
	cfg.Checkpoint.Records = 3
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, cfg, sink)
	for b := range 3 {
		require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs(fmt.Sprintf("b%d", b), 3, 50)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	n := 0
	for _, r := range byNumber(records(sink)) {
		if r.event() == "" {
			assert.NotContains(t, r.attrs, "audit.log.origin")
			continue
		}
		assert.Equal(t, "audit.example.com-go", r.str("audit.log.origin"), "record %d", r.number())
		index := r.attrs["audit.log.index"].(int64)
		assert.Equal(t, r.number()-1, index, "one stream: leaf index = sequence - 1")
		if r.event() != "checkpoint" {
			continue
		}
		opened, err := note.Open([]byte(r.body), note.VerifierList(keys.verifier))
		require.NoError(t, err)
		lines := strings.Split(opened.Text, "\n")
		assert.Equal(t, "audit.example.com-go", lines[0])
		assert.Equal(t, strconv.FormatInt(index, 10), lines[1], "the checkpoint of leaf n is of size n")
		n++
	}
	assert.GreaterOrEqual(t, n, 3)
}

func TestWitnessCosignsAndDownIsCounted(t *testing.T) {
	keys := newKeySet(t, t.TempDir(), "audit.example.com-go-w")
	w, srv := newFakeWitness(t, "witness.example/go")
	cfg := witnessedConfig(t, keys, []string{srv.URL}, []string{w.vkey()})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	p := newTestProcessor(t, set, cfg, sink)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })

	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("a", 4, 50)))
	cos := waitForEvent(t, sink, "cosignature")
	assert.Contains(t, cos.body, "\u2014 witness.example/go ", "the cosignature line")
	assert.Contains(t, cos.body, "\u2014 audit.example.com-go-w ", "and the log's signature")
	assert.NotZero(t, cos.attrs["audit.log.checkpoint_index"])

	// Down: stamping goes on, the answers are counted.
	w.set(http.StatusServiceUnavailable, 0)
	start := time.Now()
	for b := range 3 {
		require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs(fmt.Sprintf("d%d", b), 4, 50)))
	}
	assert.Less(t, time.Since(start), time.Second, "a witness that is down never slows stamping")
	require.Eventually(t, func() bool { return countAnswers(t, tel, "retry_later") >= 2 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, p.Shutdown(context.Background()))
	assert.GreaterOrEqual(t, countAnswers(t, tel, "cosigned"), int64(1))
	file, err := os.ReadFile(cfg.Checkpoint.File)
	require.NoError(t, err)
	assert.Contains(t, string(file), "witness.example/go", "the cosigned note is a checkpoint.file line")
}

func countAnswers(t testing.TB, tel *componenttest.Telemetry, kind string) int64 {
	m, err := tel.GetMetric("otelcol_processor_auditchain_witness_answers")
	if err != nil {
		return 0
	}
	var n int64
	for _, dp := range metricDataPoints(m) {
		if v, ok := dp.Attributes.Value("answer"); ok && v.AsString() == kind {
			n += dp.Value
		}
	}
	return n
}

func TestWitnessAheadAtStartRefusesToStart(t *testing.T) {
	keys := newKeySet(t, t.TempDir(), "audit.example.com-go-r")
	w, srv := newFakeWitness(t, "witness.example/go")
	cfg := witnessedConfig(t, keys, []string{srv.URL}, []string{w.vkey()})
	p := startTestProcessor(t, cfg, consumertest.NewNop())
	require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("a", 4, 50)))
	require.NoError(t, p.Shutdown(context.Background()))
	// The witness holds a size the state never reached.
	w.set(http.StatusConflict, 1000)
	err := startError(t, cfg)
	assert.ErrorContains(t, err, srv.URL)
	assert.ErrorContains(t, err, "size 1000")
	assert.ErrorContains(t, err, "rolled back")
	// Unreachable at start: a warning, the processor starts.
	srv.Close()
	startTestProcessor(t, cfg, consumertest.NewNop())
}

func TestWitnessConfigValidation(t *testing.T) {
	keys := newKeySet(t, t.TempDir(), "k")
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.SigningKeyFile = ""; c.Witnesses = []WitnessConfig{{URL: "http://w", Key: "k"}} }, "witnesses: witnesses cosign signed checkpoints"},
		{func(c *Config) { c.Witnesses = []WitnessConfig{{URL: "ftp://w", Key: "k"}} }, "witnesses[0].url"},
		{func(c *Config) { c.Witnesses = []WitnessConfig{{URL: "http://w"}} }, "witnesses[0].key"},
		{func(c *Config) { c.WitnessQuorum = 2 }, "witness_quorum"},
		{func(c *Config) { c.Log.Origin = "a\nb" }, "log.origin"},
		{func(c *Config) { c.Log.FormatVersion = 3 }, "log.format_version"},
	} {
		cfg := keyedConfig(t, keys)
		tc.edit(cfg)
		assert.ErrorContains(t, cfg.Validate(), tc.want)
	}
	// The engine checks the key itself.
	cfg := keyedConfig(t, keys)
	cfg.Witnesses = []WitnessConfig{{URL: "http://w", Key: "not-a-vkey"}}
	require.NoError(t, cfg.Validate())
	assert.ErrorContains(t, startError(t, cfg), "witnesses")
}

func metricDataPoints(m metricdata.Metrics) []metricdata.DataPoint[int64] {
	if s, ok := m.Data.(metricdata.Sum[int64]); ok {
		return s.DataPoints
	}
	return nil
}

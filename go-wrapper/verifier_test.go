//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"golang.org/x/mod/sumdb/note"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// agentBatches stamps three batches with a keyed, signed agent (a
// checkpoint every 4 records) and shuts it down cleanly: the batches as
// its exporter received them, and the signer's public key.
func agentBatches(t *testing.T) ([]plog.Logs, string, string) {
	t.Helper()
	dir := t.TempDir()
	keys := newKeySet(t, dir, "agent")
	skey, vkey, err := note.GenerateKey(rand.Reader, "agent-sign")
	require.NoError(t, err)
	signFile := filepath.Join(dir, "agent-sign.key")
	writePrivate(t, signFile, skey+"\n")
	cfg := testConfig(t)
	cfg.KeyFile = keys.chainFile
	cfg.SigningKeyFile = signFile
	cfg.Checkpoint.Records = 4
	sink := &consumertest.LogsSink{}
	p := newTestProcessor(t, processortest.NewNopSettings(metadata.Type), cfg, sink)
	p.tickEvery = time.Hour
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	for i := range 3 {
		require.NoError(t, p.ConsumeLogs(context.Background(), makeLogs("b"+string(rune('0'+i)), 4, 100)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	return sink.AllLogs(), keys.chainFile, vkey
}

func gatewayConfig(t *testing.T, chainFile, vkey string, onFailure OnFailure) *Config {
	cfg := createDefaultConfig()
	cfg.Mode = ModeVerify
	cfg.State.Directory = t.TempDir()
	cfg.KeyFile = chainFile
	cfg.PublicKeys = []string{vkey}
	cfg.OnFailure = onFailure
	require.NoError(t, cfg.Validate())
	return cfg
}

func startGateway(t *testing.T, cfg *Config, sink *consumertest.LogsSink) *logsVerifier {
	t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("auditchain", "gw")
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	v := p.(*logsVerifier)
	require.NoError(t, v.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, v.Shutdown(context.Background())) })
	return v
}

func copyLogs(ld plog.Logs) plog.Logs {
	c := plog.NewLogs()
	ld.CopyTo(c)
	return c
}

func marks(ld plog.Logs) map[int]string {
	out := map[int]string{}
	i := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if r, ok := lr.Attributes().Get(VerifyResultAttribute); ok {
					reason, _ := lr.Attributes().Get(VerifyReasonAttribute)
					out[i] = r.Str() + ":" + reason.Str()
				}
				i++
			}
		}
	}
	return out
}

func TestVerifyModePassesAStampedStreamAndDuplicates(t *testing.T) {
	batches, chain, vkey := agentBatches(t)
	sink := &consumertest.LogsSink{}
	v := startGateway(t, gatewayConfig(t, chain, vkey, OnFailureMark), sink)
	for _, b := range batches {
		require.NoError(t, v.ConsumeLogs(context.Background(), copyLogs(b)))
	}
	require.NoError(t, v.ConsumeLogs(context.Background(), copyLogs(batches[0])))
	for i, b := range sink.AllLogs() {
		assert.Empty(t, marks(b), "batch %d", i)
	}
	assert.Equal(t, len(batches)+1, len(sink.AllLogs()))
}

func TestVerifyModeMarksOrDropsAnEditedRecord(t *testing.T) {
	batches, chain, vkey := agentBatches(t)
	edit := func() []plog.Logs {
		out := make([]plog.Logs, len(batches))
		for i, b := range batches {
			out[i] = copyLogs(b)
		}
		out[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("nothing to see")
		return out
	}
	sink := &consumertest.LogsSink{}
	v := startGateway(t, gatewayConfig(t, chain, vkey, OnFailureMark), sink)
	for _, b := range edit() {
		require.NoError(t, v.ConsumeLogs(context.Background(), b))
	}
	assert.Equal(t, map[int]string{0: "failed:content_mismatch"}, marks(sink.AllLogs()[1]))
	assert.Empty(t, marks(sink.AllLogs()[2]), "the next records still verify")

	sink = &consumertest.LogsSink{}
	v = startGateway(t, gatewayConfig(t, chain, vkey, OnFailureDrop), sink)
	for _, b := range edit() {
		require.NoError(t, v.ConsumeLogs(context.Background(), b))
	}
	assert.Equal(t, batches[1].LogRecordCount()-1, sink.AllLogs()[1].LogRecordCount())
	for _, b := range sink.AllLogs() {
		assert.Empty(t, marks(b))
	}
}

func TestVerifyModeRefusesGarbageAndUnstampedRecordsFail(t *testing.T) {
	_, chain, vkey := agentBatches(t)
	sink := &consumertest.LogsSink{}
	v := startGateway(t, gatewayConfig(t, chain, vkey, OnFailureMark), sink)
	require.NoError(t, v.ConsumeLogs(context.Background(), makeLogs("u", 2, 50)))
	assert.Equal(t, map[int]string{0: "failed:unstamped", 1: "failed:unstamped"}, marks(sink.AllLogs()[0]))
}

func TestVerifyModeStateIsLocked(t *testing.T) {
	_, chain, vkey := agentBatches(t)
	cfg := gatewayConfig(t, chain, vkey, OnFailureMark)
	startGateway(t, cfg, &consumertest.LogsSink{})
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("auditchain", "gw")
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, &consumertest.LogsSink{})
	require.NoError(t, err)
	err = p.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked")
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestVerifyModeChecksSpans(t *testing.T) {
	dir := t.TempDir()
	keys := newKeySet(t, dir, "agent")
	cfg := testConfig(t)
	cfg.KeyFile = keys.chainFile
	sink := &consumertest.TracesSink{}
	p := startTracesProcessor(t, cfg, sink)
	for range 3 {
		require.NoError(t, p.ConsumeTraces(context.Background(), seed002Traces("payments", "search")))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	batches := sink.AllTraces()
	require.NotEmpty(t, batches)

	gw := createDefaultConfig()
	gw.Mode = ModeVerify
	gw.State.Directory = t.TempDir()
	gw.KeyFile = keys.chainFile
	require.NoError(t, gw.Validate())
	out := &consumertest.TracesSink{}
	set := processortest.NewNopSettings(metadata.Type)
	tp, err := NewFactory().CreateTraces(context.Background(), set, gw, out)
	require.NoError(t, err)
	require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { assert.NoError(t, tp.Shutdown(context.Background())) }()
	for i, b := range batches {
		c := ptrace.NewTraces()
		b.CopyTo(c)
		if i == 1 {
			c.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetName("renamed")
		}
		require.NoError(t, tp.ConsumeTraces(context.Background(), c))
	}
	var failed []string
	for _, td := range out.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if r, ok := sp.Attributes().Get(VerifyReasonAttribute); ok {
						failed = append(failed, sp.Name()+":"+r.Str())
					}
				}
			}
		}
	}
	assert.Equal(t, []string{"renamed:content_mismatch"}, failed)
}

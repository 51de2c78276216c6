//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// Seed 003's rules (DELETE requests, login attempts) as Rego, in OPA 1.x
// syntax and in the syntax before OPA 1.0 that the seed uses.
const (
	seed003RegoV1 = `package audit

default should_audit := false

should_audit if input.attributes["http.request.method"] == "DELETE"

should_audit if input.attributes["audit.action"] == "login_attempt"
`
	seed003RegoV0 = `package audit

should_audit {
 input.attributes["http.request.method"] == "DELETE"
}

should_audit {
 input.attributes["audit.action"] == "login_attempt"
}
`
)

func writePolicy(t testing.TB, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.rego")
	require.NoError(t, os.WriteFile(p, []byte(src), 0o600))
	return p
}

// seed003Logs holds a DELETE request, a login attempt, a GET and a record
// without attributes: the rules select the first two.
func seed003Logs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "api")
	sl := rl.ScopeLogs().AppendEmpty()
	for _, attrs := range []map[string]any{
		{"http.request.method": "DELETE", "url.path": "/accounts/7"},
		{"audit.action": "login_attempt", "enduser.id": "mallory"},
		{"http.request.method": "GET", "url.path": "/accounts/7"},
		{},
	} {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr("request")
		require.NoError(nil, lr.Attributes().FromRaw(attrs))
	}
	return ld
}

func selectedLogs(t *testing.T, cfg *Config, ld plog.Logs) []byte {
	t.Helper()
	r, err := newLogRules(context.Background(), cfg, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	require.NoError(t, err)
	return classifyLogs(context.Background(), r, ld).selected
}

func TestSeed003RulesAsOTTLAndAsRego(t *testing.T) {
	want := []byte{1, 1, 0, 0}
	ottl := testConfig(t)
	ottl.Select = []string{
		`attributes["http.request.method"] == "DELETE"`,
		`log.attributes["audit.action"] == "login_attempt"`, // a context-qualified path works too
	}
	assert.Equal(t, want, selectedLogs(t, ottl, seed003Logs()))

	v1 := testConfig(t)
	v1.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV1), Query: "data.audit.should_audit"}
	assert.Equal(t, want, selectedLogs(t, v1, seed003Logs()))

	v0 := testConfig(t)
	v0.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV0), Query: "data.audit.should_audit", RegoVersion: "v0"}
	assert.Equal(t, want, selectedLogs(t, v0, seed003Logs()))

	// Either rule selects: OTTL for one, Rego for the other.
	both := testConfig(t)
	both.Select = []string{`attributes["http.request.method"] == "DELETE"`}
	both.Policy = PolicyConfig{File: writePolicy(t, `package audit
should_audit if input.attributes["audit.action"] == "login_attempt"
`), Query: "data.audit.should_audit"}
	assert.Equal(t, want, selectedLogs(t, both, seed003Logs()))

	// No rule: everything is stamped, and nothing is evaluated.
	assert.Nil(t, selectedLogs(t, testConfig(t), seed003Logs()))
}

func TestSpanRulesSeeSpanFields(t *testing.T) {
	cfg := testConfig(t)
	cfg.Select = []string{`IsMatch(name, "^user\\.")`}
	r, err := newSpanRules(context.Background(), cfg, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	require.NoError(t, err)
	c := classifySpans(context.Background(), r, seed002Traces("svc-a", "svc-b"))
	assert.Equal(t, []byte{1, 0, 1, 0}, c.selected)
	assert.Equal(t, 2, c.chosen)

	cfg.Select = nil
	cfg.Policy = PolicyConfig{File: writePolicy(t, `package audit
should_audit if {
	input.kind == "server"
	startswith(input.name, "user.")
	input.attributes["enduser.role"] == "admin"
	input.resource.attributes["service.name"] == "svc-b"
}
`), Query: "data.audit.should_audit"}
	r, err = newSpanRules(context.Background(), cfg, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0, 1, 0}, classifySpans(context.Background(), r, seed002Traces("svc-a", "svc-b")).selected)
}

// A bad rule fails when the processor is created, naming the key and the
// rule; so does a condition that does not suit the pipeline's signal.
func TestInvalidRulesFailAtCreation(t *testing.T) {
	create := func(cfg *Config) error {
		_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		return err
	}
	createTraces := func(cfg *Config) error {
		_, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		return err
	}
	for _, tt := range []struct {
		name   string
		set    func(*Config)
		traces bool
		want   []string
	}{
		{"syntax", func(c *Config) { c.Select = []string{`attributes["a"] ==`} }, false, []string{`select[0]`, `attributes["a"] ==`}},
		{"second rule", func(c *Config) { c.Select = []string{`true`, `Nope(body)`} }, false, []string{`select[1]`, `Nope(body)`}},
		{"a span field in a logs pipeline", func(c *Config) { c.Select = []string{`IsMatch(name, "^user")`} }, false, []string{`select[0]`, `IsMatch(name, "^user")`}},
		{"a log field in a traces pipeline", func(c *Config) { c.Select = []string{`severity_text == "INFO"`} }, true, []string{`select[0]`, `severity_text`}},
		{"partition path", func(c *Config) { c.PartitionBy = []string{`resource.attributes[`} }, false, []string{`partition_by[0]`}},
		{"policy file", func(c *Config) {
			c.Policy = PolicyConfig{File: "/nonexistent/audit.rego", Query: "data.audit.should_audit"}
		}, false, []string{"policy.file", "/nonexistent/audit.rego"}},
		{"policy syntax", func(c *Config) {
			c.Policy = PolicyConfig{File: writePolicy(t, "package audit\nshould_audit if {"), Query: "data.audit.should_audit"}
		}, false, []string{"policy.file", "audit.rego"}},
		{"policy before 1.0 without rego_version", func(c *Config) {
			c.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV0), Query: "data.audit.should_audit"}
		}, false, []string{"policy.file", "policy.rego_version: v0"}},
		{"query names no rule", func(c *Config) {
			c.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV1), Query: "data.audit.log_event"}
		}, false, []string{"policy.query", "data.audit.log_event names no rule", "unaudited"}},
		{"query not a reference", func(c *Config) {
			c.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV1), Query: "1 +"}
		}, false, []string{"policy.query"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.set(cfg)
			var err error
			if tt.traces {
				err = createTraces(cfg)
			} else {
				err = create(cfg)
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestSelectionConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.Select = []string{""} }, "select[0]: must not be empty"},
		{func(c *Config) { c.PartitionBy = []string{""} }, "partition_by[0]: must not be empty"},
		{func(c *Config) { c.MaxStreams = 5 }, "max_streams: must be at least 1 and needs partition_by"},
		{func(c *Config) { c.PartitionBy = []string{"x"}; c.MaxStreams = -1 }, "max_streams"},
		{func(c *Config) { c.Policy.File = "a.rego" }, "policy.query: the query"},
		{func(c *Config) { c.Policy.Query = "data.x" }, "policy.file: the Rego module is required"},
		{func(c *Config) { c.Policy = PolicyConfig{File: "a", Query: "b", RegoVersion: "v2"} }, `policy.rego_version: "v2"`},
		{func(c *Config) { c.ContentHash.OnMismatch = "drop" }, `content_hash.on_mismatch: "drop" is not valid`},
		{func(c *Config) { c.ContentHash.OnMismatch = "reject" }, "needs content_hash.check: true"},
	} {
		cfg := testConfig(t)
		tt.set(cfg)
		assert.ErrorContains(t, cfg.Validate(), tt.want)
	}
}

// A rule that fails to evaluate selects the record: an error never lets a
// record leave unstamped that the rules might have chosen.
func TestRulesThatFailSelect(t *testing.T) {
	cfg := testConfig(t)
	cfg.Select = []string{`ParseJSON(body)["action"] == "delete"`}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr(`{"action":"delete"}`)
	lrs.AppendEmpty().Body().SetStr(`{"action":"read"}`)
	lrs.AppendEmpty().Body().SetStr(`not json`)
	assert.Equal(t, []byte{1, 0, 1}, selectedLogs(t, cfg, ld))

	// A query whose value is not a boolean selects too.
	cfg = testConfig(t)
	cfg.Policy = PolicyConfig{File: writePolicy(t, "package audit\nlevel := \"high\"\n"), Query: "data.audit.level"}
	assert.Equal(t, []byte{1, 1, 1}, selectedLogs(t, cfg, ld))
}

// The policy input of a span and of a log record, as documented.
func TestPolicyInputDocuments(t *testing.T) {
	td := seed002Traces("svc-a")
	rs := td.ResourceSpans().At(0)
	span := rs.ScopeSpans().At(0).Spans().At(0)
	span.Events().AppendEmpty().SetName("checked")
	docs := spanDocuments{}
	docs.resource(rs.Resource())
	docs.scope(rs.ScopeSpans().At(0).Scope())
	got := docs.record(span).String()
	for _, want := range []string{
		`"signal": "traces"`, `"kind": "server"`, `"name": "user.role.update"`,
		`"resource": {"attributes": {"service.name": "svc-a"}}`, `"enduser.role": "admin"`,
		`"status": {"code": "ok", "message": ""}`, `"events": [{"attributes": {}, "name": "checked", "time_unix_nano": 0}]`,
		`"trace_id": "01020300000000000000000000000000"`, `"parent_span_id": ""`, `"start_time_unix_nano": 1795320660000000000`,
	} {
		assert.Contains(t, got, want)
	}
	ld := seed003Logs()
	ldocs := logDocuments{}
	ldocs.resource(ld.ResourceLogs().At(0).Resource())
	ldocs.scope(ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope())
	got = ldocs.record(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)).String()
	for _, want := range []string{`"signal": "logs"`, `"body": "request"`, `"http.request.method": "DELETE"`, `"trace_id": ""`} {
		assert.Contains(t, got, want)
	}
}

// A processor with rules forwards a batch none of whose records they
// select untouched, and stamps only the selected records of the others.
func TestUnselectedRecordsPassThroughUntouched(t *testing.T) {
	cfg := testConfig(t)
	cfg.Select = []string{`attributes["http.request.method"] == "DELETE"`}
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, cfg, sink)
	waitForEvent(t, sink, "start")
	ld := seed003Logs()
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	got := records(sink)
	var stamped, plain int
	for _, r := range got {
		switch {
		case r.event() != "":
		case r.number() != 0:
			stamped++
			assert.Equal(t, "DELETE", r.attrs["http.request.method"])
		default:
			plain++
			for k := range r.attrs {
				assert.NotContains(t, k, "audit.sequence", "an unselected record gets no stamp")
			}
		}
	}
	assert.Equal(t, [2]int{1, 3}, [2]int{stamped, plain})

	// A batch with nothing to stamp goes on as it came.
	get := plog.NewLogs()
	get.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().PutStr("http.request.method", "GET")
	before := len(sink.AllLogs())
	require.NoError(t, p.ConsumeLogs(context.Background(), get))
	require.Len(t, sink.AllLogs(), before+1)
	assert.Equal(t, map[string]any{"http.request.method": "GET"},
		sink.AllLogs()[before].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw())
}

// Batches are classified concurrently (ConsumeLogs may run concurrently):
// the rules, the policy and the once-only failure log are safe for it
// (run under -race by make test-go).
func TestRulesEvaluateConcurrently(t *testing.T) {
	cfg := testConfig(t)
	cfg.Select = []string{`ParseJSON(body)["action"] == "delete"`}
	cfg.Policy = PolicyConfig{File: writePolicy(t, seed003RegoV1), Query: "data.audit.should_audit"}
	sink := new(consumertest.LogsSink)
	p := startTestProcessor(t, cfg, sink)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				ld := seed003Logs()
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					lrs.At(i).Body().SetStr(`{"action":"read"}`)
				}
				lrs.AppendEmpty().Body().SetStr("not json")
				assert.NoError(t, p.ConsumeLogs(context.Background(), ld))
			}
		})
	}
	wg.Wait()
	// Per batch: the DELETE and the login attempt (the policy), and the
	// record whose condition failed (fail closed).
	stamped := 0
	for _, r := range userRecords(sink) {
		if r.number() != 0 {
			stamped++
		}
	}
	assert.Equal(t, 4*10*3, stamped)
}

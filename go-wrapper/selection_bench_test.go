//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// The cost per record of the selection rules (docs/BENCHMARKS.md): the
// batch is classified (every rule evaluated for every record, the policy's
// input document built), nothing is stamped. Half the records are
// selected. Compare with BenchmarkConsumeLogs for the whole path.

// selectionRules are the rule sets benchmarked: none, seed 003's rules as
// two OTTL conditions, and as a Rego policy of two rules.
func selectionRules(b *testing.B) map[string]func(*Config) {
	policy := writePolicy(b, seed003RegoV1)
	return map[string]func(*Config){
		"none": func(*Config) {},
		"ottl": func(c *Config) {
			c.Select = []string{`attributes["http.request.method"] == "DELETE"`, `attributes["audit.action"] == "login_attempt"`}
		},
		"rego": func(c *Config) { c.Policy = PolicyConfig{File: policy, Query: "data.audit.should_audit"} },
	}
}

// selectionLogs is n records like makeLogs', every other one a DELETE.
func selectionLogs(n int) plog.Logs {
	ld := makeLogs("bench", n, benchRecordSize)
	i := 0
	eachLogRecord(ld, func(lr plog.LogRecord) {
		method := "GET"
		if i%2 == 0 {
			method = "DELETE"
		}
		lr.Attributes().PutStr("http.request.method", method)
		lr.Attributes().Remove("audit.action")
		i++
	})
	return ld
}

func BenchmarkSelectLogs(b *testing.B) {
	for _, rules := range []string{"none", "ottl", "rego"} {
		for _, n := range batchSizes {
			b.Run(fmt.Sprintf("rules=%s/records=%d", rules, n), func(b *testing.B) {
				cfg := testConfig(b)
				selectionRules(b)[rules](cfg)
				r, err := newLogRules(context.Background(), cfg, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
				require.NoError(b, err)
				ld := selectionLogs(n)
				if c := classifyLogs(context.Background(), r, ld); rules != "none" {
					require.Equal(b, n/2, c.chosen)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					classifyLogs(context.Background(), r, ld)
				}
				reportPerRecord(b, n)
			})
		}
	}
}

func BenchmarkSelectSpans(b *testing.B) {
	for _, rules := range []string{"none", "ottl", "rego"} {
		b.Run(fmt.Sprintf("rules=%s/records=1000", rules), func(b *testing.B) {
			cfg := testConfig(b)
			selectionRules(b)[rules](cfg)
			r, err := newSpanRules(context.Background(), cfg, processortest.NewNopSettings(metadata.Type).TelemetrySettings)
			require.NoError(b, err)
			td := ptrace.NewTraces()
			for range 500 {
				seed002Traces("svc").ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
			}
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("http.request.method", "DELETE")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				classifySpans(context.Background(), r, td)
			}
			reportPerRecord(b, td.SpanCount())
		})
	}
}

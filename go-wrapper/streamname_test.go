package auditchainprocessor

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

func TestResolveStreamName(t *testing.T) {
	host := func(h string) func() (string, error) { return func() (string, error) { return h, nil } }
	noHost := func() (string, error) { return "", errors.New("no host name") }
	long := strings.Repeat("h", 200)

	tests := []struct {
		name       string
		configured string
		id         component.ID
		hostname   func() (string, error)
		want       string
	}{
		{"explicit wins", "payments", component.NewIDWithName(metadata.Type, "x"), host("node1"), "payments"},
		{"host only", "", component.NewID(metadata.Type), host("node1.example.com"), "node1.example.com"},
		{"host and name", "", component.NewIDWithName(metadata.Type, "payments"), host("node1"), "node1-payments"},
		{"sanitised", "", component.NewIDWithName(metadata.Type, "a b/ü"), host("_weird host"), "weird-host-a-b---"},
		{"no host", "", component.NewID(metadata.Type), noHost, "auditchain"},
		{"no host with name", "", component.NewIDWithName(metadata.Type, "p"), noHost, "auditchain-p"},
		{"long host keeps name", "", component.NewIDWithName(metadata.Type, "payments"), host(long), long[:128-len("-payments")] + "-payments"},
		{"traces", "", component.NewID(metadata.Type), host("node1"), "node1-traces"},
		{"traces and name", "", component.NewIDWithName(metadata.Type, "audit"), host("node1"), "node1-traces-audit"},
		{"traces explicit", "payments", component.NewID(metadata.Type), host("node1"), "payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signal := pipeline.SignalLogs
			if strings.HasPrefix(tt.name, "traces") {
				signal = pipeline.SignalTraces
			}
			got := resolveStreamName(tt.configured, tt.id, signal, tt.hostname)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, checkStreamName(got), "a derived name must pass the engine's rule")
		})
	}
}

func TestSanitizeStreamName(t *testing.T) {
	for in, want := range map[string]string{
		"ok-name_1.2": "ok-name_1.2",
		"":            "auditchain",
		"---":         "auditchain",
		".a":          "a",
		"a:b":         "a-b",
		"日本":          "auditchain",
		"x日":          "x---",
	} {
		got := sanitizeStreamName(in)
		assert.Equal(t, want, got, "sanitize(%q)", in)
		assert.NoError(t, checkStreamName(got))
	}
}

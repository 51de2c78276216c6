package auditchainprocessor

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/auditchain/auditchain/processor/auditchainprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id       component.ID
		expected *Config
		errors   []string // each must appear in the validation error
	}{
		{
			id:       component.NewID(metadata.Type),
			expected: createDefaultConfig(),
		},
		{
			id: component.NewIDWithName(metadata.Type, "explicit"),
			expected: &Config{
				StreamName: "payments-eu.1",
				State:      StateConfig{Directory: "/srv/auditchain/state", NewStream: true},
				OnError:    OnErrorForwardUnstamped,
			},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "stream_name_slash"),
			errors: []string{`stream_name: "a/b" contains '/'; use letters, digits, '.', '_' and '-'`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "stream_name_start"),
			errors: []string{`stream_name: "_payments" must start with a letter or digit`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "stream_name_long"),
			errors: []string{`stream_name: must be at most 128 characters`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "stream_name_unicode"),
			errors: []string{`stream_name: "zürich" contains 'ü'`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "state_directory_empty"),
			errors: []string{`state.directory: must not be empty`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "on_error_unknown"),
			errors: []string{`on_error: "drop" is not valid; use "reject" or "forward_unstamped"`},
		},
		{
			id: component.NewIDWithName(metadata.Type, "several_errors"),
			errors: []string{
				`stream_name: "a b" contains ' '`,
				`on_error: "ignore" is not valid`,
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))

			err = confmap.Validate(cfg)
			if tt.expected != nil {
				require.NoError(t, err)
				assert.Equal(t, tt.expected, cfg)
				return
			}
			require.Error(t, err)
			for _, want := range tt.errors {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	assert.Empty(t, cfg.StreamName, "derived at creation")
	assert.Equal(t, "/var/lib/otelcol/auditchain", cfg.State.Directory)
	assert.False(t, cfg.State.NewStream)
	assert.Equal(t, OnErrorReject, cfg.OnError)
	assert.NoError(t, cfg.Validate())
}

func TestEngineConfigJSON(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.State.Directory = "/data/state"
	b, err := cfg.engineConfigJSON("host-1")
	require.NoError(t, err)
	// Exactly the keys the engine knows: it rejects unknown ones.
	assert.JSONEq(t, `{"stream_name":"host-1","state":{"directory":"/data/state","new_stream":false}}`, string(b))

	cfg.State.NewStream = true
	b, err = cfg.engineConfigJSON("host-1")
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"new_stream":true`), string(b))
}

package auditchainprocessor

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
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
				Mode:           ModeStamp,
				VerifyConfig:   defaultVerifyConfig(),
				StreamName:     "payments-eu.1",
				State:          StateConfig{Directory: "/srv/auditchain/state", NewStream: true},
				OnError:        OnErrorForwardUnstamped,
				KeyFile:        "/etc/otelcol/keys/audit.chain.key",
				SigningKeyFile: "/etc/otelcol/keys/audit.sign.key",
				OnBadRecord:    OnBadRecordDropRecord,
				Stamp:          StampCompact,
				KeyEpoch:       KeyEpochConfig{Records: 5000, Interval: 30 * time.Second},
				Checkpoint: CheckpointConfig{
					Interval: 5 * time.Minute,
					Records:  20000,
					File:     "/var/lib/otelcol/auditchain/checkpoints.jsonl",
				},
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "gateway"),
			expected: func() *Config {
				cfg := createDefaultConfig()
				cfg.Mode = ModeVerify
				cfg.KeyFile = "/etc/otelcol/keys/audit.chain.key"
				cfg.PublicKeys = []string{"/etc/otelcol/keys/audit.pub"}
				cfg.OnFailure = OnFailureDrop
				cfg.ReorderWindow = 500
				cfg.ReorderTimeout = 30 * time.Second
				return cfg
			}(),
		},
		{
			// Keys alone: key_epoch and checkpoint keep their defaults.
			id: component.NewIDWithName(metadata.Type, "keys_only"),
			expected: func() *Config {
				cfg := createDefaultConfig()
				cfg.KeyFile = "/etc/otelcol/keys/audit.chain.key"
				cfg.SigningKeyFile = "/etc/otelcol/keys/audit.sign.key"
				return cfg
			}(),
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
			id:     component.NewIDWithName(metadata.Type, "key_epoch_records_zero"),
			errors: []string{`key_epoch.records: must be at least 1 (got 0)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "key_epoch_records_negative"),
			errors: []string{`key_epoch.records: must be at least 1 (got -3)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "key_epoch_interval_short"),
			errors: []string{`key_epoch.interval: must be at least 1s (got 500ms)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "checkpoint_records_zero"),
			errors: []string{`checkpoint.records: must be at least 1 (got 0)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "checkpoint_interval_short"),
			errors: []string{`checkpoint.interval: must be at least 1s (got 999ms)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "checkpoint_interval_zero"),
			errors: []string{`checkpoint.interval: must be at least 1s (got 0s)`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "checkpoint_file_without_signing_key"),
			errors: []string{`checkpoint.file: checkpoints need signing_key_file or signing_key; set one or remove checkpoint.file`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "stamp_unknown"),
			errors: []string{`stamp: "short" is not valid; use "full" or "compact"`},
		},
		{
			id:     component.NewIDWithName(metadata.Type, "on_bad_record_unknown"),
			errors: []string{`on_bad_record: "skip" is not valid; use "reject_batch" or "drop_record"`},
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
	assert.Empty(t, cfg.KeyFile, "a plain chain unless configured")
	assert.Empty(t, cfg.SigningKeyFile, "no checkpoints unless configured")
	assert.Equal(t, KeyEpochConfig{Records: 10000, Interval: time.Minute}, cfg.KeyEpoch)
	assert.Equal(t, CheckpointConfig{Interval: time.Minute, Records: 10000}, cfg.Checkpoint)
	assert.NoError(t, cfg.Validate())
}

func TestEngineConfigJSON(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.State.Directory = "/data/state"
	b, err := cfg.engineConfigJSON("host-1", pipeline.SignalLogs)
	require.NoError(t, err)
	// Exactly the keys the engine knows: it rejects unknown ones. Unset
	// key files are left out; durations are integer nanoseconds.
	assert.JSONEq(t, `{
		"stream_name": "host-1",
		"state": {"directory": "/data/state", "new_stream": false},
		"key_epoch": {"records": 10000, "interval": 60000000000},
		"checkpoint": {"interval": 60000000000, "records": 10000},
		"signal": "logs",
		"on_bad_record": "reject_batch",
		"stamp": "full"
	}`, string(b))

	cfg.State.NewStream = true
	b, err = cfg.engineConfigJSON("host-1", pipeline.SignalLogs)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"new_stream":true`), string(b))

	cfg.State.NewStream = false
	cfg.KeyFile = "/keys/a.chain.key"
	cfg.SigningKeyFile = "/keys/a.sign.key"
	cfg.KeyEpoch = KeyEpochConfig{Records: 5, Interval: 1500 * time.Millisecond}
	cfg.Checkpoint = CheckpointConfig{Interval: 2 * time.Second, Records: 7, File: "/data/cp.jsonl"}
	b, err = cfg.engineConfigJSON("host-1", pipeline.SignalLogs)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"stream_name": "host-1",
		"state": {"directory": "/data/state", "new_stream": false},
		"key_file": "/keys/a.chain.key",
		"signing_key_file": "/keys/a.sign.key",
		"key_epoch": {"records": 5, "interval": 1500000000},
		"checkpoint": {"interval": 2000000000, "records": 7, "file": "/data/cp.jsonl"},
		"signal": "logs",
		"on_bad_record": "reject_batch",
		"stamp": "full"
	}`, string(b))

	// A traces stream checking content hashes.
	cfg.ContentHash = ContentHashConfig{Check: true, OnMismatch: "reject"}
	b, err = cfg.engineConfigJSON("host-1-traces", pipeline.SignalTraces)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"signal":"traces","content_hash":{"check":true,"on_mismatch":"reject"}`)
	_, err = cfg.engineConfigJSON("x", pipeline.SignalMetrics)
	assert.ErrorContains(t, err, "not supported")
}

// Numbers that do not fit the Go integer a key decodes into are reported
// as written, naming the key (issue 13, item 10): the decoder alone wraps
// 9223372036854775808 to -9223372036854775808.
func TestNumericKeysOutOfRangeAreReportedAsWritten(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"checkpoint:\n  records: 9223372036854775808", "checkpoint.records: must be a whole number between 1 and 9223372036854775807 (got 9223372036854775808)"},
		{"key_epoch:\n  records: 18446744073709551616", "key_epoch.records: must be a whole number between 1 and 9223372036854775807 (got 1.8446744073709552e+19)"},
		{"checkpoint:\n  records: 2.5", "checkpoint.records: must be a whole number between 1 and 9223372036854775807 (got 2.5)"},
		{"checkpoint:\n  interval: 9223372036854775808", "checkpoint.interval: 9223372036854775808 (nanoseconds) is not a duration"},
		{"key_epoch:\n  interval: -1e300", "key_epoch.interval: -1e+300 (nanoseconds) is not a duration"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte(tc.yaml+"\n"), 0o600))
		cm, err := confmaptest.LoadConf(path)
		require.NoError(t, err)
		cfg := NewFactory().CreateDefaultConfig()
		err = cm.Unmarshal(cfg)
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want)
		assert.NotContains(t, err.Error(), "-9223372036854775808")
	}
	// The largest value that fits is accepted (and then validated).
	cm := confmap.NewFromStringMap(map[string]any{"checkpoint": map[string]any{"records": uint64(math.MaxInt64)}})
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))
	assert.Equal(t, math.MaxInt64, cfg.Checkpoint.Records)
}

package auditchainprocessor

import (
	"go.opentelemetry.io/collector/pipeline"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// signing_key.pkcs11 (a key pair on a PKCS#11 token) as YAML gives it:
// loaded, validated with messages naming the key, and passed to the engine.
func TestSigningKeyPKCS11Config(t *testing.T) {
	hsm := map[string]any{
		"module":      "/usr/lib/softhsm/libsofthsm2.so",
		"token_label": "audit",
		"key_label":   "audit-sign",
		"pin_file":    "/etc/otelcol/keys/audit.pin",
	}
	load := func(t *testing.T, raw map[string]any) (*Config, error) {
		t.Helper()
		cfg := createDefaultConfig()
		require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
		return cfg, confmap.Validate(cfg)
	}

	cfg, err := load(t, map[string]any{
		"signing_key": map[string]any{"pkcs11": hsm},
		"checkpoint":  map[string]any{"file": "/var/lib/otelcol/auditchain/checkpoints.jsonl"},
	})
	require.NoError(t, err)
	require.NotNil(t, cfg.SigningKey.PKCS11)
	assert.Equal(t, "audit-sign", cfg.SigningKey.PKCS11.KeyLabel)
	b, err := cfg.engineConfigJSON("host-1", pipeline.SignalLogs)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"stream_name": "host-1",
		"signal": "logs",
		"on_bad_record": "reject_batch",
		"stamp": "full",
		"state": {"directory": "/var/lib/otelcol/auditchain", "new_stream": false},
		"signing_key": {"pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "audit",
			"key_label": "audit-sign", "pin_file": "/etc/otelcol/keys/audit.pin"}},
		"key_epoch": {"records": 10000, "interval": 60000000000},
		"checkpoint": {"interval": 60000000000, "records": 10000, "file": "/var/lib/otelcol/auditchain/checkpoints.jsonl"}
	}`, string(b))

	without := func(field string) map[string]any {
		m := map[string]any{}
		for k, v := range hsm {
			if k != field {
				m[k] = v
			}
		}
		return m
	}
	for _, tt := range []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"both", map[string]any{"signing_key_file": "/k/a.sign.key", "signing_key": map[string]any{"pkcs11": hsm}},
			"signing_key: signing_key and signing_key_file are mutually exclusive: keep one"},
		{"module", map[string]any{"signing_key": map[string]any{"pkcs11": without("module")}},
			"signing_key.pkcs11.module: must be set"},
		{"token_label", map[string]any{"signing_key": map[string]any{"pkcs11": without("token_label")}},
			"signing_key.pkcs11.token_label: must be set"},
		{"key_label", map[string]any{"signing_key": map[string]any{"pkcs11": without("key_label")}},
			"signing_key.pkcs11.key_label: must be set"},
		{"key_label_space", map[string]any{"signing_key": map[string]any{"pkcs11": map[string]any{
			"module": "/m.so", "token_label": "t", "key_label": "audit sign", "pin_file": "/p"}}},
			`signing_key.pkcs11.key_label: "audit sign" cannot name a key in checkpoint signatures`},
		{"pin_file", map[string]any{"signing_key": map[string]any{"pkcs11": without("pin_file")}},
			"signing_key.pkcs11.pin_file: must be set"},
		{"checkpoint_file_alone", map[string]any{"checkpoint": map[string]any{"file": "/c.jsonl"}},
			"checkpoint.file: checkpoints need signing_key_file or signing_key; set one or remove checkpoint.file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.raw)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	// An unknown key under pkcs11 is refused by the collector's decoder.
	cfg = createDefaultConfig()
	err = confmap.NewFromStringMap(map[string]any{"signing_key": map[string]any{"pkcs11": map[string]any{"modul": "/m.so"}}}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "modul")
}

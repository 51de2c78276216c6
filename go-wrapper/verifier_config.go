package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
)

// Mode says what the processor does with the records it is given.
type Mode string

const (
	// ModeStamp stamps records (an agent): the default.
	ModeStamp Mode = "stamp"
	// ModeVerify checks stamped records as they arrive (a gateway
	// downstream of stamping agents; docs/SPEC.md §12).
	ModeVerify Mode = "verify"
)

// OnFailure says what a verifying processor does with a record that fails.
type OnFailure string

const (
	// OnFailureMark forwards it with audit.verify.result = "failed" and
	// audit.verify.reason (the default).
	OnFailureMark OnFailure = "mark"
	// OnFailureDrop removes it from the batch.
	OnFailureDrop OnFailure = "drop"
	// OnFailureRoute marks it, for a split downstream into a quarantine
	// exporter (README.md, "Verifying on a gateway").
	OnFailureRoute OnFailure = "route"
)

// Defaults of mode: verify.
const (
	DefaultReorderWindow  = 1000
	DefaultReorderTimeout = time.Minute
	DefaultHeartbeatGrace = time.Minute
	// DefaultVerifyMaxStreams bounds the streams one verifier remembers.
	DefaultVerifyMaxStreams = 10000
)

// The attributes a verifying processor writes on failing records
// (docs/SPEC.md §4.3, §12). The prefix audit.verify. is reserved.
const (
	VerifyResultAttribute = "audit.verify.result"
	VerifyReasonAttribute = "audit.verify.reason"
	verifyFailed          = "failed"
)

// VerifyConfig holds the keys of mode: verify (besides key_file and
// state.directory, which both modes use).
type VerifyConfig struct {
	// OnFailure is "mark" (default), "drop" or "route".
	OnFailure OnFailure `mapstructure:"on_failure"`
	// PublicKeys are the checkpoint signers' public keys (key strings or
	// files holding one, as `auditchain verify --public-key` takes them).
	// Empty: checkpoints are not checked.
	PublicKeys []string `mapstructure:"public_keys"`
	// ReorderWindow is how many numbers a record may arrive ahead of its
	// predecessor and be held for it.
	ReorderWindow int `mapstructure:"reorder_window"`
	// ReorderTimeout is how long a record is held for its predecessor.
	ReorderTimeout time.Duration `mapstructure:"reorder_timeout"`
	// HeartbeatGrace is how long past its interval a stream's newest
	// checkpoint may be before the stream is reported silent.
	HeartbeatGrace time.Duration `mapstructure:"heartbeat_grace"`
	// VerifyMaxStreams bounds the streams remembered.
	VerifyMaxStreams int `mapstructure:"verify_max_streams"`
}

func defaultVerifyConfig() VerifyConfig {
	return VerifyConfig{
		OnFailure:        OnFailureMark,
		ReorderWindow:    DefaultReorderWindow,
		ReorderTimeout:   DefaultReorderTimeout,
		HeartbeatGrace:   DefaultHeartbeatGrace,
		VerifyMaxStreams: DefaultVerifyMaxStreams,
	}
}

// validateMode checks mode and, in verify mode, the verify keys and that no
// key that only stamping uses is set.
func (cfg *Config) validateMode() []error {
	switch cfg.Mode {
	case ModeStamp, "":
		return nil
	case ModeVerify:
	default:
		return []error{fmt.Errorf("mode: %q is not valid; use %q or %q", string(cfg.Mode), ModeStamp, ModeVerify)}
	}
	var errs []error
	v := cfg.VerifyConfig
	switch v.OnFailure {
	case OnFailureMark, OnFailureDrop, OnFailureRoute:
	default:
		errs = append(errs, fmt.Errorf("on_failure: %q is not valid; use %q, %q or %q", string(v.OnFailure), OnFailureMark, OnFailureDrop, OnFailureRoute))
	}
	if v.ReorderWindow < 1 || v.ReorderWindow > 1000000 {
		errs = append(errs, fmt.Errorf("reorder_window: must be between 1 and 1000000 records (got %d)", v.ReorderWindow))
	}
	if v.ReorderTimeout < time.Second {
		errs = append(errs, fmt.Errorf("reorder_timeout: must be at least 1s (got %s)", v.ReorderTimeout))
	}
	if v.HeartbeatGrace < 0 {
		errs = append(errs, fmt.Errorf("heartbeat_grace: must not be negative (got %s)", v.HeartbeatGrace))
	}
	if v.VerifyMaxStreams < 1 {
		errs = append(errs, fmt.Errorf("verify_max_streams: must be at least 1 (got %d)", v.VerifyMaxStreams))
	}
	for i, k := range v.PublicKeys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("public_keys[%d]: must not be empty", i))
		}
	}
	stampOnly := []struct {
		key string
		set bool
	}{
		{"stream_name", cfg.StreamName != ""},
		{"signing_key_file", cfg.SigningKeyFile != ""},
		{"signing_key", cfg.SigningKey.PKCS11 != nil},
		{"checkpoint.file", cfg.Checkpoint.File != ""},
		{"select", len(cfg.Select) > 0},
		{"policy", cfg.Policy != (PolicyConfig{})},
		{"partition_by", len(cfg.PartitionBy) > 0},
		{"content_hash", cfg.ContentHash.Check || cfg.ContentHash.OnMismatch != ""},
		{"stamp", cfg.Stamp != StampFull},
		{"on_error", cfg.OnError != OnErrorReject},
		{"on_bad_record", cfg.OnBadRecord != OnBadRecordRejectBatch},
		{"witnesses", len(cfg.Witnesses) > 0},
		{"witness_quorum", cfg.WitnessQuorum != 0},
		{"log", cfg.Log.Origin != ""},
	}
	for _, o := range stampOnly {
		if o.set {
			errs = append(errs, fmt.Errorf("%s: only mode: stamp uses it; remove it under mode: verify", o.key))
		}
	}
	return errs
}

func (cfg *Config) verifying() bool { return cfg.Mode == ModeVerify }

// verifyOnlySet names a verify key set under mode: stamp.
func (cfg *Config) verifyOnlySet() []error {
	if cfg.verifying() {
		return nil
	}
	d := defaultVerifyConfig()
	v := cfg.VerifyConfig
	var errs []error
	for _, o := range []struct {
		key string
		set bool
	}{
		{"on_failure", v.OnFailure != d.OnFailure},
		{"public_keys", len(v.PublicKeys) > 0},
		{"reorder_window", v.ReorderWindow != d.ReorderWindow},
		{"reorder_timeout", v.ReorderTimeout != d.ReorderTimeout},
		{"heartbeat_grace", v.HeartbeatGrace != d.HeartbeatGrace},
		{"verify_max_streams", v.VerifyMaxStreams != d.VerifyMaxStreams},
	} {
		if o.set {
			errs = append(errs, fmt.Errorf("%s: only mode: verify uses it", o.key))
		}
	}
	return errs
}

// checkerState is the verifier's own state directory: under
// state.directory, one per component and signal.
func (cfg *Config) checkerState(id component.ID, signal pipeline.Signal) string {
	name := "verify-" + signal.String()
	if id.Name() != "" {
		name += "-" + sanitizeStreamName(id.Name())
	}
	return filepath.Join(cfg.State.Directory, name)
}

// checkerConfigJSON is the Rust checker's configuration (src/gate/mod.rs).
func (cfg *Config) checkerConfigJSON(stateDir string) ([]byte, error) {
	if !cfg.verifying() {
		return nil, errors.New("auditchain: not in mode: verify")
	}
	type checkerConfig struct {
		StateDirectory        string   `json:"state_directory"`
		KeyFile               string   `json:"key_file,omitempty"`
		PublicKeys            []string `json:"public_keys"`
		ReorderWindow         int      `json:"reorder_window"`
		ReorderTimeoutSeconds int64    `json:"reorder_timeout_seconds"`
		HeartbeatGraceSeconds int64    `json:"heartbeat_grace_seconds"`
		MaxStreams            int      `json:"max_streams"`
	}
	v := cfg.VerifyConfig
	keys := v.PublicKeys
	if keys == nil {
		keys = []string{}
	}
	return json.Marshal(checkerConfig{
		StateDirectory:        stateDir,
		KeyFile:               cfg.KeyFile,
		PublicKeys:            keys,
		ReorderWindow:         v.ReorderWindow,
		ReorderTimeoutSeconds: int64(v.ReorderTimeout / time.Second),
		HeartbeatGraceSeconds: int64(v.HeartbeatGrace / time.Second),
		MaxStreams:            v.VerifyMaxStreams,
	})
}

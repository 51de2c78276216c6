package auditchainprocessor // import "github.com/auditchain/auditchain/processor/auditchainprocessor"

import (
	"encoding/json"
	"errors"
	"fmt"
)

// DefaultStateDirectory is where stream state lives unless state.directory
// says otherwise. It follows the file_storage extension's convention
// (/var/lib/otelcol/file_storage): a directory of its own under
// /var/lib/otelcol that survives restarts. Each stream gets a subdirectory
// named after its stream_name.
const DefaultStateDirectory = "/var/lib/otelcol/auditchain"

// OnError says what happens to a batch that cannot be stamped.
type OnError string

const (
	// OnErrorReject refuses the batch: it is not forwarded and the error
	// goes back to the receiver, so that clients and queues retry. The
	// default: an audit pipeline fails closed.
	OnErrorReject OnError = "reject"
	// OnErrorForwardUnstamped forwards the batch without stamps and counts
	// it (processor_auditchain_records_forwarded_unstamped). The verifier
	// will not see those records as part of any stream.
	OnErrorForwardUnstamped OnError = "forward_unstamped"
)

// Config is the configuration of the auditchain processor. The YAML keys
// are also the keys of the engine's JSON configuration, so that errors
// from the Rust core name the key the user has to fix.
type Config struct {
	// StreamName names the stream; the stream id is derived from it. Empty
	// means derived: the host name, plus "-<name>" for `auditchain/<name>`.
	// Every processor instance (one per pipeline) needs its own.
	StreamName string `mapstructure:"stream_name"`

	// State is where the stream state is kept and what to do without it.
	State StateConfig `mapstructure:"state"`

	// OnError is "reject" (default) or "forward_unstamped".
	OnError OnError `mapstructure:"on_error"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// StateConfig configures the durable stream state.
type StateConfig struct {
	// Directory holds one subdirectory per stream name with the state file
	// and its lock. Default: DefaultStateDirectory.
	Directory string `mapstructure:"directory"`

	// NewStream starts a new stream when the saved state is missing or
	// unreadable. By default the processor refuses to start instead: a
	// silently restarted stream would hide lost state.
	NewStream bool `mapstructure:"new_stream"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	return &Config{
		State:   StateConfig{Directory: DefaultStateDirectory},
		OnError: OnErrorReject,
	}
}

// Validate checks the configuration; every message names the YAML key.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.StreamName != "" {
		if err := checkStreamName(cfg.StreamName); err != nil {
			errs = append(errs, fmt.Errorf("stream_name: %w", err))
		}
	}
	if cfg.State.Directory == "" {
		errs = append(errs, errors.New("state.directory: must not be empty"))
	}
	switch cfg.OnError {
	case OnErrorReject, OnErrorForwardUnstamped:
	default:
		errs = append(errs, fmt.Errorf("on_error: %q is not valid; use %q or %q", string(cfg.OnError), OnErrorReject, OnErrorForwardUnstamped))
	}
	return errors.Join(errs...)
}

// engineConfig is the JSON configuration of the Rust engine
// (docs/SPEC.md §7). The Rust side rejects unknown keys, so it carries
// exactly the keys the engine knows; new engine settings (key_file,
// signing_key_file, checkpoint, ...) become new fields here, with
// omitempty when they are optional.
type engineConfig struct {
	StreamName string            `json:"stream_name"`
	State      engineStateConfig `json:"state"`
}

type engineStateConfig struct {
	Directory string `json:"directory"`
	NewStream bool   `json:"new_stream"`
}

// engineConfigJSON is the engine configuration for this processor, with
// the stream name already resolved (see resolveStreamName).
func (cfg *Config) engineConfigJSON(streamName string) ([]byte, error) {
	return json.Marshal(engineConfig{
		StreamName: streamName,
		State: engineStateConfig{
			Directory: cfg.State.Directory,
			NewStream: cfg.State.NewStream,
		},
	})
}

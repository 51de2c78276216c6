package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pipeline"
)

// DefaultStateDirectory is where stream state lives unless state.directory
// says otherwise. It follows the file_storage extension's convention
// (/var/lib/otelcol/file_storage): a directory of its own under
// /var/lib/otelcol that survives restarts. Each stream gets a subdirectory
// named after its stream_name.
const DefaultStateDirectory = "/var/lib/otelcol/auditchain"

// Defaults of key_epoch and checkpoint: the epoch key evolves, and a
// checkpoint is signed, after this many records or this long, whichever
// comes first.
const (
	DefaultKeyEpochRecords    = 10000
	DefaultKeyEpochInterval   = time.Minute
	DefaultCheckpointRecords  = 10000
	DefaultCheckpointInterval = time.Minute
)

// DefaultWitnessTimeout is a witness request's timeout when
// witnesses[].timeout is not set.
const DefaultWitnessTimeout = 5 * time.Second

// minInterval is the shortest key_epoch.interval and checkpoint.interval
// the engine accepts.
const minInterval = time.Second

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

// OnBadRecord says what happens to a batch that holds records the
// processor cannot stamp (docs/RELIABILITY.md).
type OnBadRecord string

const (
	// OnBadRecordRejectBatch refuses the whole batch with a permanent
	// error naming the first bad record: nothing of it is stamped or
	// forwarded, and the sender drops it. The default.
	OnBadRecordRejectBatch OnBadRecord = "reject_batch"
	// OnBadRecordDropRecord stamps and forwards the batch's other records,
	// drops the bad ones (counted in
	// processor_auditchain_records_dropped), and returns a permanent error
	// saying how many were dropped and why, so that the sender knows and
	// does not retry what was delivered.
	OnBadRecordDropRecord OnBadRecord = "drop_record"
)

// StampForm is how the stamp is written on the batch's records
// (docs/SPEC.md §4.1, §4.1.1).
type StampForm string

const (
	// StampFull writes the OpenTelemetry audit-logging (OTEP 0267)
	// attributes, one per field. The default.
	StampFull StampForm = "full"
	// StampCompact writes one attribute, audit.integrity.stamp, holding
	// what the verifier cannot derive (stream id, number, key epoch, link,
	// end): 131 bytes of OTLP/JSON plus the stream id's length per record
	// instead of about 630.
	// The processor's own control records keep the full stamp.
	StampCompact StampForm = "compact"
)

// Config is the configuration of the auditchain processor. The YAML keys
// are also the keys of the engine's JSON configuration, so that errors
// from the Rust core name the key the user has to fix.
type Config struct {
	// Mode is "stamp" (default: stamp records, an agent) or "verify"
	// (check stamped records, a gateway; verifier_config.go).
	Mode Mode `mapstructure:"mode"`

	// VerifyConfig holds the keys of mode: verify.
	VerifyConfig `mapstructure:",squash"`

	// StreamName names the stream; the stream id is derived from it. Empty
	// means derived: the host name, plus "-<name>" for `auditchain/<name>`.
	// Every processor instance (one per pipeline) needs its own.
	StreamName string `mapstructure:"stream_name"`

	// State is where the stream state is kept and what to do without it.
	State StateConfig `mapstructure:"state"`

	// OnError is "reject" (default) or "forward_unstamped".
	OnError OnError `mapstructure:"on_error"`

	// OnBadRecord is "reject_batch" (default) or "drop_record": what
	// happens to a batch with records that cannot be stamped (invalid
	// UTF-8, nested too deeply, reserved attribute names).
	OnBadRecord OnBadRecord `mapstructure:"on_bad_record"`

	// Stamp is "full" (default) or "compact": the form of the stamp on
	// the records (docs/SPEC.md §4.1.1). Both verify with the same CLI.
	Stamp StampForm `mapstructure:"stamp"`

	// KeyFile is the chain key (from `auditchain keygen`, NAME.chain.key):
	// with it every link is an HMAC-SHA256 under an epoch key that evolves
	// forward. The engine reads it only when a stream without a keyed
	// predecessor starts (first start, or after state loss); a clean
	// restart derives the next stream's key from the previous stream's
	// evolved key. Empty: a plain SHA-256 chain.
	KeyFile string `mapstructure:"key_file"`

	// SigningKeyFile is the Ed25519 key that signs checkpoints (from
	// `auditchain keygen`, NAME.sign.key, in the golang.org/x/mod/sumdb/note
	// private key format). Read at every start. Empty: no checkpoints.
	SigningKeyFile string `mapstructure:"signing_key_file"`

	// SigningKey is a checkpoint signing key that is not a file: an Ed25519
	// key pair on a PKCS#11 token (an HSM), which signs every checkpoint
	// itself, so that the private key never enters the collector's memory.
	// Exclusive with SigningKeyFile.
	SigningKey SigningKeyConfig `mapstructure:"signing_key"`

	// KeyEpoch says when the epoch key of a keyed chain evolves.
	KeyEpoch KeyEpochConfig `mapstructure:"key_epoch"`

	// Checkpoint says when signed checkpoints are emitted and where else
	// they are written.
	Checkpoint CheckpointConfig `mapstructure:"checkpoint"`

	// Select lists OTTL conditions (selection.go): a record is stamped
	// when any is true (or Policy selects it); the others pass through
	// unstamped. Empty (and no Policy): every record is stamped.
	Select []string `mapstructure:"select"`

	// Policy is a Rego policy selecting records, besides Select.
	Policy PolicyConfig `mapstructure:"policy"`

	// PartitionBy lists OTTL paths (e.g. resource.attributes["service.name"]):
	// one stream per distinct value (partition.go).
	PartitionBy []string `mapstructure:"partition_by"`

	// MaxStreams bounds the partitions' streams; the records of further
	// partitions go to one overflow stream. Default: DefaultMaxStreams.
	MaxStreams int `mapstructure:"max_streams"`

	// ContentHash checks the application's audit.content_hash.
	ContentHash ContentHashConfig `mapstructure:"content_hash"`

	// Log is the transparency log (docs/SPEC.md §5.5) every record joins
	// once checkpoints are signed.
	Log LogConfig `mapstructure:"log"`

	// Witnesses cosign the log's checkpoints (C2SP tlog-witness): after
	// each checkpoint the processor POSTs add-checkpoint to each, off the
	// hot path, and records the cosignatures. Needs a signing key.
	Witnesses []WitnessConfig `mapstructure:"witnesses"`

	// WitnessQuorum is how many witnesses must cosign a checkpoint for it
	// to count as witnessed (processor_auditchain_checkpoints_witnessed).
	// 0: all of them.
	WitnessQuorum int `mapstructure:"witness_quorum"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ContentHashConfig is `content_hash:` (docs/SPEC.md §4.6): check a
// stamped log record's audit.content_hash against its body, and mark or
// reject a mismatch.
type ContentHashConfig struct {
	Check bool `mapstructure:"check"`
	// OnMismatch is "mark" (the default: stamp the record with
	// audit.integrity.content_hash_check: mismatch) or "reject" (refuse
	// the batch, a permanent error).
	OnMismatch string `mapstructure:"on_mismatch"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (cfg *Config) partitioned() bool { return len(cfg.PartitionBy) > 0 }

func (cfg *Config) maxStreams() int {
	if cfg.MaxStreams == 0 {
		return DefaultMaxStreams
	}
	return cfg.MaxStreams
}

// KeyEpochConfig: the epoch key evolves after Records records or Interval,
// whichever comes first (an epoch without records is not ended early).
type KeyEpochConfig struct {
	// Records is at least 1. Default: DefaultKeyEpochRecords.
	Records int `mapstructure:"records"`
	// Interval is at least 1s. Default: DefaultKeyEpochInterval.
	Interval time.Duration `mapstructure:"interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// CheckpointConfig: with signing_key_file a signed checkpoint is emitted
// after Records records or Interval, whichever comes first, also when no
// records arrive (a heartbeat), and on shutdown.
type CheckpointConfig struct {
	// Interval is at least 1s; the checkpoint states it in whole seconds
	// (rounded up). Default: DefaultCheckpointInterval.
	Interval time.Duration `mapstructure:"interval"`
	// Records is at least 1. Default: DefaultCheckpointRecords.
	Records int `mapstructure:"records"`
	// File, when set, also gets every checkpoint appended as one JSON line
	// {"stream_id","sequence","note"}. Requires signing_key_file.
	File string `mapstructure:"file"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// LogConfig is `log:`.
type LogConfig struct {
	// Origin is the log's origin, the first line of its checkpoints, as
	// registered with the witnesses. Empty: the signing key's name
	// (<key name>/<partition> with partition_by; a configured origin also
	// gets /<partition>). It must never change.
	Origin string `mapstructure:"origin"`
	// FormatVersion is 2 (default: the log) or 1 (version 1 streams,
	// chain-head checkpoints, for verifiers older than the log).
	FormatVersion int `mapstructure:"format_version"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// WitnessConfig is one of `witnesses:`.
type WitnessConfig struct {
	// URL is the witness's prefix: add-checkpoint is POSTed to
	// <url>/add-checkpoint.
	URL string `mapstructure:"url"`
	// Key is the witness's cosignature verifier key (vkey), e.g.
	// witness.example/w1+99d91bd5+BIzY...
	Key string `mapstructure:"key"`
	// Timeout of one request. Default: DefaultWitnessTimeout.
	Timeout time.Duration `mapstructure:"timeout"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SigningKeyConfig is a signing key held elsewhere than in a file.
type SigningKeyConfig struct {
	// PKCS11 is a key pair on a PKCS#11 token. Nil: none.
	PKCS11 *PKCS11Config `mapstructure:"pkcs11"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PKCS11Config names an Ed25519 key pair (CKK_EC_EDWARDS) on a PKCS#11
// token; the token signs with CKM_EDDSA. The engine reads the public key
// from the token (the public key object with the same label) for the
// checkpoints' key name and hash.
type PKCS11Config struct {
	// Module is the path of the token's PKCS#11 module (a shared library,
	// e.g. /usr/lib/softhsm/libsofthsm2.so).
	Module string `mapstructure:"module"`
	// TokenLabel selects the token.
	TokenLabel string `mapstructure:"token_label"`
	// KeyLabel selects the key pair; it is also the key's name in
	// checkpoint signatures (no spaces, no '+').
	KeyLabel string `mapstructure:"key_label"`
	// PinFile holds the user PIN; like a key file it must be readable by
	// its owner only.
	PinFile string `mapstructure:"pin_file"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// validate checks a PKCS#11 key with the engine's messages
// (src/engine/config.rs).
func (p *PKCS11Config) validate() error {
	switch {
	case p.Module == "":
		return errors.New("signing_key.pkcs11.module: must be set (the path of the token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so)")
	case p.TokenLabel == "":
		return errors.New("signing_key.pkcs11.token_label: must be set (the label of the token holding the key)")
	case p.KeyLabel == "":
		return errors.New("signing_key.pkcs11.key_label: must be set (the label of the Ed25519 key pair)")
	case strings.ContainsFunc(p.KeyLabel, func(r rune) bool { return unicode.IsSpace(r) || r == '+' }):
		return fmt.Errorf("signing_key.pkcs11.key_label: %q cannot name a key in checkpoint signatures: use a label without spaces and '+'", p.KeyLabel)
	case p.PinFile == "":
		return errors.New("signing_key.pkcs11.pin_file: must be set (a file holding the token's user PIN, mode 0600)")
	}
	return nil
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
		Mode:         ModeStamp,
		VerifyConfig: defaultVerifyConfig(),
		State:        StateConfig{Directory: DefaultStateDirectory},
		OnError:      OnErrorReject,
		OnBadRecord:  OnBadRecordRejectBatch,
		Stamp:        StampFull,
		KeyEpoch: KeyEpochConfig{
			Records:  DefaultKeyEpochRecords,
			Interval: DefaultKeyEpochInterval,
		},
		Checkpoint: CheckpointConfig{
			Interval: DefaultCheckpointInterval,
			Records:  DefaultCheckpointRecords,
		},
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
	switch cfg.OnBadRecord {
	case OnBadRecordRejectBatch, OnBadRecordDropRecord:
	default:
		errs = append(errs, fmt.Errorf("on_bad_record: %q is not valid; use %q or %q", string(cfg.OnBadRecord), OnBadRecordRejectBatch, OnBadRecordDropRecord))
	}
	switch cfg.Stamp {
	case StampFull, StampCompact:
	default:
		errs = append(errs, fmt.Errorf("stamp: %q is not valid; use %q or %q", string(cfg.Stamp), StampFull, StampCompact))
	}
	// The same checks, with the same messages, as the engine's
	// (src/config.rs), so that a bad value fails at config validation
	// rather than at Start.
	if cfg.KeyEpoch.Records < 1 {
		errs = append(errs, fmt.Errorf("key_epoch.records: must be at least 1 (got %d)", cfg.KeyEpoch.Records))
	}
	if cfg.KeyEpoch.Interval < minInterval {
		errs = append(errs, fmt.Errorf("key_epoch.interval: must be at least 1s (got %s)", cfg.KeyEpoch.Interval))
	}
	if cfg.Checkpoint.Records < 1 {
		errs = append(errs, fmt.Errorf("checkpoint.records: must be at least 1 (got %d)", cfg.Checkpoint.Records))
	}
	if cfg.Checkpoint.Interval < minInterval {
		errs = append(errs, fmt.Errorf("checkpoint.interval: must be at least 1s (got %s)", cfg.Checkpoint.Interval))
	}
	if p := cfg.SigningKey.PKCS11; p != nil {
		if cfg.SigningKeyFile != "" {
			errs = append(errs, errors.New("signing_key: signing_key and signing_key_file are mutually exclusive: keep one"))
		} else if err := p.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Checkpoint.File != "" && cfg.SigningKeyFile == "" && cfg.SigningKey.PKCS11 == nil {
		errs = append(errs, errors.New("checkpoint.file: checkpoints need signing_key_file or signing_key; set one or remove checkpoint.file"))
	}
	errs = append(errs, cfg.validateSelection()...)
	errs = append(errs, cfg.validateLog()...)
	errs = append(errs, cfg.validateMode()...)
	errs = append(errs, cfg.verifyOnlySet()...)
	return errors.Join(errs...)
}

// validateLog checks log and witnesses as the engine does (the engine
// also checks the witness keys and says what is wrong with one).
func (cfg *Config) validateLog() []error {
	var errs []error
	signs := cfg.SigningKeyFile != "" || cfg.SigningKey.PKCS11 != nil
	if strings.ContainsFunc(cfg.Log.Origin, unicode.IsControl) || strings.TrimSpace(cfg.Log.Origin) != cfg.Log.Origin {
		errs = append(errs, fmt.Errorf("log.origin: %q must be one line without leading or trailing white space", cfg.Log.Origin))
	}
	if cfg.Log.Origin != "" && !signs {
		errs = append(errs, errors.New("log.origin: the log needs signed checkpoints: set signing_key_file or signing_key"))
	}
	switch cfg.Log.FormatVersion {
	case 0, 2:
	case 1:
		if cfg.Log.Origin != "" || len(cfg.Witnesses) > 0 {
			errs = append(errs, errors.New("log.format_version: version 1 streams keep no log: remove log.origin and witnesses"))
		}
	default:
		errs = append(errs, fmt.Errorf("log.format_version: must be 1 or 2, not %d", cfg.Log.FormatVersion))
	}
	if len(cfg.Witnesses) > 0 && !signs {
		errs = append(errs, errors.New("witnesses: witnesses cosign signed checkpoints: set signing_key_file or signing_key"))
	}
	for i, w := range cfg.Witnesses {
		if !strings.HasPrefix(w.URL, "http://") && !strings.HasPrefix(w.URL, "https://") {
			errs = append(errs, fmt.Errorf("witnesses[%d].url: %q must be an http:// or https:// URL", i, w.URL))
		}
		if w.Key == "" {
			errs = append(errs, fmt.Errorf("witnesses[%d].key: must be set (the witness's vkey)", i))
		}
		if w.Timeout < 0 {
			errs = append(errs, fmt.Errorf("witnesses[%d].timeout: must not be negative", i))
		}
	}
	if cfg.WitnessQuorum < 0 || cfg.WitnessQuorum > len(cfg.Witnesses) {
		errs = append(errs, fmt.Errorf("witness_quorum: must be between 1 and the number of witnesses (%d), not %d", len(cfg.Witnesses), cfg.WitnessQuorum))
	}
	return errs
}

// validateSelection checks what can be checked without the signal: the
// OTTL rules themselves are parsed when the processor is created for its
// signal (a condition on `name` suits spans, not log records).
func (cfg *Config) validateSelection() []error {
	var errs []error
	for i, c := range cfg.Select {
		if c == "" {
			errs = append(errs, fmt.Errorf("select[%d]: must not be empty", i))
		}
	}
	for i, c := range cfg.PartitionBy {
		if c == "" {
			errs = append(errs, fmt.Errorf("partition_by[%d]: must not be empty", i))
		}
	}
	if cfg.MaxStreams < 0 || (cfg.MaxStreams > 0 && !cfg.partitioned()) {
		errs = append(errs, fmt.Errorf("max_streams: must be at least 1 and needs partition_by (got %d)", cfg.MaxStreams))
	}
	if err := cfg.Policy.validate(); err != nil {
		errs = append(errs, err)
	}
	switch cfg.ContentHash.OnMismatch {
	case "":
	case "mark", "reject":
		if !cfg.ContentHash.Check {
			errs = append(errs, errors.New("content_hash.on_mismatch: needs content_hash.check: true"))
		}
	default:
		errs = append(errs, fmt.Errorf("content_hash.on_mismatch: %q is not valid; use \"mark\" or \"reject\"", cfg.ContentHash.OnMismatch))
	}
	return errs
}

// engineConfig is the JSON configuration of the Rust engine
// (docs/SPEC.md §7). The Rust side rejects unknown keys, so it carries
// exactly the keys the engine knows; new engine settings become new fields
// here, with omitempty when they are optional. Durations are integer
// nanoseconds.
type engineConfig struct {
	StreamName     string                 `json:"stream_name"`
	State          engineStateConfig      `json:"state"`
	KeyFile        string                 `json:"key_file,omitempty"`
	SigningKeyFile string                 `json:"signing_key_file,omitempty"`
	SigningKey     *engineSigningKey      `json:"signing_key,omitempty"`
	KeyEpoch       engineKeyEpochConfig   `json:"key_epoch"`
	Checkpoint     engineCheckpointConfig `json:"checkpoint"`
	Signal         string                 `json:"signal"`
	ContentHash    *engineContentHash     `json:"content_hash,omitempty"`
	OnBadRecord    string                 `json:"on_bad_record"`
	Stamp          string                 `json:"stamp"`
	Log            *engineLogConfig       `json:"log,omitempty"`
	Witnesses      []engineWitness        `json:"witnesses,omitempty"`
	WitnessQuorum  *int                   `json:"witness_quorum,omitempty"`
}

type engineLogConfig struct {
	Origin        string `json:"origin,omitempty"`
	Partition     string `json:"partition,omitempty"`
	FormatVersion int    `json:"format_version,omitempty"`
}

type engineWitness struct {
	URL     string `json:"url"`
	Key     string `json:"key"`
	Timeout int64  `json:"timeout"`
}

type engineContentHash struct {
	Check      bool   `json:"check"`
	OnMismatch string `json:"on_mismatch,omitempty"`
}

type engineSigningKey struct {
	PKCS11 enginePKCS11Config `json:"pkcs11"`
}

type enginePKCS11Config struct {
	Module     string `json:"module"`
	TokenLabel string `json:"token_label"`
	KeyLabel   string `json:"key_label"`
	PinFile    string `json:"pin_file"`
}

type engineStateConfig struct {
	Directory string `json:"directory"`
	NewStream bool   `json:"new_stream"`
}

type engineKeyEpochConfig struct {
	Records  int   `json:"records"`
	Interval int64 `json:"interval"`
}

type engineCheckpointConfig struct {
	Interval int64  `json:"interval"`
	Records  int    `json:"records"`
	File     string `json:"file,omitempty"`
}

// engineConfigJSON is the engine configuration of one stream of this
// processor, with its stream name already resolved (see resolveStreamName
// and partitionStreamName), for the pipeline's signal.
func (cfg *Config) engineConfigJSON(streamName string, signal pipeline.Signal) ([]byte, error) {
	return cfg.partitionConfigJSON(streamName, "", signal)
}

// partitionConfigJSON is engineConfigJSON for the engine of partition
// part (empty: not a partition), whose log origin gets /<part>.
func (cfg *Config) partitionConfigJSON(streamName, part string, signal pipeline.Signal) ([]byte, error) {
	var sig string
	switch signal {
	case pipeline.SignalLogs:
		sig = "logs"
	case pipeline.SignalTraces:
		sig = "traces"
	default:
		return nil, fmt.Errorf("auditchain: signal %s is not supported", signal)
	}
	var content *engineContentHash
	if cfg.ContentHash.Check {
		content = &engineContentHash{Check: true, OnMismatch: cfg.ContentHash.OnMismatch}
	}
	var quorum *int
	if cfg.WitnessQuorum > 0 {
		quorum = &cfg.WitnessQuorum
	}
	var signingKey *engineSigningKey
	if p := cfg.SigningKey.PKCS11; p != nil {
		signingKey = &engineSigningKey{PKCS11: enginePKCS11Config{
			Module: p.Module, TokenLabel: p.TokenLabel, KeyLabel: p.KeyLabel, PinFile: p.PinFile,
		}}
	}
	return json.Marshal(engineConfig{
		Signal:      sig,
		ContentHash: content,
		StreamName:  streamName,
		State: engineStateConfig{
			Directory: cfg.State.Directory,
			NewStream: cfg.State.NewStream,
		},
		KeyFile:        cfg.KeyFile,
		SigningKeyFile: cfg.SigningKeyFile,
		SigningKey:     signingKey,
		KeyEpoch: engineKeyEpochConfig{
			Records:  cfg.KeyEpoch.Records,
			Interval: cfg.KeyEpoch.Interval.Nanoseconds(),
		},
		Checkpoint: engineCheckpointConfig{
			Interval: cfg.Checkpoint.Interval.Nanoseconds(),
			Records:  cfg.Checkpoint.Records,
			File:     cfg.Checkpoint.File,
		},
		OnBadRecord:   string(cfg.OnBadRecord),
		Stamp:         string(cfg.Stamp),
		Log:           cfg.engineLog(part),
		Witnesses:     cfg.engineWitnesses(),
		WitnessQuorum: quorum,
	})
}

func (cfg *Config) engineLog(part string) *engineLogConfig {
	l := engineLogConfig{Origin: cfg.Log.Origin, Partition: part, FormatVersion: cfg.Log.FormatVersion}
	if l == (engineLogConfig{}) {
		return nil
	}
	return &l
}

func (cfg *Config) engineWitnesses() []engineWitness {
	var out []engineWitness
	for _, w := range cfg.Witnesses {
		out = append(out, engineWitness{URL: strings.TrimRight(w.URL, "/"), Key: w.Key, Timeout: cfg.witnessTimeout(w).Nanoseconds()})
	}
	return out
}

// witnessTimeout is a witness's request timeout.
func (cfg *Config) witnessTimeout(w WitnessConfig) time.Duration {
	if w.Timeout > 0 {
		return w.Timeout
	}
	return DefaultWitnessTimeout
}

// numericKeys are the configuration keys decoded into Go integers
// (durations are int64 nanoseconds when given as a number).
var numericKeys = []string{"key_epoch::records", "key_epoch::interval", "checkpoint::records", "checkpoint::interval", "max_streams", "witness_quorum", "log::format_version", "reorder_window", "reorder_timeout", "heartbeat_grace", "verify_max_streams"}

// Unmarshal decodes the configuration after checking that every numeric
// key holds an integer that fits int64: the decoder wraps larger values
// silently (9223372036854775808 became -9223372036854775808) and
// truncates fractions, so a bad value would be reported as another one, or
// accepted as one nobody wrote.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	var errs []error
	for _, key := range numericKeys {
		if err := checkInt64(key, conf.Get(key)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return conf.Unmarshal(cfg)
}

// checkInt64 says why v, the raw value of key, does not fit an int64.
// Strings (durations such as "1m") are left to the decoder.
func checkInt64(key string, v any) error {
	name := strings.ReplaceAll(key, confmap.KeyDelimiter, ".")
	bad := func(got any) error {
		if strings.HasSuffix(name, ".interval") {
			return fmt.Errorf("%s: %v (nanoseconds) is not a duration this processor can hold; write a duration such as 1m", name, got)
		}
		return fmt.Errorf("%s: must be a whole number between 1 and %d (got %v)", name, int64(math.MaxInt64), got)
	}
	switch n := v.(type) {
	case uint:
		if uint64(n) > math.MaxInt64 {
			return bad(n)
		}
	case uint64:
		if n > math.MaxInt64 {
			return bad(n)
		}
	case float32:
		return checkInt64(key, float64(n))
	case float64:
		// 2^63 is the first float64 past int64.
		if n != math.Trunc(n) || n >= math.MaxInt64 || n < math.MinInt64 {
			return bad(n)
		}
	}
	return nil
}

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pipeline"
)

// maxStreamName is the longest stream name the engine accepts: the name is
// a directory name and part of every stamped record.
const maxStreamName = 128

// fallbackStreamName is used when no host name is available.
const fallbackStreamName = "auditchain"

func isStreamNameByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-'
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// checkStreamName applies the engine's rule, [A-Za-z0-9][A-Za-z0-9._-]{0,127},
// with the same wording, so that a bad name is reported by Validate
// before the collector starts. The message does not name the key: the
// caller prefixes it.
func checkStreamName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > maxStreamName {
		return fmt.Errorf("must be at most %d characters", maxStreamName)
	}
	if !isAlnum(name[0]) {
		return fmt.Errorf("%q must start with a letter or digit", name)
	}
	for _, r := range name {
		if r >= 0x80 || !isStreamNameByte(byte(r)) {
			return fmt.Errorf("%q contains %q; use letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return nil
}

// resolveStreamName returns the configured stream name, or derives one
// when it is empty: the host name, plus "-traces" in a traces pipeline,
// plus "-<name>" when the component id is `auditchain/<name>`, so that
// replicas, signals and pipelines get distinct streams by default (one
// `auditchain` in a logs and a traces pipeline is two streams). The
// derived value is sanitised to the engine's rule.
func resolveStreamName(configured string, id component.ID, signal pipeline.Signal, hostname func() (string, error)) string {
	if configured != "" {
		return configured
	}
	host, err := hostname()
	if err != nil || host == "" {
		host = fallbackStreamName
	}
	suffix := ""
	if signal == pipeline.SignalTraces {
		suffix = "-traces"
	}
	if id.Name() != "" {
		suffix += "-" + sanitizeStreamName(id.Name())
	}
	host = sanitizeStreamName(host)
	// Keep the component's name whole when the result is too long: it is
	// what tells two pipelines on the same host apart.
	if len(host)+len(suffix) > maxStreamName {
		keep := max(maxStreamName-len(suffix), 1)
		host = host[:min(len(host), keep)]
	}
	name := host + suffix
	if len(name) > maxStreamName {
		name = name[:maxStreamName]
	}
	return name
}

// sanitizeStreamName maps s onto the engine's rule: every byte outside
// [A-Za-z0-9._-] (including each byte of a multi-byte character) becomes
// '-', a leading character that is not a letter or digit is dropped, and
// nothing left falls back to "auditchain".
func sanitizeStreamName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isStreamNameByte(c) {
			c = '-'
		}
		if b.Len() == 0 && !isAlnum(c) {
			continue
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return fallbackStreamName
	}
	return b.String()
}

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Streams per source (partition_by, docs/SPEC.md §4.4): one stream, with
// its own numbering, keys, checkpoints and state directory, per distinct
// value of the partition key, named <stream_name>-<part>; at most
// max_streams of them, the records of further values going to the stream
// <stream_name>-_overflow. Each stream's engine is opened when its first
// record arrives.

// DefaultMaxStreams bounds the streams of a partitioned processor.
const DefaultMaxStreams = 100

// overflowPart names the stream of the partitions beyond max_streams.
// An escaped value never contains "_o" (an escape is "_" and two hex
// digits), so no partition is named like it.
const overflowPart = "_overflow"

// maxCut is how much of a name that is too long is kept before the hash.
const maxCut = maxStreamName - len("_h") - 16

// valueString is an OTTL value as partition key text: strings as they
// are, nil as "", other values in their usual text form.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case pcommon.Value:
		if x.Type() == pcommon.ValueTypeEmpty {
			return ""
		}
		return x.AsString()
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

// escapePart keeps the bytes [A-Za-z0-9.-] of a value and writes every
// other byte as "_" and two uppercase hex digits.
func escapePart(b *strings.Builder, v string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isAlnum(c) || c == '.' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
}

// partitionPart is the escaped values joined by "__".
func partitionPart(values []string) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString("__")
		}
		escapePart(&b, v)
	}
	return b.String()
}

// partitionStreamName is <base>-<part>, shortened when longer than the
// engine allows: cut to at most maxCut bytes (never inside an escape) and
// ended with "_h" and 16 hex digits of the SHA-256 of the whole name.
func partitionStreamName(base, part string) string {
	name := base + "-" + part
	if len(name) <= maxStreamName {
		return name
	}
	cut := maxCut
	// Back off from the middle of an escape ("_XX"): an escape starts at a
	// '_' followed by two more bytes.
	for i := max(cut-2, 0); i < cut; i++ {
		if name[i] == '_' && i+3 > cut {
			cut = i
			break
		}
	}
	sum := sha256.Sum256([]byte(name))
	return name[:cut] + "_h" + hex.EncodeToString(sum[:8])
}

// partitions holds the streams of a partitioned processor, opened lazily.
type partitions struct {
	base string
	max  int
	open func(name, part string) (*stream, error)

	mu       sync.Mutex
	byPart   map[string]*stream
	overflow *stream
	// overflowed is called the first time a value goes to the overflow
	// stream, with the value's part.
	overflowed func(part string)
	warned     bool
}

func newPartitions(base string, maxStreams int, open func(name, part string) (*stream, error), overflowed func(string)) *partitions {
	return &partitions{base: base, max: maxStreams, open: open, byPart: map[string]*stream{}, overflowed: overflowed}
}

// get returns the stream of a partition, opening it (or the overflow
// stream, past max) on first use. It reports whether the stream is the
// overflow stream.
func (p *partitions) get(part string) (*stream, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.byPart[part]; ok {
		return s, false, nil
	}
	if len(p.byPart) >= p.max {
		if !p.warned {
			p.warned = true
			p.overflowed(part)
		}
		if p.overflow == nil {
			s, err := p.openStream(overflowPart)
			if err != nil {
				return nil, true, err
			}
			p.overflow = s
		}
		return p.overflow, true, nil
	}
	s, err := p.openStream(part)
	if err != nil {
		return nil, false, err
	}
	p.byPart[part] = s
	return s, false, nil
}

func (p *partitions) openStream(part string) (*stream, error) {
	return p.open(partitionStreamName(p.base, part), part)
}

// all returns the open streams.
func (p *partitions) all() []*stream {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*stream, 0, len(p.byPart)+1)
	for _, s := range p.byPart {
		out = append(out, s)
	}
	if p.overflow != nil {
		out = append(out, p.overflow)
	}
	return out
}

// clear forgets every stream (after Shutdown closed them).
func (p *partitions) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byPart = map[string]*stream{}
	p.overflow = nil
	p.warned = false
}

package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// checkStamps verifies that a stamping result fits the batch it was
// computed for before anything is written: one record stamp per record,
// rejected records inside the batch, ascending and without a stamp, every
// attribute operation inside the arrays and the text, every key in the key
// table. A mismatch means the two sides disagree about the
// batch (a bug); the caller fails closed rather than stamp the wrong
// records.
func checkStamps(s *stampSet, records int, keys []string) error {
	if len(s.records) != records {
		return fmt.Errorf("auditchain: the engine returned %d stamps for a batch of %d records", len(s.records), records)
	}
	for i, r := range s.rejected {
		if int(r) >= records || (i > 0 && r <= s.rejected[i-1]) {
			return fmt.Errorf("auditchain: the engine's rejected records are out of order or past the batch's %d records", records)
		}
		if s.records[r].count != 0 || s.records[r].sequence != 0 {
			return fmt.Errorf("auditchain: the engine stamped record %d that it also rejected", r)
		}
	}
	nattrs := uint64(len(s.attrs))
	for i, r := range append(s.records[:len(s.records):len(s.records)], s.extraRecords...) {
		if uint64(r.first)+uint64(r.count) > nattrs {
			return fmt.Errorf("auditchain: stamp of record %d points past the %d attribute operations", i, nattrs)
		}
	}
	ntext := uint64(len(s.text))
	nkeys := uint64(len(keys))
	for i, op := range s.attrs {
		if uint64(op.key) >= nkeys {
			return fmt.Errorf("auditchain: attribute operation %d uses key %d; this build knows %d keys", i, op.key, nkeys)
		}
		switch op.kind {
		case attrKindStr:
			if op.value > ntext || op.len > ntext-op.value {
				return fmt.Errorf("auditchain: attribute operation %d points past the %d bytes of text", i, ntext)
			}
		case attrKindInt:
		case attrKindBool:
			if op.value > 1 {
				return fmt.Errorf("auditchain: attribute operation %d has boolean value %d", i, op.value)
			}
		default:
			return fmt.Errorf("auditchain: attribute operation %d has unknown kind %d", i, op.kind)
		}
	}
	return nil
}

// applyLogStamps writes the record stamps rs onto ld, walking resource,
// scope and record in the order the engine used, and returns how many
// records got a sequence number. s must have passed checkStamps, and rs
// must be s.records (for the batch) or s.extraRecords (for the engine's
// own records).
//
// Nothing here allocates per record for strings: keys come from the table
// converted once per process, values are substrings of s.text, converted
// once per batch. What remains per record is pdata's own storage for the
// new attributes, grown once with EnsureCapacity.
func applyLogStamps(ld plog.Logs, rs []recordStamp, s *stampSet, keys []string) int {
	return applyStamps(logAttributes(ld), rs, s, keys)
}

// logAttributes is the attribute map of every log record of ld, in
// request order.
func logAttributes(ld plog.Logs) []pcommon.Map {
	maps := make([]pcommon.Map, 0, ld.LogRecordCount())
	eachLogRecord(ld, func(lr plog.LogRecord) { maps = append(maps, lr.Attributes()) })
	return maps
}

// applyStamps writes the record stamps rs onto the records whose
// attribute maps are maps (one per record, in request order), and
// returns how many records got a sequence number. A record stamp without
// operations (a record the selection passed over) leaves its record as it
// is.
func applyStamps(maps []pcommon.Map, rs []recordStamp, s *stampSet, keys []string) int {
	stamped := 0
	for i, attrs := range maps {
		rs := rs[i]
		if rs.count == 0 {
			continue
		}
		attrs.EnsureCapacity(attrs.Len() + int(rs.count))
		for _, op := range s.attrs[rs.first : rs.first+rs.count] {
			key := keys[op.key]
			switch op.kind {
			case attrKindStr:
				attrs.PutStr(key, s.text[op.value:op.value+op.len])
			case attrKindInt:
				attrs.PutInt(key, int64(op.value))
			case attrKindBool:
				attrs.PutBool(key, op.value == 1)
			}
		}
		if rs.sequence != 0 {
			stamped++
		}
	}
	return stamped
}

// eachLogRecord calls f for every log record of ld, in the order resource,
// scope, record: the order of the OTLP request, which the engine's stamps
// follow.
func eachLogRecord(ld plog.Logs, f func(plog.LogRecord)) {
	rls := ld.ResourceLogs()
	for r := 0; r < rls.Len(); r++ {
		sls := rls.At(r).ScopeLogs()
		for sc := 0; sc < sls.Len(); sc++ {
			lrs := sls.At(sc).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

// extraLogs decodes the records the engine emits itself and writes their
// stamps, exactly as the batch's records get theirs. s must have passed
// checkStamps. Empty input gives empty logs.
func extraLogs(s *stampSet, keys []string) (plog.Logs, error) {
	if len(s.extra) == 0 {
		if len(s.extraRecords) != 0 {
			return plog.Logs{}, fmt.Errorf("auditchain: the engine returned %d stamps for no records of its own", len(s.extraRecords))
		}
		return plog.NewLogs(), nil
	}
	if s.extraSignal != signalLogs {
		return plog.Logs{}, fmt.Errorf("auditchain: the engine's own records are of signal %d, not logs", s.extraSignal)
	}
	var u plog.ProtoUnmarshaler
	ld, err := u.UnmarshalLogs(s.extra)
	if err != nil {
		return plog.Logs{}, fmt.Errorf("auditchain: cannot decode the engine's own records: %w", err)
	}
	if n := ld.LogRecordCount(); n != len(s.extraRecords) {
		return plog.Logs{}, fmt.Errorf("auditchain: the engine returned %d stamps for %d records of its own", len(s.extraRecords), n)
	}
	applyLogStamps(ld, s.extraRecords, s, keys)
	return ld, nil
}

package auditchainprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var testKeys = []string{"k.str", "k.int", "k.bool"}

// twoRecordLogs is two resources, the second with two scopes: three
// records in pdata's iteration order r0, r1, r2.
func twoRecordLogs() plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("r0")
	rl := ld.ResourceLogs().AppendEmpty()
	rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("r1")
	rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("r2")
	return ld
}

func validStamps() *stampSet {
	return &stampSet{
		records: []recordStamp{
			{first: 0, count: 3, sequence: 7},
			{first: 3, count: 0, sequence: 0}, // not part of the stream
			{first: 3, count: 1, sequence: 8},
		},
		attrs: []attrOp{
			{key: 0, kind: attrKindStr, value: 0, len: 3},
			{key: 1, kind: attrKindInt, value: uint64(1<<64 - 5), len: 0}, // -5
			{key: 2, kind: attrKindBool, value: 1},
			{key: 0, kind: attrKindStr, value: 3, len: 3},
		},
		text:    "abcdef",
		batchID: 1,
	}
}

func TestApplyLogStamps(t *testing.T) {
	ld := twoRecordLogs()
	s := validStamps()
	require.NoError(t, checkStamps(s, ld.LogRecordCount(), testKeys))
	assert.Equal(t, 2, applyLogStamps(ld, s.records, s, testKeys))

	r0 := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	assert.Equal(t, map[string]any{"k.str": "abc", "k.int": int64(-5), "k.bool": true}, r0.AsRaw())
	r1 := ld.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	assert.Equal(t, 0, r1.Len())
	r2 := ld.ResourceLogs().At(1).ScopeLogs().At(1).LogRecords().At(0).Attributes()
	assert.Equal(t, map[string]any{"k.str": "def"}, r2.AsRaw())
}

func TestCheckStampsRefusesMismatches(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*stampSet)
		want   string
	}{
		{"record count", func(s *stampSet) { s.records = s.records[:2] }, "2 stamps for a batch of 3"},
		{"record range", func(s *stampSet) { s.records[2].count = 2 }, "points past the 4 attribute operations"},
		{"key", func(s *stampSet) { s.attrs[0].key = 3 }, "uses key 3"},
		{"text range", func(s *stampSet) { s.attrs[3].len = 4 }, "points past the 6 bytes of text"},
		{"text overflow", func(s *stampSet) { s.attrs[3].value = 1<<64 - 1 }, "points past"},
		{"bool", func(s *stampSet) { s.attrs[2].value = 2 }, "boolean value 2"},
		{"kind", func(s *stampSet) { s.attrs[1].kind = 9 }, "unknown kind 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validStamps()
			tt.modify(s)
			err := checkStamps(s, 3, testKeys)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestExtraLogsGetTheirStampsLikeTheBatch(t *testing.T) {
	s := validStamps()
	ld, err := extraLogs(s, testKeys)
	require.NoError(t, err)
	assert.Equal(t, 0, ld.LogRecordCount())

	// Two records of the engine's own, stamped by the last two operations.
	var m plog.ProtoMarshaler
	b, err := m.MarshalLogs(twoRecordLogs())
	require.NoError(t, err)
	s.extra, s.extraSignal = b, signalLogs
	s.extraRecords = []recordStamp{{first: 3, count: 1, sequence: 9}, {first: 2, count: 1, sequence: 10}, {first: 0, count: 1, sequence: 11}}
	require.NoError(t, checkStamps(s, 3, testKeys))
	ld, err = extraLogs(s, testKeys)
	require.NoError(t, err)
	var got []map[string]any
	eachLogRecord(ld, func(lr plog.LogRecord) { got = append(got, lr.Attributes().AsRaw()) })
	assert.Equal(t, []map[string]any{{"k.str": "def"}, {"k.bool": true}, {"k.str": "abc"}}, got)

	// Stamps and records that do not match are refused, not half applied.
	s.extraRecords = s.extraRecords[:2]
	_, err = extraLogs(s, testKeys)
	assert.ErrorContains(t, err, "2 stamps for 3 records of its own")
	s.extraRecords = append(s.extraRecords, recordStamp{first: 4, count: 1})
	assert.ErrorContains(t, checkStamps(s, 3, testKeys), "points past the 4 attribute operations")
	s.extra = []byte{0xff, 0xff}
	s.extraRecords = nil
	_, err = extraLogs(s, testKeys)
	assert.ErrorContains(t, err, "cannot decode the engine's own records")
}

func TestClassify(t *testing.T) {
	for code, permanent := range map[resultCode]bool{
		resultMalformedBatch:      true,
		resultRejectedRecord:      true,
		resultContentHashMismatch: true,
		resultState:               false,
		resultClosed:              false,
		resultPanic:               false,
	} {
		err := classify(&engineError{code: code, message: "m"})
		assert.Equal(t, permanent, consumererror.IsPermanent(err), "code %d", code)
		assert.Equal(t, code, errorCode(err))
		// What an OTLP receiver makes of it: the sender's fault (400) for
		// bad input, retryable (no status: UNAVAILABLE, 503) otherwise.
		st, ok := status.FromError(err)
		if permanent {
			require.True(t, ok)
			assert.Equal(t, codes.InvalidArgument, st.Code())
			assert.Contains(t, st.Message(), "auditchain: m")
		} else {
			assert.False(t, ok)
		}
	}
}

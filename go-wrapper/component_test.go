//go:build cgo && linux && (amd64 || arm64)

package auditchainprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

// TestComponentLifecycle follows mdatagen's generated lifecycle test, with
// the state in a temporary directory instead of the default under
// /var/lib: create and shut down without starting; start, consume, shut
// down; shut down twice.
func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	newCfg := func(t *testing.T) component.Config {
		cfg := factory.CreateDefaultConfig().(*Config)
		cfg.State.Directory = t.TempDir()
		return cfg
	}
	create := func(t *testing.T, cfg component.Config) processor.Logs {
		p, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
		require.NoError(t, err)
		return p
	}

	t.Run("logs-shutdown", func(t *testing.T) {
		c := create(t, newCfg(t))
		require.NoError(t, c.Shutdown(context.Background()))
	})
	t.Run("logs-lifecycle", func(t *testing.T) {
		c := create(t, newCfg(t))
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		require.NotPanics(t, func() {
			logs := generateLifecycleTestLogs()
			require.True(t, c.Capabilities().MutatesData)
			require.NoError(t, c.ConsumeLogs(context.Background(), logs))
		})
		require.NoError(t, c.Shutdown(context.Background()))
		require.NoError(t, c.Shutdown(context.Background()), "a second Shutdown is harmless")
	})
	t.Run("logs-restart-on-same-state", func(t *testing.T) {
		cfg := newCfg(t)
		for range 3 {
			c := create(t, cfg)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, c.ConsumeLogs(context.Background(), generateLifecycleTestLogs()))
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
}

func generateLifecycleTestLogs() plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("resource", "R1")
	l := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	l.Body().SetStr("test log message")
	l.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return logs
}

//go:build !(cgo && linux && (amd64 || arm64))

package auditchainprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// Without cgo the package builds, and creating the processor says why it
// cannot work and how to fix the build.
func TestCreateLogsWithoutCgo(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.State.Directory = t.TempDir()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.ErrorIs(t, err, errCgoRequired)
	assert.Nil(t, p)
	assert.Contains(t, err.Error(), "requires cgo")
	assert.Contains(t, err.Error(), "CGO_ENABLED=1")
	assert.Contains(t, err.Error(), "dist.cgo_enabled: true")
}

func TestCreateTracesWithoutCgo(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.State.Directory = t.TempDir()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.ErrorIs(t, err, errCgoRequired)
	assert.Nil(t, p)
}

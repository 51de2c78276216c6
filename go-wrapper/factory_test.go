package auditchainprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, component.StabilityLevelAlpha, f.LogsStability())
	assert.Equal(t, component.StabilityLevelAlpha, f.TracesStability())
	assert.Equal(t, component.StabilityLevelUndefined, f.MetricsStability(), "logs and traces only")
	assert.Equal(t, createDefaultConfig(), f.CreateDefaultConfig())
}

func TestCreateLogsRejectsForeignConfig(t *testing.T) {
	type otherConfig struct{}
	_, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), &otherConfig{}, consumertest.NewNop())
	require.Error(t, err)
}

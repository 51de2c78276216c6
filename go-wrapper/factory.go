package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/auditchain/auditchain/go-wrapper/internal/metadata"
)

// NewFactory returns the factory of the `auditchain` processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	if !cgoEnabled {
		return nil, errNoEngine
	}
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("auditchain: unexpected configuration type %T", cfg)
	}
	return newLogsProcessor(set, c, next)
}

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
		processor.WithTraces(createTraces, metadata.TracesStability),
	)
}

func config(cfg component.Config) (*Config, error) {
	if !cgoEnabled {
		return nil, errNoEngine
	}
	c, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("auditchain: unexpected configuration type %T", cfg)
	}
	return c, nil
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c, err := config(cfg)
	if err != nil {
		return nil, err
	}
	if c.verifying() {
		return newLogsVerifier(set, c, next)
	}
	return newLogsProcessor(ctx, set, c, next)
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c, err := config(cfg)
	if err != nil {
		return nil, err
	}
	if c.verifying() {
		return newTracesVerifier(set, c, next)
	}
	return newTracesProcessor(ctx, set, c, next)
}

// Written by hand in the exact shape mdatagen v0.161.0 generates from
// metadata.yaml (component_test.go.tmpl with tests.skip_lifecycle and
// tests.skip_shutdown: the lifecycle tests need a temporary state directory
// and live in component_test.go); see internal/metadata/generated_status.go.

//go:build !windows

package auditchainprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

var typ = component.MustNewType("auditchain")

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, typ, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

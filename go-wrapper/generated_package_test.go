// Written by hand in the exact shape mdatagen v0.161.0 generates from
// metadata.yaml (package_test.go.tmpl); see internal/metadata/generated_status.go.

package auditchainprocessor

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package auditchainprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVerifyConfigValidationNamesKeys(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Mode = ModeVerify
	assert.NoError(t, cfg.Validate())

	cfg.OnFailure = "quarantine"
	cfg.ReorderWindow = 0
	cfg.SigningKeyFile = "/x"
	cfg.Select = []string{"true"}
	err := cfg.Validate()
	assert.ErrorContains(t, err, `on_failure: "quarantine" is not valid; use "mark", "drop" or "route"`)
	assert.ErrorContains(t, err, "reorder_window: must be between 1 and 1000000 records (got 0)")
	assert.ErrorContains(t, err, "signing_key_file: only mode: stamp uses it")
	assert.ErrorContains(t, err, "select: only mode: stamp uses it")

	cfg = createDefaultConfig()
	cfg.Mode = "check"
	assert.ErrorContains(t, cfg.Validate(), `mode: "check" is not valid; use "stamp" or "verify"`)

	cfg = createDefaultConfig()
	cfg.PublicKeys = []string{"k"}
	cfg.ReorderWindow = 5
	err = cfg.Validate()
	assert.ErrorContains(t, err, "public_keys: only mode: verify uses it")
	assert.ErrorContains(t, err, "reorder_window: only mode: verify uses it")
}

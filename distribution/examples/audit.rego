# Seed 003's rules, "what warrants logging", for the auditchain processor
# (distribution/examples/rules.yaml, policy.query: data.audit.should_audit).
# `input` is one log record or span as a document (go-wrapper/README.md,
# "Selection"): input.attributes, input.resource.attributes, input.body,
# input.name, input.kind, ... The seed's input.method and input.action are
# the records' attributes here.
package audit

default should_audit := false

# API requests that delete something.
should_audit if input.attributes["http.request.method"] == "DELETE"

# Login attempts, whatever their outcome.
should_audit if input.attributes["audit.action"] == "login_attempt"

# Spans of the same requests (seed 002's traces).
should_audit if {
	input.signal == "traces"
	input.attributes["http.request.method"] == "DELETE"
}

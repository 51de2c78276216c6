package auditchainprocessor // import "github.com/auditchain/auditchain/go-wrapper"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// Selection (docs/SPEC.md §4.5): Go evaluates the rules, the engine stamps
// what they select. A record is selected when any `select` condition is
// true or the `policy` query is true; without either, every record is.
// A rule that fails to evaluate selects the record (fail closed: an error
// never lets a record leave unstamped that the rules might have chosen).
// partition_by is evaluated here too, on the same transform context.

// PolicyConfig is `policy:`: a Rego policy deciding which records are
// audited, as in seed 003 (`data.audit.should_audit`).
type PolicyConfig struct {
	// File is the Rego module.
	File string `mapstructure:"file"`
	// Query is evaluated per record with the record as `input`
	// (documented in README.md); a record is selected when it is true.
	Query string `mapstructure:"query"`
	// RegoVersion is "v1" (the default, OPA 1.x syntax) or "v0" (the
	// syntax before OPA 1.0, e.g. `should_audit { ... }` without `if`).
	RegoVersion string `mapstructure:"rego_version"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func (p *PolicyConfig) configured() bool { return p.File != "" || p.Query != "" }

func (p *PolicyConfig) validate() error {
	if !p.configured() {
		if p.RegoVersion != "" {
			return errors.New("policy.rego_version: set policy.file and policy.query too")
		}
		return nil
	}
	var errs []error
	if p.File == "" {
		errs = append(errs, errors.New("policy.file: the Rego module is required with policy.query"))
	}
	if p.Query == "" {
		errs = append(errs, errors.New("policy.query: the query (e.g. data.audit.should_audit) is required with policy.file"))
	}
	switch p.RegoVersion {
	case "", "v0", "v1":
	default:
		errs = append(errs, fmt.Errorf("policy.rego_version: %q is not valid; use \"v1\" or \"v0\"", p.RegoVersion))
	}
	return errors.Join(errs...)
}

// regoPolicy is a prepared query: compiled once at creation, evaluated
// once per record.
type regoPolicy struct {
	query    rego.PreparedEvalQuery
	text     string
	logger   *zap.Logger
	warnOnce func(error)
}

// newRegoPolicy reads, compiles and prepares the policy. Every error
// names the key (policy.file, policy.query) and the rule.
func newRegoPolicy(ctx context.Context, cfg *PolicyConfig, logger *zap.Logger) (*regoPolicy, error) {
	src, err := os.ReadFile(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("policy.file: %w", err)
	}
	version := ast.RegoV1
	if cfg.RegoVersion == "v0" {
		version = ast.RegoV0
	}
	compiler, err := ast.CompileModulesWithOpt(map[string]string{cfg.File: string(src)},
		ast.CompileOpts{ParserOptions: ast.ParserOptions{RegoVersion: version}})
	if err != nil {
		hint := ""
		if version == ast.RegoV1 && strings.Contains(err.Error(), "`if` keyword is required") {
			hint = " (a policy written for OPA before 1.0 needs policy.rego_version: v0)"
		}
		return nil, fmt.Errorf("policy.file: %s: %w%s", cfg.File, err, hint)
	}
	ref, err := ast.ParseRef(cfg.Query)
	if err != nil {
		return nil, fmt.Errorf("policy.query: %q is not a reference to a rule: %w", cfg.Query, err)
	}
	if len(compiler.GetRules(ref)) == 0 {
		return nil, fmt.Errorf("policy.query: %s names no rule of %s; every record would pass unaudited", cfg.Query, cfg.File)
	}
	pq, err := rego.New(rego.Query(cfg.Query), rego.Compiler(compiler), rego.SetRegoVersion(version)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy.query: %s: %w", cfg.Query, err)
	}
	p := &regoPolicy{query: pq, text: cfg.Query, logger: logger}
	p.warnOnce = onceLogger(logger, "auditchain policy evaluation failed; the record is stamped")
	return p, nil
}

// selects evaluates the query for one record's input document.
func (p *regoPolicy) selects(ctx context.Context, input ast.Value) bool {
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		p.warnOnce(err)
		return true
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return false // undefined
	}
	if b, ok := rs[0].Expressions[0].Value.(bool); ok {
		return b
	}
	p.warnOnce(fmt.Errorf("%s is %v, not a boolean", p.text, rs[0].Expressions[0].Value))
	return true
}

// onceLogger logs the first error of a kind, so that a rule failing on
// every record does not flood the log.
func onceLogger(logger *zap.Logger, msg string) func(error) {
	var done atomic.Bool
	return func(err error) {
		if done.CompareAndSwap(false, true) {
			logger.Warn(msg+" (further failures are not logged)", zap.Error(err))
		}
	}
}

// rules is one processor's selection and partitioning for one signal's
// transform context K.
type rules[K any] struct {
	conditions []*ottl.Condition[K]
	partitions []*ottl.ValueExpression[K]
	policy     *regoPolicy
	condFailed func(error)
	partFailed func(error)
}

// parser makes the OTTL parsers of a signal: plain paths
// (`attributes["x"]`, `resource.attributes["x"]`, `name`) and
// context-qualified ones (`log.attributes["x"]`, `span.name`).
type parsers[K any] struct {
	plain, qualified ottl.Parser[K]
}

func (p parsers[K]) condition(raw string) (*ottl.Condition[K], error) {
	c, err := p.plain.ParseCondition(raw)
	if err == nil {
		return c, nil
	}
	if c, err2 := p.qualified.ParseCondition(raw); err2 == nil {
		return c, nil
	}
	return nil, err
}

func (p parsers[K]) value(raw string) (*ottl.ValueExpression[K], error) {
	v, err := p.plain.ParseValueExpression(raw)
	if err == nil {
		return v, nil
	}
	if v, err2 := p.qualified.ParseValueExpression(raw); err2 == nil {
		return v, nil
	}
	return nil, err
}

func newRules[K any](ctx context.Context, cfg *Config, set component.TelemetrySettings, p parsers[K]) (*rules[K], error) {
	r := &rules[K]{
		condFailed: onceLogger(set.Logger, "auditchain select condition failed to evaluate; the record is stamped"),
		partFailed: onceLogger(set.Logger, "auditchain partition_by failed to evaluate; the record goes to the partition of the empty value"),
	}
	var errs []error
	for i, raw := range cfg.Select {
		c, err := p.condition(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("select[%d]: cannot parse the OTTL condition `%s`: %w", i, raw, err))
			continue
		}
		r.conditions = append(r.conditions, c)
	}
	for i, raw := range cfg.PartitionBy {
		v, err := p.value(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("partition_by[%d]: cannot parse the OTTL path `%s`: %w", i, raw, err))
			continue
		}
		r.partitions = append(r.partitions, v)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Policy.configured() {
		pol, err := newRegoPolicy(ctx, &cfg.Policy, set.Logger)
		if err != nil {
			return nil, err
		}
		r.policy = pol
	}
	return r, nil
}

// selective reports whether some records may pass through unstamped.
func (r *rules[K]) selective() bool { return len(r.conditions) > 0 || r.policy != nil }

// selects evaluates the conditions, then the policy (on the document
// input builds; nil without a policy), for one record.
func (r *rules[K]) selects(ctx context.Context, tCtx K, input func() ast.Value) bool {
	if !r.selective() {
		return true
	}
	for _, c := range r.conditions {
		ok, err := c.Eval(ctx, tCtx)
		if err != nil {
			r.condFailed(err)
			return true
		}
		if ok {
			return true
		}
	}
	return r.policy != nil && r.policy.selects(ctx, input())
}

// partitionKey is the record's partition_by values, escaped and joined
// (partitionPart), or "" when not partitioned.
func (r *rules[K]) partitionKey(ctx context.Context, tCtx K) string {
	if len(r.partitions) == 0 {
		return ""
	}
	values := make([]string, len(r.partitions))
	for i, p := range r.partitions {
		v, err := p.Eval(ctx, tCtx)
		if err != nil {
			r.partFailed(err)
			continue
		}
		values[i] = valueString(v)
	}
	return partitionPart(values)
}

// classification is what the rules say of a batch: per record in request
// order, selected (1) or not (0), and the partition key of each selected
// record (nil when not partitioned).
type classification struct {
	selected []byte
	keys     []string
	// chosen counts the selected records.
	chosen int
}

func newLogRules(ctx context.Context, cfg *Config, set component.TelemetrySettings) (*rules[*ottllog.TransformContext], error) {
	funcs := ottlfuncs.StandardConverters[*ottllog.TransformContext]()
	plain, err := ottllog.NewParser(funcs, set)
	if err != nil {
		return nil, err
	}
	qualified, err := ottllog.NewParser(funcs, set, ottllog.EnablePathContextNames())
	if err != nil {
		return nil, err
	}
	return newRules(ctx, cfg, set, parsers[*ottllog.TransformContext]{plain, qualified})
}

func newSpanRules(ctx context.Context, cfg *Config, set component.TelemetrySettings) (*rules[*ottlspan.TransformContext], error) {
	funcs := ottlfuncs.StandardConverters[*ottlspan.TransformContext]()
	plain, err := ottlspan.NewParser(funcs, set)
	if err != nil {
		return nil, err
	}
	qualified, err := ottlspan.NewParser(funcs, set, ottlspan.EnablePathContextNames())
	if err != nil {
		return nil, err
	}
	return newRules(ctx, cfg, set, parsers[*ottlspan.TransformContext]{plain, qualified})
}

// classifyLogs evaluates the rules for every log record of ld.
func classifyLogs(ctx context.Context, r *rules[*ottllog.TransformContext], ld plog.Logs) classification {
	var c classification
	if !r.selective() && len(r.partitions) == 0 {
		c.chosen = ld.LogRecordCount()
		return c
	}
	n := ld.LogRecordCount()
	c.selected = make([]byte, 0, n)
	if len(r.partitions) > 0 {
		c.keys = make([]string, 0, n)
	}
	docs := logDocuments{off: r.policy == nil}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		docs.resource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			docs.scope(sl.Scope())
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				tCtx := ottllog.NewTransformContext(rl, sl, lr)
				var input func() ast.Value
				if r.policy != nil {
					input = func() ast.Value { return docs.record(lr) }
				}
				addRecord(ctx, &c, r, tCtx, input)
				tCtx.Close()
			}
		}
	}
	return c
}

// classifySpans evaluates the rules for every span of td.
func classifySpans(ctx context.Context, r *rules[*ottlspan.TransformContext], td ptrace.Traces) classification {
	var c classification
	if !r.selective() && len(r.partitions) == 0 {
		c.chosen = td.SpanCount()
		return c
	}
	n := td.SpanCount()
	c.selected = make([]byte, 0, n)
	if len(r.partitions) > 0 {
		c.keys = make([]string, 0, n)
	}
	docs := spanDocuments{off: r.policy == nil}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		docs.resource(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			docs.scope(ss.Scope())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				tCtx := ottlspan.NewTransformContext(rs, ss, span)
				var input func() ast.Value
				if r.policy != nil {
					input = func() ast.Value { return docs.record(span) }
				}
				addRecord(ctx, &c, r, tCtx, input)
				tCtx.Close()
			}
		}
	}
	return c
}

// addRecord classifies one record.
func addRecord[K any](ctx context.Context, c *classification, r *rules[K], tCtx K, input func() ast.Value) {
	if !r.selects(ctx, tCtx, input) {
		c.selected = append(c.selected, 0)
		if c.keys != nil {
			c.keys = append(c.keys, "")
		}
		return
	}
	c.selected = append(c.selected, 1)
	c.chosen++
	if c.keys != nil {
		c.keys = append(c.keys, r.partitionKey(ctx, tCtx))
	}
}

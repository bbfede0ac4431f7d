// Package engine compiles a set of Sigma rules, after processing
// pipelines, into an immutable evaluator for events:
//
//   - events are routed to the rules of their log sources, derived from
//     event fields by the pipelines' routes;
//   - a cross-rule prefilter decides which rules can possibly match, so
//     most rules are never evaluated on most events: each rule has a gate,
//     a conjunction of clauses of (field, folded literal) pairs every
//     matching event contains; one pass over each field finds the
//     literals of the gates' clauses (one multi-pattern searcher per
//     field and combination of log sources), and clauses of short
//     literals are checked directly on the few candidate events;
//   - literal matching works on values folded once per event; each regular
//     expression is compiled once (RE2);
//   - matching an event that matches nothing allocates nothing.
//
// An Engine is safe for concurrent use; each goroutine uses its own Worker
// (cheap: a few slices sized by the rule set).
package engine

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/event"
)

// Options configure Compile.
type Options struct {
	// Pipelines applied to every rule, in priority order. Nil means the
	// shipped "vigil" pipeline.
	Pipelines []*pipeline.Pipeline
	// Routes added to the pipelines' routes (from configuration, for log
	// sources such as fhir, atna, hl7, ehr).
	Routes []pipeline.Route
	// DisablePrefilter evaluates every routed rule on every event (the
	// naive baseline, for benchmarks and cross-checks).
	DisablePrefilter bool

	// keepBuildData keeps what only the prefilter's construction needs
	// (the literals of the leaves' searchers, the alternatives'
	// patterns), for tests that compute gates after Compile.
	keepBuildData bool
}

// RuleInfo describes a compiled rule to the code that receives matches.
type RuleInfo struct {
	Index       int
	ID          string
	Name        string
	Title       string
	Level       string
	Status      string
	Author      string
	Description string
	Tags        []string
	References  []string
	// Fields is the rule's fields list, with names as in the events (after
	// the pipelines).
	Fields    []string
	LogSource sigma.LogSource
	File      string
	Line      int
	// Alert is false for rules that only feed correlations (referenced by
	// correlation rules with generate: false).
	Alert bool
	// Correlated is true when correlation rules reference the rule.
	Correlated bool
	// Rule is the rule as loaded (before pipelines), without its
	// detection section (compiled into the engine; use the RuleSet given
	// to Compile for the parsed one).
	Rule *sigma.Rule
}

// Match is one rule matching one event. It is valid only during the
// callback; copy what you keep.
type Match struct {
	Rule  *RuleInfo
	Event *event.Event
}

// Stats are the engine's counters (totals over all workers).
type Stats struct {
	RulesLoaded   int
	RulesRejected int
	// RulesUnrouted is the number of loaded rules whose log source no
	// route produces: they never see an event.
	RulesUnrouted  int
	Events         uint64
	Evaluations    uint64 // rule evaluations
	PrefilterSkips uint64 // routed (event, rule) pairs the prefilter ruled out
	Matches        uint64
}

// Engine is a compiled rule set. It is immutable and safe for concurrent use.
type Engine struct {
	opts  Options
	pipes []*pipeline.Pipeline
	rules []*crule
	infos []*RuleInfo
	byKey map[string]*RuleInfo

	fieldIdx   map[string]int32
	names      nameTable // fieldIdx for matching
	fieldNames []string
	aliases    []alias
	kwAll      bool
	kwSlots    []int32

	routes routeTable

	// prefilter
	slotPats   []bool // by slot: some rule has a prefilter literal on the field
	comboMu    sync.Mutex
	comboCache atomic.Pointer[map[string]*combo]

	regexCache map[string]*regexp.Regexp
	rejected   []sigma.Rejection
	unrouted   int

	pool    sync.Pool
	counter [4]atomic.Uint64 // events, evaluations, prefilter skips, matches
}

// Rejected returns the rules that could not be compiled (pipeline
// failures, unsupported values), with file, line and reason.
func (e *Engine) Rejected() []sigma.Rejection { return e.rejected }

// Rules returns every compiled rule, by index.
func (e *Engine) Rules() []*RuleInfo { return e.infos }

// Rule returns the compiled rule with the given id (or name), or nil.
func (e *Engine) Rule(key string) *RuleInfo { return e.byKey[key] }

// Pipelines returns the pipelines the engine applied.
func (e *Engine) Pipelines() []*pipeline.Pipeline { return e.pipes }

// MapField returns the event field names a Sigma field name of rule r
// stands for after the pipelines (for correlation group-by fields).
func (e *Engine) MapField(r *RuleInfo, field string) []string {
	if r == nil || r.Rule == nil {
		return []string{field}
	}
	return pipeline.MapField(e.pipes, r.Rule, field)
}

// Unrouted lists the compiled rules no route can deliver an event to.
func (e *Engine) Unrouted() []*RuleInfo {
	var out []*RuleInfo
	for _, r := range e.rules {
		if len(r.entries) == 0 && !r.everyEvent {
			out = append(out, r.info)
		}
	}
	return out
}

// Stats returns the counters. Workers add their counts every 256 events
// and on Flush, so the totals may lag by that much per worker.
func (e *Engine) Stats() Stats {
	s := Stats{RulesLoaded: len(e.rules), RulesRejected: len(e.rejected), RulesUnrouted: e.unrouted}
	s.Events = e.counter[0].Load()
	s.Evaluations = e.counter[1].Load()
	s.PrefilterSkips = e.counter[2].Load()
	s.Matches = e.counter[3].Load()
	return s
}

// Compile compiles the rules of rs. Rules that cannot be compiled are
// skipped and listed by Rejected; the error is for unusable options.
func Compile(rs *sigma.RuleSet, opts Options) (*Engine, error) {
	pipes := opts.Pipelines
	if pipes == nil {
		p, err := pipeline.Shipped("vigil")
		if err != nil {
			return nil, fmt.Errorf("BUG: shipped vigil pipeline: %w", err)
		}
		pipes = []*pipeline.Pipeline{p}
	}
	e := &Engine{
		opts:       opts,
		pipes:      pipeline.Sort(pipes),
		byKey:      map[string]*RuleInfo{},
		fieldIdx:   map[string]int32{},
		regexCache: map[string]*regexp.Regexp{},
	}
	var routes []pipeline.Route
	kwFields := map[string]bool{}
	for _, p := range e.pipes {
		routes = append(routes, p.Routes...)
		for _, a := range p.Aliases {
			e.aliases = append(e.aliases, newAlias(a))
		}
		if len(p.KeywordFields) == 0 {
			e.kwAll = true
		}
		for _, f := range p.KeywordFields {
			kwFields[f] = true
		}
	}
	routes = append(routes, opts.Routes...)
	if len(e.pipes) == 0 {
		e.kwAll = true
	}
	if err := e.routes.build(e, routes); err != nil {
		return nil, err
	}
	for f := range kwFields {
		e.kwSlots = append(e.kwSlots, e.slot(f))
	}
	sort.Slice(e.kwSlots, func(i, j int) bool { return e.kwSlots[i] < e.kwSlots[j] })

	c := &compiler{e: e}
	for _, r := range rs.Rules {
		cr, err := c.compileRule(r)
		if err != nil {
			e.rejected = append(e.rejected, sigma.Rejection{File: r.File, Line: r.Line, ID: r.ID, Title: r.Title, Reason: err.Error()})
			continue
		}
		cr.info.Index = len(e.rules)
		e.rules = append(e.rules, cr)
		e.infos = append(e.infos, cr.info)
		if r.ID != "" {
			e.byKey[r.ID] = cr.info
		}
		if r.Name != "" {
			e.byKey[r.Name] = cr.info
		}
	}
	e.routes.assign(e)
	for _, r := range e.rules {
		if len(r.entries) == 0 && !r.everyEvent {
			e.unrouted++
		}
	}
	e.buildPrefilter(c)
	if !opts.keepBuildData {
		e.dropBuildData()
	}
	e.names = newNameTable(e.fieldIdx)
	e.pool.New = func() any { return e.NewWorker() }
	return e, nil
}

// dropBuildData lets go of what only compiling needed: with the full
// SigmaHQ set it is tens of megabytes the garbage collector would
// otherwise walk for the life of the process.
func (e *Engine) dropBuildData() {
	for _, r := range e.rules {
		for _, nd := range r.nodes {
			l := nd.leaf
			if l == nil {
				continue
			}
			l.multiPats = nil
			for i := range l.alts {
				l.alts[i].pat = nil
			}
			// alts was filtered in place: let go of the spare capacity.
			switch {
			case len(l.alts) == 0:
				l.alts = nil
			case cap(l.alts) > len(l.alts):
				l.alts = slices.Clone(l.alts)
			}
		}
	}
	e.regexCache = nil
}

// Match evaluates ev with a pooled worker and calls fn for each matching
// rule, in rule order. It returns the number of matches. Its counts reach
// Stats at once; a goroutine that matches many events does better with
// its own Worker (NewWorker), which adds its counts every 256 events.
func (e *Engine) Match(ev *event.Event, fn func(*Match)) int {
	w := e.pool.Get().(*Worker)
	n := w.Match(ev, fn)
	w.Flush()
	e.pool.Put(w)
	return n
}

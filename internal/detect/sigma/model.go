// Package sigma reads Sigma rules (specification v2.x): detection rules,
// correlation rules and filters, from single- and multi-document YAML files
// and rule collections. It validates them, applies the value modifiers and
// parses the conditions, and reports every rejected rule with its file,
// line and a specific reason. Compiling rules for evaluation is the job of
// package engine; correlating matches is the job of package correlation.
package sigma

import (
	"time"
)

// LogSource is a rule's logsource section. Empty attributes are unset.
type LogSource struct {
	Category string
	Product  string
	Service  string
}

// Covers reports whether an event of log source ev satisfies a rule whose
// log source is ls: every attribute set in ls must equal the one in ev.
func (ls LogSource) Covers(ev LogSource) bool {
	return (ls.Category == "" || ls.Category == ev.Category) &&
		(ls.Product == "" || ls.Product == ev.Product) &&
		(ls.Service == "" || ls.Service == ev.Service)
}

// IsZero reports whether no attribute is set.
func (ls LogSource) IsZero() bool { return ls == LogSource{} }

func (ls LogSource) String() string {
	s := ""
	add := func(k, v string) {
		if v == "" {
			return
		}
		if s != "" {
			s += " "
		}
		s += k + ":" + v
	}
	add("product", ls.Product)
	add("category", ls.Category)
	add("service", ls.Service)
	if s == "" {
		return "(any)"
	}
	return s
}

// Meta is the metadata shared by detection and correlation rules.
type Meta struct {
	File           string // path of the file the rule came from
	Line           int    // line of the document's first key
	ID             string
	Name           string
	Title          string
	Status         string
	Description    string
	Author         string
	Level          string
	Date           string
	Modified       string
	References     []string
	Tags           []string
	Fields         []string
	FalsePositives []string
}

// Rule is one detection rule.
type Rule struct {
	Meta
	LogSource LogSource
	Detection Detection
	// Alert is false when the rule is referenced only by correlation
	// rules that do not ask for the referenced rules' own alerts
	// (correlation `generate: false`, the default): its matches feed the
	// correlations but are not alerts of their own.
	Alert bool
	// Correlated is true when at least one correlation rule references
	// this rule, directly.
	Correlated bool
}

// Detection is a rule's detection section.
type Detection struct {
	// Searches by name, in file order.
	Searches []*Search
	// Conditions are linked with OR (a condition may be a YAML list).
	Conditions []*Cond
	// ConditionText is the condition as written (list items joined by " | ").
	ConditionText []string
	Line          int
}

// Search returns the named search identifier, or nil.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Search is one search identifier: a tree of detection items.
type Search struct {
	Name string
	Line int
	Root *Node
}

// NodeKind is the kind of a search tree node.
type NodeKind uint8

// Node kinds.
const (
	NodeAnd NodeKind = iota + 1
	NodeOr
	NodeItem
)

// Node is a search tree node: AND (a map), OR (a list) or one item.
type Node struct {
	Kind NodeKind
	Kids []*Node
	Item *Item
}

// Item is one detection item: a field (empty for keywords), its modifiers
// and values, as written, and the typed values after modifiers.
type Item struct {
	Field     string
	Modifiers []string
	Raw       []RawValue
	Line      int
	Column    int

	// Values are the typed values after the modifiers were applied: one
	// group per raw value, holding the alternatives that value expanded to
	// (windash, base64offset, expand), which are linked with OR.
	Values [][]Value
	// All is true when the groups are linked with AND (modifier all);
	// otherwise with OR.
	All bool
	// Negate is true for the neq modifier: the item matches when none of
	// its values match.
	Negate bool
}

// RawKind is the YAML type of a value as written.
type RawKind uint8

// Raw value kinds.
const (
	RawString RawKind = iota + 1
	RawNumber
	RawBool
	RawNull
)

// RawValue is one value as written in the rule.
type RawValue struct {
	Kind RawKind
	Text string
	Line int
}

// ValueKind is the kind of a typed value.
type ValueKind uint8

// Value kinds.
const (
	// ValString matches the field text against a pattern (Pattern).
	ValString ValueKind = iota + 1
	// ValRegex matches the field text against Regex (RE2 syntax, flags
	// already in the pattern).
	ValRegex
	// ValCompare compares the field as a number with Number using Op.
	ValCompare
	// ValCIDR matches the field as an IP address inside CIDR.
	ValCIDR
	// ValExists checks that the field exists (Exists true) or not.
	ValExists
	// ValNull matches when the field is absent.
	ValNull
	// ValFieldRef compares the field with the value of field Ref.
	ValFieldRef
	// ValTimePart extracts Part from the field as a date and compares it
	// with Number.
	ValTimePart
)

// Value is one typed value of an item.
type Value struct {
	Kind ValueKind
	// Pattern for ValString: literal parts and wildcards.
	Pattern Pattern
	// Cased for ValString and ValFieldRef: match case-sensitively.
	Cased bool
	// Regex for ValRegex.
	Regex string
	// Number and Op for ValCompare and ValTimePart.
	Number float64
	Op     string // lt lte gt gte eq
	// CIDR for ValCIDR, in canonical form.
	CIDR string
	// Exists for ValExists.
	Exists bool
	// Ref, RefPrefix, RefSuffix for ValFieldRef (contains sets both).
	Ref       string
	RefPrefix bool
	RefSuffix bool
	// Part for ValTimePart: minute hour day week month year.
	Part string
}

// Correlation is a correlation rule.
type Correlation struct {
	Meta
	Type      string // event_count value_count temporal temporal_ordered value_sum value_avg value_percentile
	Rules     []string
	GroupBy   []string
	Timespan  time.Duration
	Aliases   map[string]map[string]string // alias -> rule reference -> field
	Condition CorrCondition
	Generate  bool
	// Alert is false when the correlation is only a step of another
	// correlation that does not generate its referenced rules.
	Alert bool

	// Refs are the resolved references, in the order of Rules.
	Refs []Ref
}

// Ref is a resolved reference from a correlation to a rule or correlation.
type Ref struct {
	Name        string // as written in the correlation
	Rule        *Rule
	Correlation *Correlation
}

// ID returns the referenced rule's id (or name when it has no id).
func (r Ref) ID() string {
	if r.Rule != nil {
		return r.Rule.Key()
	}
	if r.Correlation != nil {
		return r.Correlation.Key()
	}
	return r.Name
}

// Key returns the rule's id, or its name, or its title when it has neither.
func (m *Meta) Key() string {
	switch {
	case m.ID != "":
		return m.ID
	case m.Name != "":
		return m.Name
	}
	return m.Title
}

// CorrCondition is a correlation condition: comparisons linked with AND
// (a range when there are two), the field for value_* types, and for
// temporal types optionally a boolean expression over rule names.
type CorrCondition struct {
	Cmp        []Comparison
	Field      []string
	Percentile int
	Expr       *Cond // extended temporal condition over rule references
}

// Comparison is one `op: value` of a correlation condition.
type Comparison struct {
	Op    string // gt gte lt lte eq neq
	Value float64
}

// Holds reports whether v satisfies every comparison.
func (c CorrCondition) Holds(v float64) bool {
	for _, cmp := range c.Cmp {
		if !cmp.Holds(v) {
			return false
		}
	}
	return true
}

// Holds reports whether v satisfies the comparison.
func (c Comparison) Holds(v float64) bool {
	switch c.Op {
	case "gt":
		return v > c.Value
	case "gte":
		return v >= c.Value
	case "lt":
		return v < c.Value
	case "lte":
		return v <= c.Value
	case "eq":
		return v == c.Value
	case "neq":
		return v != c.Value
	}
	return false
}

// Filter is a Sigma filter (meta rule) that adds a condition to the rules
// it names.
type Filter struct {
	Meta
	LogSource LogSource
	Rules     []string // empty means any rule of the log source
	Detection Detection
}

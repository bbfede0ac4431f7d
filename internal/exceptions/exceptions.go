// Package exceptions is detection tuning kept as data: an exception names
// a rule (by id or name, or "*") or a tag, and conditions on event fields
// (equals, in a list, in a CIDR range, a wildcard pattern); events that
// match raise no alert for that rule and are counted against the
// exception. Exceptions are made through the API (often from an alert, in
// one step), or kept as YAML files in a directory reviewed in git. An
// exception may expire: from then on it no longer applies, and its expiry
// is reported once as an informational alert.
//
// The detector asks Suppress for every match; the compiled set is swapped
// atomically when exceptions change, so evaluation takes no lock.
package exceptions

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
)

// Condition is one test of an event field.
type Condition struct {
	Field string `json:"field" yaml:"field"`
	// Op is equals, in, cidr or wildcard (equals and in compare without
	// regard to case, as Sigma does; wildcard takes * and ?).
	Op string `json:"op" yaml:"op"`
	// Value is the operand of equals, cidr and wildcard; Values that of
	// in (a list of values, or of CIDR ranges or patterns for cidr and
	// wildcard).
	Value  string   `json:"value,omitempty" yaml:"value,omitempty"`
	Values []string `json:"values,omitempty" yaml:"values,omitempty"`
}

// Ops are the condition operators.
var Ops = []string{"equals", "in", "cidr", "wildcard"}

// Exception is one tuning exception.
type Exception struct {
	// ID is a number for exceptions made through the API, and
	// "file:<name>:<line>" for those of the YAML directory.
	ID string `json:"id"`
	// Rule is a rule id or name, or "*" for any rule (with Tag).
	Rule string `json:"rule"`
	// Tag restricts the exception to rules with this tag (or prefix*).
	Tag        string      `json:"tag,omitempty"`
	Conditions []Condition `json:"conditions"`
	Author     string      `json:"author"`
	Reason     string      `json:"reason"`
	Expires    *time.Time  `json:"expires,omitempty"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
	Enabled    bool        `json:"enabled"`
	// Source is "api" or the file it was read from.
	Source string `json:"source"`
	// FromAlert is the alert the exception was made from, if any.
	FromAlert int64 `json:"from_alert,omitempty"`
	// Hits counts the events the exception kept out of alerts; LastHit
	// is the last one.
	Hits    int64      `json:"hits"`
	LastHit *time.Time `json:"last_hit,omitempty"`
	// Expired is set when Expires has passed: the exception no longer
	// applies.
	Expired bool `json:"expired"`
}

// Limits of an exception.
const (
	MaxConditions = 20
	MaxValues     = 1000
	MaxReason     = 2000
)

// ValidationError names what is wrong with an exception.
type ValidationError struct {
	Where string // field path, e.g. conditions[1].op, or file:line
	Msg   string
}

func (e *ValidationError) Error() string { return e.Where + ": " + e.Msg }

// HTTPStatus: an exception that does not validate is bad input.
func (e *ValidationError) HTTPStatus() int { return http.StatusBadRequest }

func invalid(where, format string, a ...any) error {
	return &ValidationError{Where: where, Msg: fmt.Sprintf(format, a...)}
}

var fieldRE = regexp.MustCompile(`^[A-Za-z0-9_@][A-Za-z0-9_.@-]*$`)

// Validate checks an exception and returns it in normal form (trimmed,
// values of equals and in kept as given).
func Validate(x Exception) (Exception, error) {
	x.Rule, x.Tag, x.Reason = strings.TrimSpace(x.Rule), strings.ToLower(strings.TrimSpace(x.Tag)), strings.TrimSpace(x.Reason)
	if x.Rule == "" && x.Tag == "" {
		return x, invalid("rule", `name a rule (its id or name), or "*" with a tag`)
	}
	if x.Rule == "" {
		x.Rule = "*"
	}
	if x.Rule == "*" && x.Tag == "" && len(x.Conditions) == 0 {
		return x, invalid("conditions", `an exception for every rule needs conditions`)
	}
	if len(x.Rule) > 200 || strings.ContainsAny(x.Rule, "\x00\r\n") {
		return x, invalid("rule", "not a rule id or name")
	}
	if x.Reason == "" {
		return x, invalid("reason", "say why: the reason is what a reviewer reads")
	}
	if len(x.Reason) > MaxReason {
		return x, invalid("reason", "%d bytes: at most %d", len(x.Reason), MaxReason)
	}
	if len(x.Conditions) == 0 && x.Rule != "*" {
		// A rule switched off entirely: allowed, but it must be said.
		if !strings.Contains(strings.ToLower(x.Reason), "disable") && x.Expires == nil {
			return x, invalid("conditions", "no conditions would silence the whole rule: give conditions, an expiry, or say \"disable\" in the reason")
		}
	}
	if len(x.Conditions) > MaxConditions {
		return x, invalid("conditions", "%d conditions: at most %d", len(x.Conditions), MaxConditions)
	}
	for i := range x.Conditions {
		c := &x.Conditions[i]
		where := fmt.Sprintf("conditions[%d]", i)
		c.Field, c.Op = strings.TrimSpace(c.Field), strings.ToLower(strings.TrimSpace(c.Op))
		if c.Op == "" {
			c.Op = "equals"
		}
		if !fieldRE.MatchString(c.Field) || len(c.Field) > 200 {
			return x, invalid(where+".field", "%q is not a field name such as source.ip", c.Field)
		}
		if !contains(Ops, c.Op) {
			return x, invalid(where+".op", "unknown operator %q: want equals, in, cidr or wildcard", c.Op)
		}
		vals := c.values()
		if len(vals) == 0 {
			return x, invalid(where+".value", "no value to compare %s with", c.Field)
		}
		if c.Op == "in" && c.Value != "" {
			return x, invalid(where+".values", "in takes a list: values: [a, b]")
		}
		if c.Op != "in" && len(c.Values) > 0 && c.Value != "" {
			return x, invalid(where+".value", "give value or values, not both")
		}
		if len(vals) > MaxValues {
			return x, invalid(where+".values", "%d values: at most %d", len(vals), MaxValues)
		}
		if _, err := compileCondition(*c); err != nil {
			return x, invalid(where+".value", "%v", err)
		}
	}
	if x.Expires != nil {
		e := x.Expires.UTC()
		x.Expires = &e
	}
	return x, nil
}

func (c Condition) values() []string {
	if c.Value != "" {
		return append([]string{c.Value}, c.Values...)
	}
	return c.Values
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// compiled is one exception ready to test events.
type compiled struct {
	x       Exception
	conds   []test
	hits    atomic.Int64
	lastHit atomic.Int64 // unix nanos
}

// test reports whether a field value passes a condition.
type test struct {
	field string
	match func(v string) bool
}

func compileCondition(c Condition) (test, error) {
	vals := c.values()
	switch c.Op {
	case "equals", "in":
		set := map[string]bool{}
		for _, v := range vals {
			set[strings.ToLower(v)] = true
		}
		return test{c.Field, func(v string) bool { return set[strings.ToLower(v)] }}, nil
	case "cidr":
		var ps []netip.Prefix
		for _, v := range vals {
			p, err := netip.ParsePrefix(strings.TrimSpace(v))
			if err != nil {
				a, aerr := netip.ParseAddr(strings.TrimSpace(v))
				if aerr != nil {
					return test{}, fmt.Errorf("%q is not a CIDR range such as 10.0.5.0/24", v)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			ps = append(ps, p.Masked())
		}
		return test{c.Field, func(v string) bool {
			a, err := netip.ParseAddr(strings.TrimSpace(v))
			if err != nil {
				return false
			}
			a = a.Unmap()
			for _, p := range ps {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}}, nil
	case "wildcard":
		var res []*regexp.Regexp
		for _, v := range vals {
			var b strings.Builder
			b.WriteString("(?is)^")
			for _, r := range v {
				switch r {
				case '*':
					b.WriteString(".*")
				case '?':
					b.WriteString(".")
				default:
					b.WriteString(regexp.QuoteMeta(string(r)))
				}
			}
			b.WriteString("$")
			re, err := regexp.Compile(b.String())
			if err != nil {
				return test{}, err
			}
			res = append(res, re)
		}
		return test{c.Field, func(v string) bool {
			for _, re := range res {
				if re.MatchString(v) {
					return true
				}
			}
			return false
		}}, nil
	}
	return test{}, errors.New("unknown operator " + c.Op)
}

// Set is a compiled, immutable set of exceptions.
type Set struct {
	byRule map[string][]*compiled // rule id or name -> exceptions
	any    []*compiled            // rule "*" (with a tag or conditions)
	all    []*compiled
	now    func() time.Time
}

func compile(xs []Exception, now func() time.Time, carry map[string]*compiled) *Set {
	s := &Set{byRule: map[string][]*compiled{}, now: now}
	for _, x := range xs {
		if !x.Enabled {
			continue
		}
		c := &compiled{x: x}
		if old := carry[x.ID]; old != nil {
			// Hits not yet written survive the swap.
			c.hits.Store(old.hits.Load())
			c.lastHit.Store(old.lastHit.Load())
		}
		ok := true
		for _, cd := range x.Conditions {
			t, err := compileCondition(cd)
			if err != nil {
				ok = false
				break
			}
			c.conds = append(c.conds, t)
		}
		if !ok {
			continue
		}
		s.all = append(s.all, c)
		if x.Rule == "*" {
			s.any = append(s.any, c)
		} else {
			s.byRule[x.Rule] = append(s.byRule[x.Rule], c)
		}
	}
	return s
}

// Fields gives an event's field values.
type Fields interface {
	Get(name string) (string, bool)
}

// MapFields adapts a flat map.
type MapFields map[string]string

// Get returns a field's value.
func (m MapFields) Get(name string) (string, bool) { v, ok := m[name]; return v, ok }

// Match returns the exception that suppresses a match of the rule (by
// id, name and tags) on an event, counting the hit, or nil.
func (s *Set) Match(ruleID, ruleName string, tags []string, ev Fields) *Exception {
	if s == nil || len(s.all) == 0 {
		return nil
	}
	try := func(cs []*compiled) *Exception {
		for _, c := range cs {
			if c.applies(tags, ev, s.now) {
				c.hits.Add(1)
				c.lastHit.Store(s.now().UnixNano())
				return &c.x
			}
		}
		return nil
	}
	if ruleID != "" {
		if x := try(s.byRule[ruleID]); x != nil {
			return x
		}
	}
	if ruleName != "" && ruleName != ruleID {
		if x := try(s.byRule[ruleName]); x != nil {
			return x
		}
	}
	return try(s.any)
}

func (c *compiled) applies(tags []string, ev Fields, now func() time.Time) bool {
	if c.x.Expires != nil && !now().Before(*c.x.Expires) {
		return false
	}
	if c.x.Tag != "" && !tagMatch(c.x.Tag, tags) {
		return false
	}
	for _, t := range c.conds {
		v, ok := ev.Get(t.field)
		if !ok || !t.match(v) {
			return false
		}
	}
	return true
}

func tagMatch(pattern string, tags []string) bool {
	p, prefix := strings.CutSuffix(pattern, "*")
	for _, t := range tags {
		t = strings.ToLower(t)
		if t == pattern || (prefix && strings.HasPrefix(t, p)) {
			return true
		}
	}
	return false
}

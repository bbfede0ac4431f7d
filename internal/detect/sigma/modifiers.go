package sigma

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modifiers lists every value modifier this package understands.
var Modifiers = []string{
	"contains", "startswith", "endswith", "all", "exists", "cased", "neq", "windash",
	"re", "i", "m", "s", "ignorecase", "multiline", "dotall",
	"base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",
	"lt", "lte", "gt", "gte", "minute", "hour", "day", "week", "month", "year",
	"cidr", "expand", "fieldref",
}

func knownModifier(m string) bool {
	for _, k := range Modifiers {
		if k == m {
			return true
		}
	}
	return false
}

// ModifierError is a problem with a detection item's modifiers or values.
type ModifierError struct {
	Line, Column int
	Msg          string
}

func (e *ModifierError) Error() string { return e.Msg }

// ValueOptions configure how values are typed.
type ValueOptions struct {
	// Placeholders are the values of %name% placeholders for the expand
	// modifier, by name without percent signs.
	Placeholders map[string][]string
}

// working value while modifiers are applied
type wval struct {
	kind    ValueKind
	pats    []Pattern // ValString alternatives
	regex   string
	reFlags string
	num     float64
	op      string
	cidr    string
	exists  bool
	ref     string
	pre     bool
	suf     bool
	part    string
	encoded bool // a string modifier has been applied
}

// ApplyModifiers types the item's raw values according to its modifiers
// and stores them in it.Values, it.All and it.Negate.
func ApplyModifiers(it *Item, opt ValueOptions) error {
	fail := func(format string, args ...any) error {
		return &ModifierError{Line: it.Line, Column: it.Column, Msg: fmt.Sprintf(format, args...)}
	}
	it.All, it.Negate = false, false
	it.Values = nil
	cased := false
	for _, m := range it.Modifiers {
		if !knownModifier(m) {
			return fail("unknown modifier %q", m)
		}
		switch m {
		case "all":
			it.All = true
		case "neq":
			it.Negate = true
		case "cased":
			cased = true
		}
	}
	if it.All && len(it.Raw) < 2 {
		// The specification discourages this; it is still well defined.
		it.All = len(it.Raw) > 1
	}
	if len(it.Raw) == 0 {
		return fail("field %q has an empty list of values", it.Field)
	}
	for _, raw := range it.Raw {
		w, err := applyValue(it, raw, opt)
		if err != nil {
			return fail("%s", err.Error())
		}
		var group []Value
		switch w.kind {
		case ValString:
			for _, p := range w.pats {
				group = append(group, Value{Kind: ValString, Pattern: p, Cased: cased})
			}
		case ValRegex:
			re := w.regex
			if w.reFlags != "" {
				re = "(?" + w.reFlags + ")" + re
			}
			group = append(group, Value{Kind: ValRegex, Regex: re})
		case ValCompare, ValTimePart:
			group = append(group, Value{Kind: w.kind, Number: w.num, Op: w.op, Part: w.part})
		case ValCIDR:
			group = append(group, Value{Kind: ValCIDR, CIDR: w.cidr})
		case ValExists:
			group = append(group, Value{Kind: ValExists, Exists: w.exists})
		case ValNull:
			group = append(group, Value{Kind: ValNull})
		case ValFieldRef:
			group = append(group, Value{Kind: ValFieldRef, Ref: w.ref, RefPrefix: w.pre, RefSuffix: w.suf, Cased: cased})
		}
		it.Values = append(it.Values, group)
	}
	return nil
}

func applyValue(it *Item, raw RawValue, opt ValueOptions) (wval, error) {
	var w wval
	keyword := it.Field == ""
	hasExpand := false
	for _, m := range it.Modifiers {
		if m == "expand" {
			hasExpand = true
		}
	}
	switch raw.Kind {
	case RawNull:
		for _, m := range it.Modifiers {
			if m != "neq" && m != "all" && m != "cased" {
				return w, fmt.Errorf("modifier %q cannot apply to null", m)
			}
		}
		if keyword {
			return w, fmt.Errorf("a keyword cannot be null")
		}
		w.kind = ValNull
		return w, nil
	case RawBool:
		w.kind = ValString
		w.pats = []Pattern{LiteralPattern(raw.Text)}
	default:
		w.kind = ValString
		if raw.Kind == RawNumber {
			w.pats = []Pattern{LiteralPattern(raw.Text)}
		} else {
			w.pats = []Pattern{ParsePattern(raw.Text, hasExpand)}
		}
	}
	for i, m := range it.Modifiers {
		switch m {
		case "all", "neq", "cased":
			continue
		case "exists":
			if keyword {
				return w, fmt.Errorf("modifier exists needs a field")
			}
			if raw.Kind != RawBool || i > 0 && !onlyList(it.Modifiers[:i]) {
				return w, fmt.Errorf("modifier exists takes true or false, unmodified")
			}
			w.kind = ValExists
			w.exists = raw.Text == "true"
		case "re":
			if raw.Kind != RawString || w.encoded || w.kind != ValString {
				return w, fmt.Errorf("modifier re applies only to an unmodified string")
			}
			if err := checkRegex(raw.Text); err != nil {
				return w, err
			}
			w.kind = ValRegex
			w.regex = raw.Text
		case "i", "ignorecase", "m", "multiline", "s", "dotall":
			if w.kind != ValRegex {
				return w, fmt.Errorf("modifier %s applies only after re", m)
			}
			f := m[:1]
			if !strings.Contains(w.reFlags, f) {
				w.reFlags += f
			}
		case "contains", "startswith", "endswith":
			switch w.kind {
			case ValString:
				for k, p := range w.pats {
					w.pats[k] = p.withStars(m != "startswith", m != "endswith")
				}
			case ValRegex:
				// Regular expressions are searched anywhere in the value.
			case ValFieldRef:
				w.pre = w.pre || m != "endswith"
				w.suf = w.suf || m != "startswith"
			default:
				return w, fmt.Errorf("modifier %s cannot apply to this value", m)
			}
		case "windash":
			if w.kind != ValString {
				return w, fmt.Errorf("modifier windash applies only to strings")
			}
			var out []Pattern
			for _, p := range w.pats {
				vs, ok := windash(p)
				if !ok {
					return w, fmt.Errorf("modifier windash expands %q to more than %d alternatives", p.String(), maxExpansion)
				}
				out = append(out, vs...)
			}
			w.pats = out
		case "base64", "base64offset":
			if w.kind != ValString {
				return w, fmt.Errorf("modifier %s applies only to strings", m)
			}
			var out []Pattern
			for _, p := range w.pats {
				lit, ok := p.Literal()
				if !ok {
					return w, fmt.Errorf("modifier %s cannot encode a value with wildcards or placeholders (%q)", m, p.String())
				}
				if m == "base64" {
					out = append(out, LiteralPattern(base64.StdEncoding.EncodeToString([]byte(lit))))
					continue
				}
				for _, v := range base64Offsets(lit) {
					out = append(out, LiteralPattern(v))
				}
			}
			w.pats = out
			w.encoded = true
		case "utf16le", "wide", "utf16be", "utf16":
			if w.kind != ValString {
				return w, fmt.Errorf("modifier %s applies only to strings", m)
			}
			for k, p := range w.pats {
				q := p.mapLiterals(func(s string) string { return encodeUTF16(s, m == "utf16be") })
				if m == "utf16" {
					q = append(Pattern{{Kind: PartLit, Text: "\xff\xfe"}}, q...)
				}
				w.pats[k] = q
			}
			w.encoded = true
		case "lt", "lte", "gt", "gte":
			if w.kind != ValString || w.encoded || raw.Kind == RawBool {
				return w, fmt.Errorf("modifier %s needs a number", m)
			}
			n, err := strconv.ParseFloat(strings.TrimSpace(raw.Text), 64)
			if err != nil || math.IsNaN(n) {
				return w, fmt.Errorf("modifier %s needs a number, not %q", m, raw.Text)
			}
			w.kind, w.num, w.op = ValCompare, n, m
		case "minute", "hour", "day", "week", "month", "year":
			if raw.Kind != RawNumber {
				return w, fmt.Errorf("modifier %s needs a number, not %q", m, raw.Text)
			}
			n, _ := strconv.ParseFloat(raw.Text, 64)
			w.kind, w.num, w.op, w.part = ValTimePart, n, "eq", m
		case "cidr":
			if w.kind != ValString || w.encoded || raw.Kind != RawString {
				return w, fmt.Errorf("modifier cidr applies only to an unmodified string")
			}
			pfx, err := parseCIDR(raw.Text)
			if err != nil {
				return w, err
			}
			w.kind, w.cidr = ValCIDR, pfx
		case "expand":
			if w.kind != ValString {
				return w, fmt.Errorf("modifier expand applies only to strings")
			}
			var out []Pattern
			for _, p := range w.pats {
				vs, err := expandPlaceholders(p, opt.Placeholders)
				if err != nil {
					return w, err
				}
				out = append(out, vs...)
			}
			if len(out) > maxExpansion {
				return w, fmt.Errorf("placeholders expand to more than %d alternatives", maxExpansion)
			}
			w.pats = out
		case "fieldref":
			if keyword {
				return w, fmt.Errorf("modifier fieldref needs a field")
			}
			if w.kind != ValString || raw.Kind != RawString {
				return w, fmt.Errorf("modifier fieldref applies only to a field name")
			}
			p := w.pats[0]
			// contains/startswith/endswith written before fieldref.
			if len(p) > 0 && p[0].Kind == PartStar {
				w.suf = true
				p = p[1:]
			}
			if len(p) > 0 && p[len(p)-1].Kind == PartStar {
				w.pre = true
				p = p[:len(p)-1]
			}
			lit, ok := p.Literal()
			if !ok || lit == "" {
				return w, fmt.Errorf("modifier fieldref needs a plain field name, not %q", raw.Text)
			}
			w.kind, w.ref = ValFieldRef, lit
		}
	}
	if w.kind == ValString {
		for _, p := range w.pats {
			if p.HasPlaceholders() {
				return w, fmt.Errorf("BUG: placeholder left in %q", p.String())
			}
		}
		if keyword {
			// Keywords are searched anywhere in the event.
			for k, p := range w.pats {
				w.pats[k] = p.withStars(true, true)
			}
		}
	}
	return w, nil
}

func onlyList(mods []string) bool {
	for _, m := range mods {
		if m != "all" && m != "neq" && m != "cased" {
			return false
		}
	}
	return true
}

// base64Offsets returns the three base64 forms of s as it may appear at any
// offset inside a longer encoded text (what pySigma's base64offset does).
func base64Offsets(s string) []string {
	starts := [3]int{0, 2, 3}
	ends := [3]int{0, -3, -2} // 0 means to the end
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + s))
		end := len(enc)
		if e := ends[(len(s)+i)%3]; e != 0 {
			end = len(enc) + e
		}
		st := starts[i]
		if st > end {
			st = end
		}
		out = append(out, enc[st:end])
	}
	return out
}

func encodeUTF16(s string, bigEndian bool) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		for _, u := range utf16.Encode([]rune{r}) {
			if bigEndian {
				b.WriteByte(byte(u >> 8))
				b.WriteByte(byte(u))
			} else {
				b.WriteByte(byte(u))
				b.WriteByte(byte(u >> 8))
			}
		}
	}
	return b.String()
}

func parseCIDR(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return "", fmt.Errorf("modifier cidr: %q is not an IP network", s)
		}
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("modifier cidr: %q is not an IP network: %v", s, err)
	}
	return p.Masked().String(), nil
}

func expandPlaceholders(p Pattern, lists map[string][]string) ([]Pattern, error) {
	out := []Pattern{{}}
	for _, x := range p {
		if x.Kind != PartPlaceholder {
			for k := range out {
				out[k] = append(out[k], x)
			}
			continue
		}
		vals, ok := lists[x.Text]
		if !ok {
			return nil, fmt.Errorf("placeholder %%%s%% has no configured values (give a placeholders file)", x.Text)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("placeholder %%%s%% has an empty list of values", x.Text)
		}
		var next []Pattern
		for _, base := range out {
			for _, v := range vals {
				q := append(base.clone(), ParsePattern(v, false)...)
				next = append(next, q)
				if len(next) > maxExpansion {
					return nil, fmt.Errorf("placeholders expand to more than %d alternatives", maxExpansion)
				}
			}
		}
		out = next
	}
	for k := range out {
		out[k] = normalizePattern(out[k])
	}
	return out, nil
}

// normalizePattern merges adjacent literals and stars.
func normalizePattern(p Pattern) Pattern {
	var q Pattern
	for _, x := range p {
		if len(q) > 0 {
			last := &q[len(q)-1]
			if x.Kind == PartLit && last.Kind == PartLit {
				last.Text += x.Text
				continue
			}
			if x.Kind == PartStar && last.Kind == PartStar {
				continue
			}
		}
		if x.Kind == PartLit && x.Text == "" {
			continue
		}
		q = append(q, x)
	}
	return q
}

// RegexError explains why a regular expression was rejected.
type RegexError struct{ Msg string }

func (e *RegexError) Error() string { return e.Msg }

// checkRegex verifies that re is valid RE2 syntax (Go's regexp), naming the
// PCRE feature when it is not, since rules are written for PCRE.
func checkRegex(re string) error {
	if _, err := syntax.Parse(re, syntax.Perl); err != nil {
		feature := ""
		switch {
		case strings.Contains(re, "(?="), strings.Contains(re, "(?!"):
			feature = "lookahead"
		case strings.Contains(re, "(?<="), strings.Contains(re, "(?<!"):
			feature = "lookbehind"
		case strings.Contains(re, "(?>"):
			feature = "atomic group"
		case regexpBackref(re):
			feature = "backreference"
		case strings.Contains(re, "*+") || strings.Contains(re, "++") || strings.Contains(re, "?+"):
			feature = "possessive quantifier"
		}
		if feature != "" {
			return &RegexError{Msg: fmt.Sprintf("regular expression %q uses a %s, which RE2 cannot run: %v", re, feature, err)}
		}
		return &RegexError{Msg: fmt.Sprintf("regular expression %q is not valid RE2: %v", re, err)}
	}
	return nil
}

func regexpBackref(re string) bool {
	for i := 0; i+1 < len(re); i++ {
		if re[i] == '\\' {
			if re[i+1] >= '1' && re[i+1] <= '9' {
				return true
			}
			i++
		}
	}
	return false
}

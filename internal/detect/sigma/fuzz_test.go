package sigma

import (
	"strings"
	"testing"
)

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"selection", "sel and not filter", "1 of selection* and not 1 of filter_*", "all of them",
		"(a or b) and not (c or d)", "not not a", "a | count() > 5", "((((a))))", "1 of", "all of them and", "",
		"any of sel*", "a and (b or c", strings.Repeat("(", 100) + "a" + strings.Repeat(")", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		// A parsed condition renders and re-parses to the same tree.
		r := c.String()
		c2, err := ParseCondition(r)
		if err != nil {
			t.Fatalf("%q rendered as %q, which does not parse: %v", s, r, err)
		}
		if c2.String() != r {
			t.Fatalf("%q: %q re-renders as %q", s, r, c2.String())
		}
		_, _ = c.Names([]string{"a", "sel", "selection1", "_x"})
	})
}

func FuzzParseFile(f *testing.F) {
	seeds := []string{
		"title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\\\cmd.exe'\n  condition: sel\n",
		"title: t\nlogsource: {category: x}\ndetection:\n  k:\n    - a\n    - b\n  condition: k\n",
		"title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [u]\n  timespan: 5m\n  condition: {gte: 3}\n",
		"title: f\nlogsource: {product: windows}\nfilter:\n  rules: any\n  sel: {User|startswith: adm_}\n  condition: not sel\n",
		"action: global\nlogsource: {product: windows}\n---\ntitle: a\ndetection: {s: {A: 1}, condition: s}\n",
		"title: t\nlogsource: {product: windows}\ndetection:\n  sel: {A|base64offset|contains: x, B|windash: '-a -b', C|re|i: 'x+', D|cidr: '10.0.0.0/8'}\n  condition: sel\n",
		"a: &x [1, *x]\n", "- - -\n", "title: [\n", "{", "title: t\ndetection: 5\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseFile("fuzz.yml", []byte(s), ParseOptions{MaxFileSize: 1 << 16})
		for _, r := range p.Rejected {
			if r.Reason == "" {
				t.Fatalf("rejection without reason: %+v", r)
			}
		}
		rs := &RuleSet{Rules: p.Rules, Correlations: p.Correlations, Filters: p.Filters}
		Link(rs, &Report{})
	})
}

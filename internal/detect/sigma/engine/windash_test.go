package engine

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/event"
)

// The windash modifier, as the Sigma specification (modifiers appendix)
// and pySigma, its reference implementation, define it: every '-' or '/'
// of the value that starts a word — pySigma's regular expression
// \B[-/]\b, applied to each run of text between wildcards, with Python's
// Unicode word characters — is replaced by each of hyphen-minus, slash,
// en dash (U+2013), em dash (U+2014) and horizontal bar (U+2015); the value
// matches when one of the variants does. Everything here is written from
// that definition, apart from the engine's code in ../pattern.go.

// dashes are the five windash characters, written out.
var dashes = []string{"-", "/", "–", "—", "―"}

// pyWord is Python's \w on str: str.isalnum() or '_', that is the Unicode
// letter and number categories and the underscore.
func pyWord(r rune) bool {
	return r == '_' || unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Lo, unicode.Nd, unicode.Nl, unicode.No)
}

// refTok is one character of a Sigma value: a literal rune (src is how it
// is written, with its escape) or a wildcard.
type refTok struct {
	src  string
	r    rune
	wild bool
}

func refTokens(v string) []refTok {
	var out []refTok
	rs := []rune(v)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`*?\`, rs[i+1]):
			out = append(out, refTok{src: string(rs[i : i+2]), r: rs[i+1]})
			i++
		case r == '*' || r == '?':
			out = append(out, refTok{src: string(r), r: r, wild: true})
		default:
			out = append(out, refTok{src: string(r), r: r})
		}
	}
	return out
}

// refSites returns the indexes of the tokens windash replaces: '-' or '/'
// with no word boundary before it (start of a text run, or a non-word
// character: \B) and one after it (a word character in the same run: \b).
func refSites(toks []refTok) []int {
	var sites []int
	for i, t := range toks {
		if t.wild || (t.r != '-' && t.r != '/') {
			continue
		}
		before := i == 0 || toks[i-1].wild || !pyWord(toks[i-1].r)
		after := i+1 < len(toks) && !toks[i+1].wild && pyWord(toks[i+1].r)
		if before && after {
			sites = append(sites, i)
		}
	}
	return sites
}

// refWindash returns the values (Sigma syntax) windash expands v to.
func refWindash(v string) []string {
	toks := refTokens(v)
	sites := refSites(toks)
	out := []string{""}
	for i, t := range toks {
		alts := []string{t.src}
		if slices.Contains(sites, i) {
			alts = dashes
		}
		var next []string
		for _, prefix := range out {
			for _, a := range alts {
				next = append(next, prefix+a)
			}
		}
		out = next
	}
	return out
}

// engineWindash returns the values the engine's modifier code expands v
// to, in Sigma syntax.
func engineWindash(t *testing.T, v string) []string {
	t.Helper()
	it := &sigma.Item{Field: "CommandLine", Modifiers: []string{"windash"}, Raw: []sigma.RawValue{{Kind: sigma.RawString, Text: v}}}
	if err := sigma.ApplyModifiers(it, sigma.ValueOptions{}); err != nil {
		t.Fatalf("windash %q: %v", v, err)
	}
	var out []string
	for _, g := range it.Values {
		for _, x := range g {
			out = append(out, x.Pattern.String())
		}
	}
	return out
}

// canonical renders Sigma values as the parser reads them, sorted.
func canonical(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = sigma.ParsePattern(v, false).String()
	}
	slices.Sort(out)
	return out
}

// TestWindashExpansion: every dash variant, every position of a dash in a
// value, from the specification; the engine's expansion and the
// reference's both equal the hand-written one.
func TestWindashExpansion(t *testing.T) {
	// Each "{D}" of want stands for each of the five characters.
	for _, c := range []struct{ value, want string }{
		// Starts a word: at the start, after a space, quote, parenthesis,
		// colon, slash, backslash, equals sign or comma.
		{"-x", "{D}x"},
		{"/x", "{D}x"},
		{"a -x", "a {D}x"},
		{"a /x", "a {D}x"},
		{`"-x"`, `"{D}x"`},
		{"(-x)", "({D}x)"},
		{"C:/Windows", "C:{D}Windows"},
		{"http://host", "http:/{D}host"},
		{`C:\-x`, `C:\{D}x`},
		{"a=-x", "a={D}x"},
		{"a,-x", "a,{D}x"},
		{"--x", "-{D}x"},
		{"-/x", "-{D}x"},
		// Followed by each kind of word character.
		{"-1", "{D}1"},
		{"-_x", "{D}_x"},
		{"-é", "{D}é"},
		{"-²", "{D}²"},
		{"-Ⅻ", "{D}Ⅻ"},
		{"-日本", "{D}日本"},
		// Inside a word: after each kind of word character.
		{"a-b", "a-b"},
		{"a/b", "a/b"},
		{"1-2", "1-2"},
		{"_-x", "_-x"},
		{"é-x", "é-x"},
		{"²-x", "²-x"},
		{"set-service -name x", "set-service {D}name x"},
		// Not followed by a word character.
		{"-", "-"},
		{"x -", "x -"},
		{"a - b", "a - b"},
		{"a -- b", "a -- b"},
		{"-.x", "-.x"},
		{"-\"x", "-\"x"},
		// Wildcards end a run of text: a dash after one starts a word, a
		// dash before one is not followed by a word character.
		{"*-x", "*{D}x"},
		{"?-x", "?{D}x"},
		{"a*-x", "a*{D}x"},
		{"-*", "-*"},
		{"x -*", "x -*"},
		{"-?x", "-?x"},
		// Escaped wildcards and backslashes are literal, non-word.
		{`\*-x`, `\*{D}x`},
		{`\?-x`, `\?{D}x`},
		{`\\-x`, `\\{D}x`},
		{`-\*`, `-\*`},
		// Only '-' and '/' in the rule are expanded.
		{"–x", "–x"},
		{"—x", "—x"},
		{"―x", "―x"},
		// Several flags: every combination.
		{"-param-name", "{D}param-name"},
		{"cmd /c -a -b", "cmd {D}c {D}a {D}b"},
		{"*-a*/b", "*{D}a*{D}b"},
		{"no dash", "no dash"},
	} {
		want := []string{""}
		for i, part := range strings.Split(c.want, "{D}") {
			var next []string
			for _, w := range want {
				if i == 0 {
					next = append(next, w+part)
					continue
				}
				for _, d := range dashes {
					next = append(next, w+d+part)
				}
			}
			want = next
		}
		want = canonical(want)
		if got := canonical(refWindash(c.value)); !slices.Equal(got, want) {
			t.Errorf("reference windash %q: %s", c.value, setDiff(got, want))
		}
		if got := canonical(engineWindash(t, c.value)); !slices.Equal(got, want) {
			t.Errorf("windash %q: %s", c.value, setDiff(got, want))
		}
	}
	// The five characters, spelt out once more by code point.
	got := canonical(engineWindash(t, "-x"))
	want := canonical([]string{"\u002dx", "\u002fx", "\u2013x", "\u2014x", "\u2015x"})
	if !slices.Equal(got, want) {
		t.Errorf("windash -x: got %q, want %q", got, want)
	}
}

// setDiff describes what got lacks of want and has beyond it (a few of
// each).
func setDiff(got, want []string) string {
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("missing %q, extra %q", missing[:min(len(missing), 5)], extra[:min(len(extra), 5)])
}

// TestWindashMatch: each dash character in each position, through the
// compiled engine (prefilter on and off) with each string modifier.
func TestWindashMatch(t *testing.T) {
	for _, d := range dashes {
		inWord := d == "-" // only the rule's own character inside a word
		cases := []struct {
			item  string
			value string
			want  bool
		}{
			{`CommandLine|windash|contains: ' -exec '`, "p " + d + "exec x", true},
			{`CommandLine|windash|contains: ' -exec '`, "p +exec x", false},
			{`CommandLine|windash|contains: ' /exec '`, "p " + d + "exec x", true},
			{`CommandLine|windash: '-exec'`, d + "exec", true},
			{`CommandLine|windash: '-exec'`, d + "exec ", false},
			{`CommandLine|windash|startswith: '-c '`, d + "C x", true},
			{`CommandLine|windash|endswith: ' -f'`, "x " + d + "F", true},
			{`CommandLine|windash|contains: '"-x"'`, `a "` + d + `x" b`, true},
			{`CommandLine|windash|contains: '--x'`, "-" + d + "x", true},
			{`CommandLine|windash|contains: '--x'`, d + "-x", inWord},
			{`CommandLine|windash|contains: 'set-service'`, "set" + d + "service", inWord},
			{`CommandLine|windash|contains: 'a-b -c'`, "a" + d + "b " + d + "c", inWord},
			{`CommandLine|windash|contains: 'x - y'`, "x " + d + " y", inWord},
			{`CommandLine|windash|endswith: ' -'`, "x " + d, inWord},
			{`CommandLine|windash: '*-exec*'`, "p " + d + "exec x", true},
			{`CommandLine|windash: 'p -*'`, "p " + d + "exec", inWord},
			{`CommandLine|windash|contains|all:
      - ' -a '
      - ' /b '`, "x " + d + "b " + d + "a y", true},
		}
		for _, c := range cases {
			checkDetection(t, "  sel:\n    "+c.item+"\n  condition: sel\n", matchCase{ev("CommandLine=" + c.value), c.want})
		}
	}
}

// Pieces of generated values, by kind: words (each kind of word
// character), dashes (the rule's two and the three others), separators,
// wildcards and escapes.
var (
	genWords = []string{"a", "B", "exec", "é", "0", "²", "_", "x1"}
	genDash  = []string{"-", "-", "/", "/", "–", "—", "―"}
	genSeps  = []string{" ", " ", `"`, ":", ".", "="}
	genWild  = []string{"*", "?", `\`, `\*`}
)

func genValue(rng *rand.Rand) string {
	var b strings.Builder
	for n := 1 + rng.IntN(5); n > 0; n-- {
		pick := func(from []string) string { return from[rng.IntN(len(from))] }
		switch k := rng.IntN(20); {
		case k < 6: // a flag, or something near one
			b.WriteString(pick(genSeps) + pick(genDash) + pick(genWords))
		case k < 10:
			b.WriteString(pick(genWords))
		case k < 14:
			b.WriteString(pick(genDash))
		case k < 17:
			b.WriteString(pick(genSeps))
		default:
			b.WriteString(pick(genWild))
		}
	}
	return b.String()
}

// genChar returns one character an event may hold.
func genChar(rng *rand.Rand) string {
	all := [][]string{genWords, genDash, genSeps, {"*", "?", `\`}}
	from := all[rng.IntN(len(all))]
	return from[rng.IntN(len(from))]
}

// genEvent returns a field value near v: wildcards filled in, every dash
// or slash of v (a site or not) maybe swapped for another character,
// maybe one character changed, maybe text around it.
func genEvent(rng *rand.Rand, v string) string {
	var b strings.Builder
	if rng.IntN(4) == 0 {
		b.WriteString(genValue(rng))
	}
	for _, t := range refTokens(v) {
		switch {
		case t.wild && t.r == '*':
			for n := rng.IntN(3); n > 0; n-- {
				b.WriteString(genChar(rng))
			}
		case t.wild:
			b.WriteString(genChar(rng))
		case strings.ContainsRune("-/–—―", t.r) && rng.IntN(4) != 0:
			b.WriteString(dashes[rng.IntN(len(dashes))])
		case rng.IntN(20) == 0:
			b.WriteString(genChar(rng))
		default:
			b.WriteRune(t.r)
		}
	}
	if rng.IntN(4) == 0 {
		b.WriteString(genValue(rng))
	}
	return b.String()
}

// refMatcher is a regular expression matching what one of the reference's
// variants of v matches, with the given string modifier.
func refMatcher(v, mod string) *regexp.Regexp {
	var alts []string
	for _, x := range refWindash(v) {
		var re strings.Builder
		for _, t := range refTokens(x) {
			switch {
			case t.wild && t.r == '*':
				re.WriteString(".*")
			case t.wild:
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(t.r)))
			}
		}
		alts = append(alts, re.String())
	}
	pre, suf := "^", "$"
	if mod == "contains" || mod == "endswith" {
		pre = ""
	}
	if mod == "contains" || mod == "startswith" {
		suf = ""
	}
	return regexp.MustCompile("(?is)" + pre + "(?:" + strings.Join(alts, "|") + ")" + suf)
}

// compileSet compiles rules under the unit pipeline.
func compileSet(t *testing.T, rules []*sigma.Rule, prefilter bool) *Engine {
	t.Helper()
	pl, err := pipeline.Parse("u.yml", []byte(unitPipeline))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(&sigma.RuleSet{Rules: rules}, Options{Pipelines: []*pipeline.Pipeline{pl}, DisablePrefilter: !prefilter})
	if err != nil || len(e.Rejected()) > 0 {
		t.Fatalf("compile: %v %v", err, e.Rejected())
	}
	return e
}

// TestWindashGenerated compares the engine with the reference on
// generated values (seeded): the modifier's expansion equals the
// reference's, and the compiled engine (prefilter on and off, each string
// modifier) matches exactly the generated events one of the reference's
// variants matches.
func TestWindashGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2013))
	const batches, rulesPerBatch, eventsPerRule = 16, 25, 8
	sitesSeen := map[int]int{}
	for batch := 0; batch < batches; batch++ {
		mod := []string{"", "contains", "startswith", "endswith"}[batch%4]
		var values []string
		for len(values) < rulesPerBatch {
			v := genValue(rng)
			n := len(refSites(refTokens(v)))
			if n > 4 || n == 0 && rng.IntN(2) == 0 || strings.TrimSpace(v) == "" {
				continue
			}
			sitesSeen[n]++
			values = append(values, v)
			if got, want := canonical(engineWindash(t, v)), canonical(refWindash(v)); !slices.Equal(got, want) {
				t.Errorf("windash %q: got %d variants, reference %d; %s", v, len(got), len(want), setDiff(got, want))
			}
		}
		var src strings.Builder
		for i, v := range values {
			field := "CommandLine|windash"
			if mod != "" {
				field += "|" + mod
			}
			fmt.Fprintf(&src, "title: r%d\nid: 00000000-0000-0000-0000-%012d\nlogsource: {product: unit}\ndetection:\n  sel:\n    %s: '%s'\n  condition: sel\n---\n", i, i, field, v)
		}
		p := sigma.ParseFile("gen.yml", []byte(src.String()), sigma.ParseOptions{})
		if len(p.Rejected) > 0 || len(p.Rules) != len(values) {
			t.Fatalf("generated rules: %d of %d parsed, rejected %v", len(p.Rules), len(values), p.Rejected)
		}
		var evs []*event.Event
		var owner []int
		for i, v := range values {
			for k := 0; k < eventsPerRule; k++ {
				evs = append(evs, ev("CommandLine="+genEvent(rng, v)))
				owner = append(owner, i)
			}
		}
		matchers := make([]*regexp.Regexp, len(values))
		for i, v := range values {
			matchers[i] = refMatcher(v, mod)
		}
		for _, prefilter := range []bool{true, false} {
			e := compileSet(t, p.Rules, prefilter)
			w := e.NewWorker()
			positives := 0
			for j, x := range evs {
				got := make([]bool, len(values))
				w.Match(x, func(m *Match) { got[m.Rule.Index] = true })
				val := x.Value("CommandLine")
				for i := range values {
					want := matchers[i].MatchString(val)
					if got[i] != want {
						t.Errorf("prefilter=%v: windash|%s %q on %q (generated from %q): engine matched=%v, reference %v",
							prefilter, mod, values[i], val, values[owner[j]], got[i], want)
					}
					if want && i == owner[j] {
						positives++
					}
				}
			}
			if positives < len(evs)/5 {
				t.Errorf("batch %d: only %d of %d generated events match their own rule; the comparison proves little", batch, positives, len(evs))
			}
		}
	}
	if sitesSeen[0] < 50 || sitesSeen[1] < 50 || sitesSeen[2] < 15 || sitesSeen[3] == 0 {
		t.Errorf("generated values by number of windash sites: %v; want more with 0 to 3", sitesSeen)
	}
	t.Logf("generated values by number of windash sites: %v", sitesSeen)
}

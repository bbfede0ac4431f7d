package engine

import (
	"fmt"
	"math/rand"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
)

// compileRules compiles rules given as detection sections (indented two
// spaces) under the unit pipeline.
func compileRules(t *testing.T, detections ...string) *Engine {
	t.Helper()
	var rules []*sigma.Rule
	for _, d := range detections {
		src := "title: t\nlogsource: {product: unit}\ndetection:\n" + d
		p := sigma.ParseFile("t.yml", []byte(src), sigma.ParseOptions{})
		if len(p.Rejected) > 0 {
			t.Fatalf("rejected: %v\n%s", p.Rejected, src)
		}
		rules = append(rules, p.Rules...)
	}
	pl, err := pipeline.Parse("u.yml", []byte(unitPipeline))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(&sigma.RuleSet{Rules: rules}, Options{Pipelines: []*pipeline.Pipeline{pl}, keepBuildData: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// gateString writes the gate of rule i: clauses joined by " & ", literals
// of a clause by " | ", each as field:literal (kw: for keywords).
func gateString(e *Engine, i int) string {
	gb := newGateBuilder(e.rules)
	var clauses []string
	for _, c := range gb.gate(e.rules[i], e.rules[i].root) {
		var lits []string
		for _, l := range c.lits {
			f := "kw"
			if l.slot >= 0 {
				f = e.fieldNames[l.slot]
			}
			lits = append(lits, f+":"+l.text)
		}
		clauses = append(clauses, strings.Join(lits, " | "))
	}
	return strings.Join(clauses, " & ")
}

func TestGates(t *testing.T) {
	f := func(detection, want string) {
		t.Helper()
		e := compileRules(t, detection)
		if got := gateString(e, 0); got != want {
			t.Errorf("got gate %q, want %q\n%s", got, want, detection)
		}
	}
	// A map is an AND: every item gives a clause, rarest (longest) first.
	f(`  sel:
    Image|endswith: '\sc.exe'
    IntegrityLevel: Medium
  condition: sel
`, `Image:\sc.exe & IntegrityLevel:medium`)
	// contains|all: one clause per value.
	f(`  sel:
    CommandLine|contains|all: [' config ', 'binPath']
  condition: sel
`, `CommandLine: config  & CommandLine:binpath`)
	// OR of ANDs: clause j is the union of the children's j-th clauses.
	f(`  sel1:
    Image|endswith: '\reg.exe'
    CommandLine|contains: 'add'
  sel2:
    Image|endswith: '\regedit.exe'
    CommandLine|contains: '/s'
  condition: 1 of sel*
`, `Image:\reg.exe | Image:egedit.exe & CommandLine:/s | CommandLine:add`)
	// NOT gives nothing; an OR with an ungated child is ungated.
	f(`  sel:
    Image|endswith: '\cmd.exe'
  filter:
    User: SYSTEM
  condition: sel and not filter
`, `Image:\cmd.exe`)
	f(`  sel:
    Image|endswith: '\cmd.exe'
  filter:
    User: SYSTEM
  condition: sel or not filter
`, ``)
	// Keywords are searched in every field.
	f(`  keywords: ['sekurlsa::', 'kerberos::']
  condition: keywords
`, `kw:kerberos:: | kw:sekurlsa::`)
	// Every literal part of a glob is required: an OR of globs zips
	// them, rarest first (".exe" is common when other rules use it).
	dets := []string{`  sel:
    OriginalFileName: ['7z*.exe', '*rar.exe', '*Command*Line*RAR*']
  condition: sel
`}
	for range 20 {
		dets = append(dets, "  sel:\n    OriginalFileName|endswith: '.exe'\n  condition: sel\n")
	}
	e := compileRules(t, dets...)
	want := `OriginalFileName:7z | OriginalFileName:command | OriginalFileName:rar.exe & ` +
		`OriginalFileName:.exe | OriginalFileName:line | OriginalFileName:rar.exe & ` +
		`OriginalFileName:.exe | OriginalFileName:rar | OriginalFileName:rar.exe`
	if got := gateString(e, 0); got != want {
		t.Errorf("got gate %q, want %q", got, want)
	}
	// A regex gives its required literals (each piece of a sequence).
	f(`  sel:
    CommandLine|re: '"(?:\{\d\})+"\s*-f'
  condition: sel
`, `CommandLine:-f & CommandLine:{ & CommandLine:}`) // '"' is everywhere
	// At most maxClauses clauses, the rarest (here: longest, cut to
	// maxLit bytes) first.
	f(`  sel:
    A: aaaaa1
    B: bbbbbbb2
    C: ccccccccc3
    D: ddddddddddd4
    E: eeeeeeeeeeee5
  condition: sel
`, `C:ccccccccc3 & D:ddddddddd4 & E:eeeeeeeee5 & B:bbbbbbb2`)
}

// TestGateWindows checks that long literals are cut to their rarest
// window: trigrams that many literals of the rule set share (a common
// path) are avoided.
func TestGateWindows(t *testing.T) {
	common := `  sel:
    CommandLine|contains:
      - '\System32\svchost.exe'
      - '\System32\cmd.exe'
      - 'C:\Windows\System32\'
  condition: sel
`
	e := compileRules(t, `  sel:
    CommandLine|contains: '\..\System32\'
  condition: sel
`, common, common)
	if got, want := gateString(e, 0), `CommandLine:\..\system`; got != want {
		t.Errorf("got gate %q, want %q", got, want)
	}
}

// TestChecks checks the clauses tested directly (literals too short to
// scan for) against matching and non-matching events, with and without
// the prefilter.
func TestChecks(t *testing.T) {
	det := `  sel:
    Image|endswith: '\powershell.exe'
    CommandLine|contains: ' -e'
  condition: sel
`
	e := compileRules(t, det)
	if r := e.rules[0]; len(r.checks) != 1 || string(r.checks[0][0].text) != " -e" {
		t.Fatalf("got checks %+v, want one on ' -e'", r.checks)
	}
	checkDetection(t, det,
		yes(ev(`Image=C:\x\PowerShell.exe`, "CommandLine=powershell -E abc")),
		no(ev(`Image=C:\x\PowerShell.exe`, "CommandLine=powershell -nop")),
		no(ev(`Image=C:\x\PowerShell.exe`)),
		no(ev("CommandLine=powershell -e abc")))
}

// TestFold checks the word-at-a-time folding against folding rune by
// rune, on every ASCII byte at every position of a word and on texts
// mixing ASCII and other runes.
func TestFold(t *testing.T) {
	slow := func(s string) string {
		var b []byte
		for _, r := range s {
			if r == utf8.RuneError {
				continue
			}
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		return string(b)
	}
	f := func(in string) {
		t.Helper()
		if got, want := fold(in), slow(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	for c := 0; c < 128; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("xxxxxxxxYY")
			b[pos] = byte(c)
			f(string(b))
		}
	}
	f("")
	f("C:\\WINDOWS\\SYSTEM32\\CMD.EXE /C WHOAMI")
	f("ABCDEFGHÉCOLE ÀÉÎÕÜ İSTANBUL ΣΊΣΥΦΟΣ")
	f("abcdefgh\u212a KELVIN")
	f("ЁЖИКABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{")
	// Invalid UTF-8 is kept byte for byte.
	if got := fold("ABCDEFGH\xffZ"); got != "abcdefgh\xffz" {
		t.Errorf("got %q", got)
	}
}

// TestNameTable checks the field name table against a map: every name in
// it found, names not in it (similar ones included) not found.
func TestNameTable(t *testing.T) {
	idx := map[string]int32{}
	var names []string
	for i, s := range []string{"", "a", "winlog.channel", "winlog.event_id", "winlog.event_data.Image",
		"winlog.event_data.ParentImage", "winlog.event_data.CommandLine", "winlog.event_data.ParentCommandLine",
		"Event.System.Provider.#attributes.Name", "host.name", "x.y.z"} {
		idx[s] = int32(i)
		names = append(names, s)
	}
	for i := 0; i < 500; i++ {
		s := fmt.Sprintf("winlog.event_data.Field%d", i)
		idx[s] = int32(len(names))
		names = append(names, s)
	}
	tab := newNameTable(idx)
	for _, s := range names {
		if got, ok := tab.get(s); !ok || got != idx[s] {
			t.Errorf("get(%q) = %d, %v, want %d, true", s, got, ok, idx[s])
		}
	}
	for _, s := range []string{"b", "winlog.Channel", "winlog.event_data.Field500", "winlog.event_data.image", "winlog.event_data.Imag", " "} {
		if got, ok := tab.get(s); ok {
			t.Errorf("get(%q) = %d, true, want not found", s, got)
		}
	}
	var empty nameTable
	if _, ok := empty.get("a"); ok {
		t.Error("empty table found a name")
	}
}

func BenchmarkFold(b *testing.B) {
	s := `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --field-trial-handle=1718379636,7470016516453567124 --lang=en-US /prefetch:3`
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = appendFold(buf[:0], s)
	}
}

// BenchmarkFieldIndex looks up the field names of a Sysmon process
// creation event in the full set's name table and, for comparison, in a
// map.
func BenchmarkFieldIndex(b *testing.B) {
	e := mustCompile(b, loadCorpus(b), "vigil", Options{})
	stream := benchStream(b)
	ev := &stream[1]
	for i := range stream {
		if stream[i].Value("winlog.event_id") == "1" {
			ev = &stream[i]
			break
		}
	}
	for _, mode := range []string{"table", "map"} {
		b.Run(mode, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				for _, f := range ev.Fields {
					var ok bool
					if mode == "table" {
						_, ok = e.names.get(f.Name)
					} else {
						_, ok = e.fieldIdx[f.Name]
					}
					if ok {
						n++
					}
				}
			}
			b.ReportMetric(float64(b.N*len(ev.Fields))/b.Elapsed().Seconds()/1e6, "Mlookups/s")
		})
	}
}

// TestKeywordsInFieldSearchers checks keyword search where the keyword
// literals join the searchers of fields that have one: in every field
// (including a second field of the same name), or only in the pipeline's
// keyword_fields.
func TestKeywordsInFieldSearchers(t *testing.T) {
	rules := []string{`  keywords: ['evilkeyword']
  condition: keywords
`, `  sel:
    CommandLine|contains: 'otherliteral'
  condition: sel
`}
	for _, c := range []struct {
		kwFields string
		cases    []matchCase
	}{
		{"[]", []matchCase{
			yes(ev("CommandLine=run EvilKeyword now")),
			yes(ev("Other=evilkeyword")),
			yes(ev("CommandLine=plain", "CommandLine=evilkeyword")),
			no(ev("CommandLine=otherliteral")),
		}},
		{"[CommandLine, message]", []matchCase{
			yes(ev("CommandLine=run EvilKeyword now")),
			yes(ev("message=evilkeyword")),
			no(ev("Other=evilkeyword")),
			no(ev("CommandLine=otherliteral")),
		}},
	} {
		pl, err := pipeline.Parse("u.yml", []byte(unitPipeline+"  keyword_fields: "+c.kwFields+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, prefilter := range []bool{true, false} {
			var rs []*sigma.Rule
			for _, d := range rules {
				p := sigma.ParseFile("t.yml", []byte("title: t\nlogsource: {product: unit}\ndetection:\n"+d), sigma.ParseOptions{})
				rs = append(rs, p.Rules...)
			}
			e, err := Compile(&sigma.RuleSet{Rules: rs}, Options{Pipelines: []*pipeline.Pipeline{pl}, DisablePrefilter: !prefilter})
			if err != nil {
				t.Fatal(err)
			}
			w := e.NewWorker()
			for i, mc := range c.cases {
				got := false
				w.Match(mc.ev, func(m *Match) { got = got || m.Rule.Index == 0 })
				if got != mc.want {
					t.Errorf("keyword_fields %s prefilter=%v case %d %v: got keyword match %v, want %v", c.kwFields, prefilter, i, mc.ev.Fields, got, mc.want)
				}
			}
		}
	}
}

// TestRouteCache routes events with more distinct route field values
// than a worker caches: events past the cache are routed alike, without
// allocating.
func TestRouteCache(t *testing.T) {
	const pipe = `
name: unit
vigil:
  routes:
    - logsource: {product: unit}
      when: {kind: unit}
    - logsource: {product: unit, service: tagged}
      when: {kind: unit, tag: '*'}
`
	pl, err := pipeline.Parse("u.yml", []byte(pipe))
	if err != nil {
		t.Fatal(err)
	}
	var rs []*sigma.Rule
	for _, src := range []string{
		"title: any\nlogsource: {product: unit}\ndetection:\n  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n",
		"title: tagged\nlogsource: {product: unit, service: tagged}\ndetection:\n  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n",
	} {
		rs = append(rs, sigma.ParseFile("t.yml", []byte(src), sigma.ParseOptions{}).Rules...)
	}
	e, err := Compile(&sigma.RuleSet{Rules: rs}, Options{Pipelines: []*pipeline.Pipeline{pl}})
	if err != nil {
		t.Fatal(err)
	}
	w := e.NewWorker()
	for i := 0; i < maxRouteCache+200; i++ {
		x := ev(`Image=C:\x\cmd.exe`, fmt.Sprintf("tag=%d", i))
		if n := w.Match(x, func(*Match) {}); n != 2 {
			t.Fatalf("event %d: %d matches, want 2", i, n)
		}
		if n := w.Match(ev(`Image=C:\x\cmd.exe`), func(*Match) {}); n != 1 {
			t.Fatalf("untagged event after %d: %d matches, want 1", i, n)
		}
	}
	if len(w.routeCache) != maxRouteCache {
		t.Errorf("route cache holds %d, want %d", len(w.routeCache), maxRouteCache)
	}
	x := ev(`Image=C:\x\svchost.exe`, "tag=new")
	if n := testing.AllocsPerRun(100, func() { w.Match(x, func(*Match) {}) }); n != 0 {
		t.Errorf("got %.1f allocations per event past the route cache, want 0", n)
	}
}

// TestMultiWindows checks leaves with many prefix or suffix values (one
// automaton, scanned over the ends of the value only).
func TestMultiWindows(t *testing.T) {
	f := func(item string, cases ...matchCase) {
		t.Helper()
		checkDetection(t, "  sel:\n"+item+"\n  condition: sel\n", cases...)
	}
	f(`    Image|endswith: ['\a.exe', '\bb.exe', '\ccc.exe', '\dddd.exe', '.scr', '.com']`,
		yes(ev(`Image=C:\x\BB.EXE`)), yes(ev(`Image=x.scr`)), yes(ev(`Image=.com`)),
		no(ev(`Image=C:\x\bb.exe.txt`)), no(ev(`Image=\a.exe\x`)), no(ev(`Image=.co`)))
	f(`    CommandLine|startswith: ['cmd ', 'powershell ', 'pwsh ', 'wscript ', 'cscript ', 'mshta ']`,
		yes(ev(`CommandLine=PowerShell -nop`)), yes(ev(`CommandLine=cmd `)),
		no(ev(`CommandLine=x cmd /c`)), no(ev(`CommandLine=cmd`)))
	f(`    Image|startswith: ['C:\Windows\', 'C:\Program Files\', 'D:\']
    Image|endswith: ['\x.exe', '\yy.exe', '\zzz.exe', '.bat']`,
		// a map: both items needed
		yes(ev(`Image=c:\windows\yy.exe`)), yes(ev(`Image=D:\.bat`)), no(ev(`Image=E:\yy.exe`)))
	f(`    Image:
      - '*\x.exe'
      - '*\yy.exe'
      - 'C:\Windows\\*'
      - 'C:\Program Files\\*'
      - 'D:\\*'
      - '*.bat'`,
		// prefixes and suffixes in one leaf, values shorter and longer
		// than both windows
		yes(ev(`Image=D:\`)), yes(ev(`Image=E:\very\long\path\that\is\longer\than\any\window\yy.exe`)),
		yes(ev(`Image=C:\windows\something\very\long\that\is\longer\than\windows.txt`)),
		no(ev(`Image=E:\yy.exe\x`)), no(ev(`Image=x`)))
}

func TestRegexClauses(t *testing.T) {
	f := func(re, want string) {
		t.Helper()
		p, err := syntax.Parse(re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		var cs []string
		for _, c := range regexClauses(p.Simplify()) {
			cs = append(cs, strings.Join(c, "|"))
		}
		if got := strings.Join(cs, " & "); got != want {
			t.Errorf("regexClauses(%q) = %q, want %q", re, got, want)
		}
	}
	f(`"(?:\{\d\})+"\s*-f`, `-f & " & { & }`)
	f(`\w+`+"`"+`(?:\w+|-|.)`+"`", "`")
	f(`(evil|bad)\.exe`, `.exe & evil|bad`)
	f(`(evil\.exe|bad)`, `evil.exe|bad`)
	f(`a?b*`, ``)
	f(`(a|b*)x`, `x`)
	f(`[0-9]{64}`, ``)
}

// TestHasRun compares the probing run search with a plain count.
func TestHasRun(t *testing.T) {
	var class [256]bool
	for _, c := range "0123456789abcdef" {
		class[c] = true
	}
	slow := func(v string, n int) bool {
		run := 0
		for i := 0; i < len(v); i++ {
			if class[v[i]] {
				run++
				if run >= n {
					return true
				}
			} else {
				run = 0
			}
		}
		return n <= 0
	}
	rng := rand.New(rand.NewSource(5))
	for iter := 0; iter < 20000; iter++ {
		b := make([]byte, rng.Intn(40))
		for i := range b {
			b[i] = "0a9fxZ"[rng.Intn(6)]
		}
		n := rng.Intn(12)
		if got, want := hasRun(string(b), &class, n), slow(string(b), n); got != want {
			t.Fatalf("hasRun(%q, %d) = %v, want %v", b, n, got, want)
		}
	}
}

// TestMultiLeafRandom compares leaves whose many literals one searcher
// finds (contains, prefixes and suffixes of one to nine bytes, some
// shorter than the searcher's 4-byte anchors) with the same values as
// separate selections, each matched on its own, on random values: the
// shared searcher must match exactly when one of the literals does.
func TestMultiLeafRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	alpha := "ab.x/" // no wildcard or escape characters
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return string(b)
	}
	mods := []string{"contains", "startswith", "endswith"}
	for iter := 0; iter < 40; iter++ {
		var multi, split, cond strings.Builder
		multi.WriteString("  sel:\n    F:\n")
		for i := 0; i < minMulti+rng.Intn(8); i++ {
			lit := word(1 + rng.Intn(9))
			m := mods[rng.Intn(len(mods))]
			star := map[string]string{"contains": "*" + lit + "*", "startswith": lit + "*", "endswith": "*" + lit}[m]
			fmt.Fprintf(&multi, "      - '%s'\n", star)
			fmt.Fprintf(&split, "  s%d:\n    F|%s: '%s'\n", i, m, lit)
			if i > 0 {
				cond.WriteString(" or ")
			}
			fmt.Fprintf(&cond, "s%d", i)
		}
		multi.WriteString("  condition: sel\n")
		split.WriteString("  condition: " + cond.String() + "\n")
		em := compileDetection(t, multi.String(), true)
		es := compileDetection(t, split.String(), false)
		if !leafHasMulti(em) || leafHasMulti(es) {
			t.Fatalf("the leaf of the first rule must use one searcher, the second's none\n%s\n%s", multi.String(), split.String())
		}
		wm, ws := em.NewWorker(), es.NewWorker()
		for j := 0; j < 200; j++ {
			e := ev("F=" + word(rng.Intn(24)))
			got, want := wm.Match(e, func(*Match) {}), ws.Match(e, func(*Match) {})
			if got != want {
				t.Fatalf("value %q: %d matches with one searcher, %d with separate selections\n%s", e.Fields[1].Value, got, want, multi.String())
			}
		}
	}
}

func leafHasMulti(e *Engine) bool {
	for _, r := range e.rules {
		for _, nd := range r.nodes {
			if nd.leaf != nil && nd.leaf.multi != nil {
				return true
			}
		}
	}
	return false
}

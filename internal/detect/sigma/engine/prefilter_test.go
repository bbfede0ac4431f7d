package engine

import (
	"strings"
	"testing"

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
	e, err := Compile(&sigma.RuleSet{Rules: rules}, Options{Pipelines: []*pipeline.Pipeline{pl}})
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
`, `kw:sekurlsa:: | kw:kerberos::`)
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

package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/event"
)

const unitPipeline = `
name: unit
vigil:
  routes:
    - logsource: {product: unit}
      when: {kind: unit}
`

// compileDetection compiles one rule with the given detection section
// (indented two spaces) under a pipeline that passes field names through.
func compileDetection(t *testing.T, detection string, prefilter bool) *Engine {
	t.Helper()
	src := "title: t\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {product: unit}\ndetection:\n" + detection
	p := sigma.ParseFile("t.yml", []byte(src), sigma.ParseOptions{ValueOptions: sigma.ValueOptions{
		Placeholders: map[string][]string{"Admins": {"adm_*", "root"}}}})
	if len(p.Rejected) > 0 {
		t.Fatalf("rejected: %v\n%s", p.Rejected, src)
	}
	pl, err := pipeline.Parse("u.yml", []byte(unitPipeline))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(&sigma.RuleSet{Rules: p.Rules}, Options{Pipelines: []*pipeline.Pipeline{pl}, DisablePrefilter: !prefilter})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Rejected()) > 0 {
		t.Fatalf("compile rejected: %v", e.Rejected())
	}
	return e
}

// ev builds an event from "name=value" pairs (value may be empty).
func ev(pairs ...string) *event.Event {
	e := &event.Event{}
	e.Add("kind", "unit")
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		e.Add(k, v)
	}
	return e
}

type matchCase struct {
	ev   *event.Event
	want bool
}

func checkDetection(t *testing.T, detection string, cases ...matchCase) {
	t.Helper()
	for _, prefilter := range []bool{true, false} {
		e := compileDetection(t, detection, prefilter)
		w := e.NewWorker()
		for i, c := range cases {
			got := w.Match(c.ev, func(*Match) {}) == 1
			if got != c.want {
				t.Errorf("prefilter=%v case %d %v: got match=%v, want %v\n%s", prefilter, i, c.ev.Fields, got, c.want, detection)
			}
		}
	}
}

func yes(e *event.Event) matchCase { return matchCase{e, true} }
func no(e *event.Event) matchCase  { return matchCase{e, false} }

func TestPlainValues(t *testing.T) {
	// Case-insensitive equality, wildcards, escapes, numbers, null, empty.
	checkDetection(t, `  sel:
    Image: 'C:\Windows\System32\whoami.exe'
  condition: sel
`, yes(ev(`Image=c:\windows\system32\WHOAMI.EXE`)), no(ev(`Image=C:\Windows\System32\whoami.exe.bak`)), no(ev()))
	checkDetection(t, `  sel:
    Image: 'prog?.exe'
  condition: sel
`, yes(ev("Image=progA.exe")), yes(ev("Image=progé.exe")), no(ev("Image=progAB.exe")))
	checkDetection(t, `  sel:
    Image: 'antivirus_V*.exe'
  condition: sel
`, yes(ev("Image=antivirus_V21.2.1.exe")), yes(ev("Image=antivirus_V.exe")), no(ev("Image=antivirus_V1.dll")))
	checkDetection(t, `  sel:
    Value: 'a\*b\?c\\*'
  condition: sel
`, yes(ev(`Value=a*b?c\xyz`)), no(ev(`Value=aXb?c\`)))
	checkDetection(t, `  sel:
    EventID: 4738
    PasswordLastSet: null
  condition: sel
`, yes(ev("EventID=4738")), no(ev("EventID=4738", "PasswordLastSet=x")), no(ev("EventID=4739")))
	checkDetection(t, `  sel:
    Field: ''
  condition: sel
`, yes(ev("Field=")), no(ev("Field=x")), no(ev()))
	checkDetection(t, `  sel:
    EventLog: Security
    EventID:
      - 517
      - 1102
  condition: sel
`, yes(ev("EventLog=security", "EventID=1102")), no(ev("EventLog=Security", "EventID=4624")))
}

func TestModifiers(t *testing.T) {
	f := func(item string, cases ...matchCase) {
		t.Helper()
		checkDetection(t, "  sel:\n"+item+"\n  condition: sel\n", cases...)
	}
	f(`    CommandLine|contains: 'whoami'`, yes(ev("CommandLine=cmd /c WHOAMI /all")), no(ev("CommandLine=cmd")))
	f(`    Image|startswith: 'adm'`, yes(ev("Image=ADMIN.exe")), no(ev("Image=xadm")))
	f(`    Image|endswith: '\cmd.exe'`, yes(ev(`Image=C:\x\CMD.exe`)), no(ev(`Image=C:\cmd.exe.x`)))
	f(`    CommandLine|contains|all:
      - ' -a '
      - ' -b '`, yes(ev("CommandLine=x -b  -a y")), no(ev("CommandLine=x -a y")))
	f(`    PasswordLastSet|exists: true`, yes(ev("PasswordLastSet=")), no(ev()))
	f(`    PasswordLastSet|exists: false`, no(ev("PasswordLastSet=1")), yes(ev()))
	f(`    Image|cased: 'CMD.exe'`, yes(ev("Image=CMD.exe")), no(ev("Image=cmd.exe")))
	f(`    Image|endswith|cased: '\CMD.exe'`, yes(ev(`Image=C:\CMD.exe`)), no(ev(`Image=C:\cmd.exe`)))
	f(`    User|neq: 'SYSTEM'`, yes(ev("User=alice")), no(ev("User=system")), yes(ev()))
	f(`    LogonType|neq:
      - 2
      - 10`, yes(ev("LogonType=3")), no(ev("LogonType=10")))
	f(`    CommandLine|windash|contains: ' -exec '`, yes(ev("CommandLine=p /exec x")), yes(ev("CommandLine=p \u2013exec x")), yes(ev("CommandLine=p -exec x")), no(ev("CommandLine=p +exec x")))
	f(`    CommandLine|re: 'evil\d+\.exe$'`, yes(ev("CommandLine=run evil42.exe")), no(ev("CommandLine=run EVIL42.exe")))
	f(`    CommandLine|re|i: 'evil\d+\.exe$'`, yes(ev("CommandLine=run EVIL42.EXE")))
	f(`    CommandLine|re|m: '^second$'`, yes(ev("CommandLine=first\nsecond")))
	f(`    CommandLine|re: '^second$'`, no(ev("CommandLine=first\nsecond")))
	f(`    CommandLine|re|s: 'a.b'`, yes(ev("CommandLine=a\nb")))
	f(`    CommandLine|re: 'a.b'`, no(ev("CommandLine=a\nb")))
	// base64("cmd") is Y21k.
	f(`    Data|base64: 'cmd'`, yes(ev("Data=Y21k")), no(ev("Data=Y21kZA==")))
	f(`    Data|base64offset|contains: 'http://'`, yes(ev("Data=aHR0cDovL")), yes(ev("Data=xxaHR0cDovLyx")), yes(ev("Data=odHRwOi8v")), yes(ev("Data=AaHR0cDovL")))
	// utf16le "cmd" = 63 00 6d 00 64 00; with base64offset as PowerShell -enc.
	f(`    Data|wide|base64offset|contains: 'ping'`, yes(ev("Data=cABpAG4AZwA")), no(ev("Data=cGluZw")))
	f(`    Data|utf16le|base64: 'cmd'`, yes(ev("Data=YwBtAGQA")))
	f(`    Data|utf16be|base64: 'cmd'`, yes(ev("Data=AGMAbQBk")))
	f(`    Data|utf16|base64: 'cmd'`, yes(ev("Data=//5jAG0AZAA=")))
	f(`    Count|lt: 10`, yes(ev("Count=9.5")), no(ev("Count=10")), no(ev("Count=x")))
	f(`    Count|lte: 10`, yes(ev("Count=10")), no(ev("Count=11")))
	f(`    Count|gt: 10`, yes(ev("Count=11")), no(ev("Count=10")))
	f(`    Count|gte: 10`, yes(ev("Count=10")), no(ev("Count=-3")))
	f(`    Time|hour: 3`, yes(ev("Time=2025-08-02T03:15:00Z")), no(ev("Time=2025-08-02T04:15:00Z")))
	f(`    Time|minute: 15`, yes(ev("Time=2025-08-02 03:15:00.123")))
	f(`    Time|day: 2`, yes(ev("Time=2025-08-02T03:15:00Z")))
	f(`    Time|week: 31`, yes(ev("Time=2025-08-02T03:15:00Z")))
	f(`    Time|month: 8`, yes(ev("Time=2025-08-02T03:15:00Z")))
	f(`    Time|year: 2025`, yes(ev("Time=2025-08-02T03:15:00Z")), no(ev("Time=garbage")))
	f(`    DestinationIp|cidr: 10.0.0.0/8`, yes(ev("DestinationIp=10.1.2.3")), no(ev("DestinationIp=11.0.0.1")), no(ev("DestinationIp=x")))
	f(`    DestinationIp|cidr:
      - 'fe80::/10'
      - 192.168.0.0/16`, yes(ev("DestinationIp=fe80::1")), yes(ev("DestinationIp=192.168.7.7")), no(ev("DestinationIp=2001:db8::1")))
	f(`    User|expand: '%Admins%'`, yes(ev("User=ADM_bob")), yes(ev("User=root")), no(ev("User=bob")))
	f(`    User|expand: '\%plain%Admins%'`, yes(ev("User=%plainroot")), no(ev("User=root")))
	f(`    Image|fieldref: ParentImage`, yes(ev("Image=A.exe", "ParentImage=a.EXE")), no(ev("Image=a.exe", "ParentImage=b.exe")), no(ev("Image=a")))
	f(`    CommandLine|fieldref|contains: Image`, yes(ev("CommandLine=\"c:\\a.exe\" -x", "Image=C:\\A.exe")))
	f(`    CommandLine|fieldref|endswith: Image`, yes(ev("CommandLine=run a.exe", "Image=a.exe")), no(ev("CommandLine=a.exe run", "Image=a.exe")))
	f(`    Image|fieldref|neq: ParentImage`, no(ev("Image=a", "ParentImage=a")), yes(ev("Image=a", "ParentImage=b")))
}

func TestKeywords(t *testing.T) {
	checkDetection(t, `  keywords:
    - 'EVILSERVICE'
    - 'svchost.exe -n evil'
  condition: keywords
`, yes(ev("message=installed evilservice now")), yes(ev("x=run svchost.exe -n evil")), no(ev("message=nothing")))
	checkDetection(t, `  keywords:
    '|all':
      - 'OabVirtualDirectory'
      - ' -ExternalUrl '
  condition: keywords
`, yes(ev("a=Set-OabVirtualDirectory", "b=x -ExternalUrl y")), no(ev("a=Set-OabVirtualDirectory")))
	checkDetection(t, `  keywords: 'single keyword'
  condition: keywords
`, yes(ev("m=a single keyword here")), no(ev("m=single")))
}

func TestConditionForms(t *testing.T) {
	det := `  selection1:
    A: 1
  selection2:
    B: 1
  filter_a:
    C: 1
  filter_b:
    D: 1
  _private:
    E: 1
  condition: %s
`
	f := func(cond string, cases ...matchCase) {
		t.Helper()
		checkDetection(t, fmt.Sprintf(det, cond), cases...)
	}
	f("selection1 or selection2", yes(ev("A=1")), yes(ev("B=1")), no(ev("C=1")))
	f("selection1 and selection2", yes(ev("A=1", "B=1")), no(ev("A=1")))
	f("selection1 and not filter_a", yes(ev("A=1")), no(ev("A=1", "C=1")))
	f("1 of selection*", yes(ev("B=1")), no(ev("C=1")))
	f("all of selection*", yes(ev("A=1", "B=1")), no(ev("B=1")))
	f("1 of selection* and not 1 of filter_*", yes(ev("A=1")), no(ev("A=1", "D=1")))
	f("all of them", yes(ev("A=1", "B=1", "C=1", "D=1")), no(ev("A=1", "B=1", "C=1", "E=1")))
	f("1 of them", yes(ev("D=1")), no(ev("E=1")))
	f("selection1 and (filter_a or filter_b)", yes(ev("A=1", "D=1")), no(ev("A=1")))
	f("not selection1 and selection2 or filter_a", yes(ev("B=1")), yes(ev("C=1")), no(ev("A=1", "B=1")))
	f("not (selection1 or selection2)", yes(ev("C=1")), no(ev("B=1")))
	f("_private", yes(ev("E=1")))
	// A condition list is an OR.
	checkDetection(t, `  a:
    A: 1
  b:
    B: 1
  condition:
    - a
    - b
`, yes(ev("B=1")), no(ev("C=1")))
	// Lists of maps are ORed; maps are ANDed.
	checkDetection(t, `  selection:
    - Image|endswith: '\example.exe'
    - Description|contains: 'Test executable'
      Company: ACME
  condition: selection
`, yes(ev(`Image=c:\example.exe`)), yes(ev("Description=a Test executable", "Company=acme")), no(ev("Description=a Test executable")))
}

func TestRejections(t *testing.T) {
	f := func(detection, want string) {
		t.Helper()
		src := "title: t\nlogsource: {product: unit}\ndetection:\n" + detection
		p := sigma.ParseFile("t.yml", []byte(src), sigma.ParseOptions{})
		if len(p.Rejected) != 1 || !strings.Contains(p.Rejected[0].Reason, want) || p.Rejected[0].Line == 0 {
			t.Errorf("got %v, want one rejection with a line and %q", p.Rejected, want)
		}
	}
	f("  sel: {A|nosuch: 1}\n  condition: sel\n", `unknown modifier "nosuch"`)
	f("  sel: {A: 1}\n  condition: sel and other\n", `"other" is not defined`)
	f("  sel: {A: 1}\n  condition: sel | count() > 5\n", "deprecated Sigma 1 syntax")
	f("  sel: {A|re: 'a(?=b)'}\n  condition: sel\n", "lookahead")
	f("  sel: {A|re: '(a)\\1'}\n  condition: sel\n", "backreference")
	f("  sel: {A|base64: 'a*'}\n  condition: sel\n", "wildcards")
	f("  sel: {A|expand: '%Missing%'}\n  condition: sel\n", "placeholder %Missing% has no configured values")
	f("  sel: {A|cidr: '10.0.0.0/33'}\n  condition: sel\n", "not an IP network")
	f("  sel: {A|gt: abc}\n  condition: sel\n", "needs a number")
	f("  sel: {A: 1}\n", "no condition")
	f("  sel: {A: 1}\n  condition: (sel\n", "want ')'")
	f("  sel: {A: 1}\n  condition: 2 of sel\n", "only '1 of' and 'all of'")
}

func TestRegexPrechecks(t *testing.T) {
	// A class run, a minimum length and a required literal must never
	// rule out a real match.
	f := func(item string, cases ...matchCase) {
		t.Helper()
		checkDetection(t, "  sel:\n"+item+"\n  condition: sel\n", cases...)
	}
	hex64 := strings.Repeat("ab12", 16)
	f(`    CommandLine|re: '\s[a-fA-F0-9]{64}\s[a-fA-F0-9]{16}'`,
		yes(ev("CommandLine=jpsetup.exe "+hex64+" 0123456789abcdef")), no(ev("CommandLine=jpsetup.exe "+hex64[:60]+" 0123456789abcdef")))
	f(`    CommandLine|re: '(?i)[é]{8}'`, yes(ev("CommandLine=x ÉÉÉÉééééé")), no(ev("CommandLine=éééé")))
	f(`    CommandLine|re: 'evil.{3}x'`, yes(ev("CommandLine=evil123x")), no(ev("CommandLine=evilx")))
}

func TestHashLiterals(t *testing.T) {
	sha := "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	hashes := "SHA1=FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000,MD5=AAAA,SHA256=" + sha + ",IMPHASH=1234"
	f := func(item string, cases ...matchCase) {
		t.Helper()
		checkDetection(t, "  sel:\n"+item+"\n  condition: sel\n", cases...)
	}
	f(`    Hashes|contains: 'SHA256=`+sha+`'`, yes(ev("Hashes="+hashes)), no(ev("Hashes=SHA256=FF"+sha[2:])))
	f(`    sha256: '`+strings.ToLower(sha)+`'`, yes(ev("sha256="+sha)), no(ev("sha256=x"+sha)))
	// A hash at the start of a contains value is not anchored: it may sit
	// inside a longer run, so it must still be found there.
	f(`    Hashes|contains: '`+sha[8:]+`'`, yes(ev("Hashes=SHA256="+sha)))
	f(`    Hashes|endswith: '`+sha[8:]+`'`, yes(ev("Hashes=SHA256="+sha)))
}

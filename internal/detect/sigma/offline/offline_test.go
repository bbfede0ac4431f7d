package offline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/rules/healthcare"
)

func repoRoot(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = p
	}
}

func corpus(t testing.TB) string {
	c := filepath.Join(repoRoot(t), "..", "shared", "corpora", "sigmahq")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus not found at %s", c)
	}
	return c
}

func TestSharedRegression(t *testing.T) {
	c := corpus(t)
	var out bytes.Buffer
	cfg := Config{Rules: []string{filepath.Join(c, "rules"), filepath.Join(c, "rules-emerging-threats"), filepath.Join(c, "rules-threat-hunting")}}
	failed, err := Test(context.Background(), &out, []string{filepath.Join(c, "regression_data")}, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 {
		t.Errorf("%d cases failed:\n%s", failed, out.String())
	}
	// The corpus holds 102 cases, 101 with tests: one that yields far
	// fewer passes was not read right.
	var pass, fail, skip int
	if _, err := fmt.Sscanf(lastLine(out.String()), "%d passed, %d failed, %d skipped", &pass, &fail, &skip); err != nil || pass < 90 {
		t.Errorf("summary %q (%v): want at least 90 cases passed", lastLine(out.String()), err)
	}
	t.Log(lastLine(out.String()))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestVigilRules runs `vigil sigma test --rules rules rules/regression_data`
// and `vigil sigma lint rules`: every Vigil rule must load and pass its
// regression case with its exact match count.
func TestVigilRules(t *testing.T) {
	root := repoRoot(t)
	rules := filepath.Join(root, "rules")
	// The healthcare rules' placeholders take their default values (as
	// vigil serve gives them when detect.placeholders does not set them).
	ph := filepath.Join(t.TempDir(), "placeholders.yml")
	phData, err := yaml.Marshal(healthcare.DefaultPlaceholders())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ph, phData, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	failed, err := Test(context.Background(), &out, []string{filepath.Join(rules, "regression_data")}, Config{Rules: []string{rules}, Placeholders: ph}, false)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 0 || !strings.Contains(out.String(), " 0 failed") {
		t.Errorf("regression cases failed:\n%s", out.String())
	}
	t.Log(out.String())
	out.Reset()
	ok, err := Lint(context.Background(), &out, []string{rules}, Config{Placeholders: ph})
	if err != nil || !ok {
		t.Errorf("lint: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "warning  ") || !strings.Contains(out.String(), "0 rules have no route") {
		t.Errorf("lint output:\n%s", out.String())
	}
}

// TestLintCorpus lints the four shared rule folders the issue names (with
// and without placeholder lists) and rules-placeholder.
func TestLintCorpus(t *testing.T) {
	c := corpus(t)
	dirs := []string{filepath.Join(c, "rules"), filepath.Join(c, "rules-emerging-threats"), filepath.Join(c, "rules-threat-hunting"), filepath.Join(c, "rules-compliance")}
	var out bytes.Buffer
	ok, err := Lint(context.Background(), &out, dirs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	summary := lastLine(out.String())
	t.Log(summary)
	// Without placeholder lists exactly the two %known_cdcs% rules fail.
	if ok || strings.Count(out.String(), "REJECTED ") != 2 || strings.Count(out.String(), "placeholder %known_cdcs% has no configured values") != 2 {
		t.Errorf("lint without placeholders:\n%s", out.String())
	}
	ph := filepath.Join("testdata", "placeholders.yml")
	out.Reset()
	ok, err = Lint(context.Background(), &out, append(dirs, filepath.Join(c, "rules-placeholder")), Config{Placeholders: ph})
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Errorf("lint with placeholders rejected rules:\n%s", out.String())
	}
	t.Log(lastLine(out.String()))
}

func TestScan(t *testing.T) {
	c := corpus(t)
	dir := filepath.Join(c, "regression_data", "rules", "windows", "file", "file_event", "file_event_win_hktl_netexec_file_indicators")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	rules := filepath.Join(c, "rules", "windows", "file", "file_event")
	var out, errOut bytes.Buffer
	res, err := Scan(context.Background(), &out, &errOut, files, Config{Rules: []string{rules}, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 7 || !strings.Contains(out.String(), `"rule_id":"efc21479-9e83-41da-8cf1-122e06ba8db3"`) {
		t.Errorf("scan: %+v\n%s", res, out.String())
	}
	// The EVTX file beside the JSON, parsed by the scan itself: the same
	// records, the same matches.
	fromJSON := res
	out.Reset()
	evtxFiles, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(evtxFiles) != 1 {
		t.Fatalf("want one .evtx in %s, found %v", dir, evtxFiles)
	}
	res, err = Scan(context.Background(), &out, &errOut, evtxFiles, Config{Rules: []string{rules}, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	if res != fromJSON || !strings.Contains(out.String(), `"rule_id":"efc21479-9e83-41da-8cf1-122e06ba8db3"`) {
		t.Errorf("scan of the EVTX file: %+v, of its JSON: %+v\n%s", res, fromJSON, out.String())
	}
	// A file that is neither JSON nor EVTX is an error naming the file.
	bad := filepath.Join(t.TempDir(), "broken.evtx")
	if err := os.WriteFile(bad, []byte("not an event log at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Scan(context.Background(), &out, &errOut, []string{bad}, Config{Rules: []string{rules}}); err == nil || !strings.Contains(err.Error(), "broken.evtx") {
		t.Errorf("scan of a broken EVTX file: err = %v", err)
	}
	// The Vigil rules over their own regression events, as a table.
	out.Reset()
	root := repoRoot(t)
	events, _ := filepath.Glob(filepath.Join(root, "rules", "regression_data", "linux", "auth", "mr_lnx_ssh_brute_force", "*.json"))
	res, err = Scan(context.Background(), &out, &errOut, events, Config{Rules: []string{filepath.Join(root, "rules")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts != 1 || !strings.Contains(out.String(), "SSH/PAM Brute Force Against a Linux Host [event_count]") {
		t.Errorf("scan: %+v\n%s", res, out.String())
	}
}

// A file in any input format is read with that format's parser: raw sshd
// syslog lines get their authentication facts, so the brute-force
// correlation fires; an EVTX file is normalized as a server stores it, and
// the Windows rules still match under the default pipeline.
func TestScanFormat(t *testing.T) {
	root := repoRoot(t)
	var lines bytes.Buffer
	for i := range 12 {
		fmt.Fprintf(&lines, "<38>1 2026-11-28T10:00:%02dZ web01 sshd 4242 - - Failed password for root from 198.51.100.23 port %d ssh2\n", i, 40000+i)
	}
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cfg := Config{Rules: []string{filepath.Join(root, "rules")}, Format: "syslog"}
	res, err := Scan(context.Background(), &out, &errOut, []string{path}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 12 || res.Alerts != 1 || !strings.Contains(out.String(), "SSH/PAM Brute Force Against a Linux Host [event_count]") {
		t.Errorf("syslog scan: %+v\n%s%s", res, out.String(), errOut.String())
	}
	// Without the format the same file is not JSON: an error naming it.
	if _, err := Scan(context.Background(), &out, &errOut, []string{path}, Config{Rules: cfg.Rules}); err == nil || !strings.Contains(err.Error(), "auth.log") {
		t.Errorf("scan of syslog as JSON: err = %v", err)
	}
	if _, err := Scan(context.Background(), &out, &errOut, []string{path}, Config{Rules: cfg.Rules, Format: "nope"}); err == nil || !strings.Contains(err.Error(), "syslog") {
		t.Errorf("unknown format: err = %v", err)
	}

	c := corpus(t)
	dir := filepath.Join(c, "regression_data", "rules", "windows", "file", "file_event", "file_event_win_hktl_netexec_file_indicators")
	evtxFiles, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	out.Reset()
	res, err = Scan(context.Background(), &out, &errOut, evtxFiles, Config{Rules: []string{filepath.Join(c, "rules", "windows", "file", "file_event")}, JSON: true, Format: "evtx"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 7 || !strings.Contains(out.String(), `"rule_id":"efc21479-9e83-41da-8cf1-122e06ba8db3"`) || !strings.Contains(out.String(), `"winlog.channel"`) {
		t.Errorf("evtx scan as stored: %+v\n%s", res, out.String())
	}
}

// TestScanFlatWindowsAndBadLines: flat Windows JSON (NXLog,
// Security-Datasets) is recognised by its shape and matched as ingest
// stores it, with no --pipeline; bad lines are reported with their line
// numbers and the lines after them are still scanned.
func TestScanFlatWindowsAndBadLines(t *testing.T) {
	dir := t.TempDir()
	rule := `title: Failed logon for alice
id: 3f0c7a52-6d0e-4f4e-9f9e-7d1f0a2b3c4d
status: test
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
        TargetUserName: alice
    condition: selection
level: high
`
	os.WriteFile(filepath.Join(dir, "rule.yml"), []byte(rule), 0o644)
	ev := `{"@timestamp":"2020-05-02T02:55:%02d.000Z","EventTime":"2020-05-01 22:55:%02d","Hostname":"WS5","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"alice","IpAddress":"10.0.0.9"}`
	data := fmt.Sprintf(ev, 1, 1) + "\nthis line is not JSON\n" + fmt.Sprintf(ev, 2, 2) + "\n{\"EventID\": 4625, \"Channel\":\n" + fmt.Sprintf(ev, 3, 3) + "\n"
	path := filepath.Join(dir, "security.ndjson")
	os.WriteFile(path, []byte(data), 0o644)
	var out, errOut bytes.Buffer
	res, err := Scan(context.Background(), &out, &errOut, []string{path}, Config{Rules: []string{filepath.Join(dir, "rule.yml")}, JSON: true})
	if err == nil || !strings.Contains(err.Error(), "2 records could not be read in "+path) {
		t.Errorf("err = %v", err)
	}
	if res.Events != 3 || res.Matches != 3 || res.Problems != 2 {
		t.Fatalf("%+v\nout:\n%s\nerr:\n%s", res, out.String(), errOut.String())
	}
	for _, want := range []string{path + ":2: object 2", path + ":4: object 4", "flat Windows JSON"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	// The zoned @timestamp is the event time, not EventTime read as UTC.
	if !strings.Contains(out.String(), `"time":"2020-05-02T02:55:01Z"`) {
		t.Errorf("times:\n%s", out.String())
	}

	// With the flat pipeline the events are matched as they are.
	out.Reset()
	res, _ = Scan(context.Background(), &out, &errOut, []string{path}, Config{Rules: []string{filepath.Join(dir, "rule.yml")}, Pipelines: []string{"windows_flat"}})
	if res.Matches != 3 {
		t.Errorf("windows_flat: %+v", res)
	}

	// Events no rule can see are reported loudly.
	other := filepath.Join(dir, "other.ndjson")
	os.WriteFile(other, []byte(`{"some":"thing"}`+"\n"+`{"some":"other"}`+"\n"), 0o644)
	errOut.Reset()
	if _, err := Scan(context.Background(), &out, &errOut, []string{other}, Config{Rules: []string{filepath.Join(dir, "rule.yml")}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "WARNING: none of its 2 events reached a rule") {
		t.Errorf("no warning:\n%s", errOut.String())
	}
}

// TestScanOldPAMBruteForce: Linux-PAM's old "sshd(pam_unix)[pid]:" lines,
// read with --format syslog, raise the brute-force correlation, once per
// remote host: hosts logged by name (rhost=<hostname>, no source.ip) are
// told apart by their address, not counted together as one empty address.
func TestScanOldPAMBruteForce(t *testing.T) {
	root := repoRoot(t)
	var lines bytes.Buffer
	for i, rhost := range []string{"198.51.100.23", "scanner-a.example.net", "scanner-b.example.net"} {
		n := 12
		if i == 2 {
			n = 6 // below the threshold of 10 on its own
		}
		for j := range n {
			fmt.Fprintf(&lines, "Jun 14 15:%02d:%02d combo sshd(pam_unix)[%d]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=%s  user=root\n", 16+i, j, 4000+j, rhost)
		}
	}
	path := filepath.Join(t.TempDir(), "secure")
	os.WriteFile(path, lines.Bytes(), 0o600)
	var out, errOut bytes.Buffer
	res, err := Scan(context.Background(), &out, &errOut, []string{path}, Config{Rules: []string{filepath.Join(root, "rules")}, Format: "syslog", JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m jsonMatch
		if json.Unmarshal([]byte(l), &m) == nil && m.Title == "SSH/PAM Brute Force Against a Linux Host" {
			groups = append(groups, m.GroupBy["source.ip"])
		}
	}
	slices.Sort(groups)
	if res.Alerts != 2 || !slices.Equal(groups, []string{"198.51.100.23", "scanner-a.example.net"}) {
		t.Errorf("brute-force alerts by source %q, want 198.51.100.23 and scanner-a.example.net (%+v)\n%s%s", groups, res, out.String(), errOut.String())
	}
}

// TestScanWebserverAndFirewallRules: Sigma rules of the webserver and
// firewall categories (SigmaHQ's field names) match web server and
// firewall lines as the formats parse them.
func TestScanWebserverAndFirewallRules(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "web.yml"), []byte(`title: Path traversal in a query
id: 5a1b2c3d-0000-4000-8000-000000000001
status: test
logsource:
    category: webserver
detection:
    selection:
        cs-method: GET
        cs-uri-query|contains: '../'
        sc-status: 200
    condition: selection
level: high
`), 0o644)
	os.WriteFile(filepath.Join(dir, "fw.yml"), []byte(`title: RDP from outside
id: 5a1b2c3d-0000-4000-8000-000000000002
status: test
logsource:
    category: firewall
detection:
    selection:
        dst_port: 3389
        src_ip|cidr: 203.0.113.0/24
    condition: selection
level: medium
`), 0o644)
	web := filepath.Join(dir, "access.log")
	os.WriteFile(web, []byte(`192.0.2.10 - - [28/Nov/2026:10:00:00 +0000] "GET /download?file=../../etc/passwd HTTP/1.1" 200 512 "-" "curl/8"
192.0.2.10 - - [28/Nov/2026:10:00:01 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8"
`), 0o644)
	fw := filepath.Join(dir, "fw.log")
	os.WriteFile(fw, []byte(`<164>Nov 28 2026 10:27:32 asa : %ASA-4-106023: Deny tcp src outside:203.0.113.50/40001 dst inside:10.20.1.80/3389 by access-group "in" [0x0, 0x0]
<134>Nov 28 10:28:00 pfsense filterlog[5411]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.51,198.51.100.2,40003,3389,0,S,1,,65228,,mss
<189>date=2026-11-28 time=10:16:00 devname="FGT" devid="FG1" logid="0000000013" type="traffic" subtype="forward" srcip=203.0.113.52 srcport=40000 dstip=198.51.100.2 dstport=3389 proto=6 action="deny"
<189>date=2026-11-28 time=10:16:00 devname="FGT" devid="FG1" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.5 srcport=40000 dstip=198.51.100.2 dstport=3389 proto=6 action="accept"
`), 0o644)
	var out, errOut bytes.Buffer
	res, err := Scan(context.Background(), &out, &errOut, []string{web}, Config{Rules: []string{dir}, Format: "apache-access"})
	if err != nil || res.Matches != 1 {
		t.Errorf("webserver: %+v %v\n%s%s", res, err, out.String(), errOut.String())
	}
	out.Reset()
	res, err = Scan(context.Background(), &out, &errOut, []string{fw}, Config{Rules: []string{dir}, Format: "syslog"})
	if err != nil || res.Matches != 3 {
		t.Errorf("firewall: %+v %v\n%s%s", res, err, out.String(), errOut.String())
	}
}

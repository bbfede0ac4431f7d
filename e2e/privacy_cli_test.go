package e2e

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runVigilSplit runs the vigil binary and returns its standard output,
// standard error and exit status apart.
func runVigilSplit(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(vigilBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vigil %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestHL7AndPrivacyCommands loads a small simulated hospital the way a
// hospital loads its history — the roster, the ADT history with vigil hl7
// send, the access log with vigil ehr import — and drives vigil privacy
// against the server: templates (list, show, approve, and the refusals),
// rules, mining and the access reports, checking each command's output,
// exit status and what it did on the server (directory, templates,
// audit trail).
func TestHL7AndPrivacyCommands(t *testing.T) {
	export := t.TempDir()
	if out, code := runVigil(t, "simulate", "--export", export, "--staff", "40", "--patients", "80", "--span", "24h", "--seed", "3",
		"--timezone", "UTC"); code != 0 {
		t.Fatalf("simulate --export: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	in := startVigil(t, dir, "--detect-timezone", "UTC")
	srv := []string{"--server", in.httpURL, "--data-dir", dir}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runVigilSplit(t, append(args, srv...)...)
		if code != 0 {
			t.Fatalf("vigil %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	if out := run("workforce", "import", filepath.Join(export, "roster.csv")); !strings.Contains(out, "0 with problems") {
		t.Fatalf("workforce import: %s", out)
	}

	// vigil hl7 send: every message acknowledged, stored and applied to
	// the directory.
	adt := filepath.Join(export, "adt.hl7")
	data, err := os.ReadFile(adt)
	if err != nil {
		t.Fatal(err)
	}
	msgs := bytes.Count(data, []byte("MSH|"))
	out, errOut, code := runVigilSplit(t, "hl7", "send", "--mllp", in.mllp, adt)
	if want := adt + ": " + strconv.Itoa(msgs) + " messages, " + strconv.Itoa(msgs) + " accepted, 0 refused"; code != 0 || !strings.Contains(out, want) {
		t.Fatalf("hl7 send: exit %d, want %q\n%s%s", code, want, out, errOut)
	}
	if got := in.waitFor("event.module:hl7", msgs, 30*time.Second); len(got) != msgs {
		t.Fatalf("%d HL7 messages stored, want %d", len(got), msgs)
	}
	mrn := regexp.MustCompile(`PID\|1\|\|([A-Z0-9]+)\^`).FindSubmatch(data)
	if mrn == nil {
		t.Fatal("no MRN in the ADT file")
	}
	var found struct {
		Count int `json:"count"`
	}
	if err := in.adminCall("GET", "/api/v1/patients?identifier="+string(mrn[1]), "", &found); err != nil || found.Count != 1 {
		t.Fatalf("patient %s not in the directory after hl7 send: %+v %v", mrn[1], found, err)
	}
	// A message the directory cannot take is listed with its control id,
	// the next one still goes, and the exit status says so.
	bad := filepath.Join(t.TempDir(), "bad.hl7")
	os.WriteFile(bad, []byte("MSH|^~\\&|EPIC|RGH|VIGIL|RGH|20261206080000||ADT^A01^ADT_A01|BAD-1|P|2.5.1\rEVN|A01|20261206080000\rPID|1||\rPV1|1|I\r\r"+
		"MSH|^~\\&|EPIC|RGH|VIGIL|RGH|20261206080000||ADT^A08^ADT_A01|GOOD-2|P|2.5.1\rEVN|A08|20261206080000\rPID|1||"+string(mrn[1])+"^^^RGH^MR||DOE^JANE\rPV1|1|O\r"), 0o600)
	out, errOut, code = runVigilSplit(t, "hl7", "send", "--mllp", in.mllp, bad)
	if code != 1 || !strings.Contains(out, "2 messages, 1 accepted, 1 refused") || !strings.Contains(errOut, "message 1 (BAD-1): AE") {
		t.Fatalf("hl7 send of a refused message: exit %d\n%s%s", code, out, errOut)
	}
	// Nobody listening: an error naming the address, exit status 1.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if _, errOut, code := runVigilSplit(t, "hl7", "send", "--mllp", closed, "--timeout", "2s", adt); code != 1 || !strings.Contains(errOut, "MLLP "+closed) {
		t.Fatalf("hl7 send to a closed port: exit %d %s", code, errOut)
	}

	// The access log: every access stored with its explanation.
	accessLog := filepath.Join(export, "access_log.csv")
	rows := readCSV(t, accessLog)
	run("ehr", "import", "--preset", "epic", "--state", filepath.Join(t.TempDir(), "state.json"), accessLog)
	if got := in.waitFor("event.module:ehr", len(rows)-1, 60*time.Second); len(got) != len(rows)-1 {
		t.Fatalf("%d accesses stored, want %d", len(got), len(rows)-1)
	}
	explained := len(in.search("event.module:ehr healthcare.access.explained:true"))
	if explained < (len(rows)-1)/2 {
		t.Fatalf("%d of %d accesses explained: the ADT history did not reach the directory", explained, len(rows)-1)
	}
	// The engine's counters (what vigil bench privacy waits on) agree.
	yes, ok1 := in.metric(`vigil_privacy_accesses_total{explained="true"}`)
	no, ok2 := in.metric(`vigil_privacy_accesses_total{explained="false"}`)
	if !ok1 || !ok2 || int(yes) != explained || int(yes+no) != len(rows)-1 {
		t.Fatalf("vigil_privacy_accesses_total: %v explained, %v not; stored %d explained of %d", yes, no, explained, len(rows)-1)
	}

	// Templates: mine, list, show, approve (and what is refused).
	out = run("privacy", "templates", "mine")
	if m := regexp.MustCompile(`(\d+) templates chosen in (\d+) groups from (\d+) accesses`).FindStringSubmatch(out); m == nil || m[3] == "0" {
		t.Fatalf("privacy templates mine: %s", out)
	}
	out = run("privacy", "templates")
	if !strings.HasPrefix(out, "ID") || !strings.Contains(out, "CONFIDENCE") || strings.Count(out, "\n") < 2 {
		t.Fatalf("privacy templates:\n%s", out)
	}
	var ts []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Group  string `json:"group"`
	}
	if err := json.Unmarshal([]byte(run("privacy", "templates", "--json")), &ts); err != nil || len(ts) == 0 {
		t.Fatalf("privacy templates --json: %v %d", err, len(ts))
	}
	var id int64
	for _, tp := range ts {
		if tp.ID > 0 && tp.Status != "approved" {
			id = tp.ID
			break
		}
	}
	if id == 0 {
		t.Fatalf("no mined template to decide on: %+v", ts)
	}
	sid := strconv.FormatInt(id, 10)
	if out := run("privacy", "templates", "show", sid); !strings.Contains(out, `"id": `+sid) {
		t.Fatalf("templates show %s: %s", sid, out)
	}
	if _, errOut, code := runVigilSplit(t, append([]string{"privacy", "templates", "approve", sid}, srv...)...); code != 1 || !strings.Contains(errOut, "reason is required") {
		t.Fatalf("approve without a reason: exit %d %s", code, errOut)
	}
	if _, errOut, code := runVigilSplit(t, append([]string{"privacy", "templates", "approve", "x1", "--reason", "r"}, srv...)...); code != 1 || !strings.Contains(errOut, `template id "x1" is not a number`) {
		t.Fatalf("approve x1: exit %d %s", code, errOut)
	}
	if _, errOut, code := runVigilSplit(t, append([]string{"privacy", "templates", "approve", "999999", "--reason", "r"}, srv...)...); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("approve of a missing template: exit %d %s", code, errOut)
	}
	if out := run("privacy", "templates", "approve", sid, "--reason", "routine work of the department"); !strings.Contains(out, "template "+sid+" (") || !strings.HasSuffix(strings.TrimSpace(out), ": approved") {
		t.Fatalf("approve: %s", out)
	}
	ts = nil
	if err := json.Unmarshal([]byte(run("privacy", "templates", "--status", "approved", "--json")), &ts); err != nil || len(ts) != 1 || ts[0].ID != id {
		t.Fatalf("approved templates: %+v %v", ts, err)
	}

	// Rules: every rule listed with its level and whether it runs.
	out = run("privacy", "rules")
	for _, name := range []string{"family", "coworker", "vip", "self", "deceased", "neighbour", "break_glass", "bulk", "repeat_offender"} {
		if !regexp.MustCompile(`(?m)^` + name + `\s+(low|medium|high|critical)\s+(true|false)\s`).MatchString(out) {
			t.Fatalf("privacy rules: no line for %s:\n%s", name, out)
		}
	}

	// Reports: the patient most often opened, as CSV (one line per access
	// of the log), PDF (to a file only) and JSON; a user's; the summary.
	counts := map[string]int{}
	var top string
	for _, r := range rows[1:] {
		counts[r[4]]++
		if counts[r[4]] > counts[top] {
			top = r[4]
		}
	}
	from := []string{"--from", "-30d"}
	rep := readCSVString(t, run(append([]string{"privacy", "report", "patient", top, "--format", "csv"}, from...)...))
	if len(rep)-1 != counts[top] || rep[0][0] != "When" || !contains(rep[0], "Explanation") {
		t.Fatalf("patient report of %s: %d rows, want %d; header %q", top, len(rep)-1, counts[top], rep[0])
	}
	if _, errOut, code := runVigilSplit(t, append(append([]string{"privacy", "report", "patient", top, "--format", "pdf"}, from...), srv...)...); code != 1 || !strings.Contains(errOut, "give -o FILE") {
		t.Fatalf("PDF to standard output: exit %d %s", code, errOut)
	}
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	run(append([]string{"privacy", "report", "patient", top, "--format", "pdf", "-o", pdf}, from...)...)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("PDF report: %v %.20q", err, b)
	}
	if fi, _ := os.Stat(pdf); fi.Mode().Perm() != 0o600 {
		t.Fatalf("report file mode %v: it holds PHI", fi.Mode().Perm())
	}
	user := rows[1][2]
	var ur map[string]any
	if err := json.Unmarshal([]byte(run(append([]string{"privacy", "report", "user", user}, from...)...)), &ur); err != nil || !strings.Contains(toJSON(ur), `"`+user+`"`) {
		t.Fatalf("user report of %s: %v %.300s", user, err, toJSON(ur))
	}
	if out := run(append([]string{"privacy", "report", "summary", "--format", "csv", "--table", "departments"}, from...)...); len(readCSVString(t, out)) < 2 {
		t.Fatalf("summary report: %s", out)
	}
	if _, errOut, code := runVigilSplit(t, append([]string{"privacy", "report", "patients", top}, srv...)...); code != 1 || !strings.Contains(errOut, "want: report patient ID") {
		t.Fatalf("report patients: exit %d %s", code, errOut)
	}

	// The server's audit trail holds the decision and every report.
	out = run("audit", "list", "--action", "privacy.template.approve", "--format", "ndjson")
	if !strings.Contains(out, `"template:`+sid+`"`) || !strings.Contains(out, "routine work of the department") {
		t.Fatalf("approval not on record:\n%s", out)
	}
	// Two patient reports went to the server (CSV, PDF to a file); the
	// PDF refused for standard output never left the command.
	out = run("audit", "list", "--action", "privacy.report.patient", "--format", "ndjson")
	if strings.Count(out, `"patient:`+top+`"`) != 2 || !strings.Contains(out, `"format":"pdf"`) {
		t.Fatalf("want 2 patient reports of %s on record:\n%s", top, out)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readCSVString(t, string(data))
}

func readCSVString(t *testing.T, s string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("CSV: %v\n%.500s", err, s)
	}
	return rows
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestBenchPrivacy runs vigil bench privacy on a small hospital: it
// generates the files, loads them into a server of its own and reports
// what the import measured, every access judged by the privacy engine.
func TestBenchPrivacy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hospital")
	out, errOut, code := runVigilSplit(t, "bench", "privacy", "--dir", dir, "--beds", "40", "--span", "12h", "--activity", "1", "--rounds", "1",
		"--start", "2026-11-02T06:00:00Z", "--timeout", "5m")
	if code != 0 {
		t.Fatalf("bench privacy: exit %d\n%s%s", code, out, errOut)
	}
	rows := readCSV(t, filepath.Join(dir, "access_log.csv"))
	m := regexp.MustCompile(`(?m)^(\d+) accesses .*\n(?s:.*)\| accesses/s [^|]*\| (\d+) \|(?s:.*)\| explained / unexplained \| (\d+) / (\d+) \|`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("bench privacy printed:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	rate, _ := strconv.Atoi(m[2])
	yes, _ := strconv.Atoi(m[3])
	no, _ := strconv.Atoi(m[4])
	if n != len(rows)-1 || n == 0 || rate <= 0 || yes+no != n || yes == 0 {
		t.Fatalf("%d accesses (file %d), %d/s, %d explained, %d not:\n%s", n, len(rows)-1, rate, yes, no, out)
	}
	if !strings.Contains(errOut, "generating the hospital into "+dir) {
		t.Fatalf("status:\n%s", errOut)
	}
}

package ehrcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/httpin"
	"github.com/vigil-siem/vigil/internal/web/webtest"
)

type server struct {
	url   string
	token string // an admin token: imports send events and rosters
	cons  *bus.Consumer
	dir   *directory.Store
}

// newServer runs the HTTP ingest handler and the directory API on a real
// bus and database, behind a bearer token.
func newServer(t *testing.T, busCfg bus.Config) *server {
	t.Helper()
	ctx := context.Background()
	b, cons := bustest.Open(t, busCfg)
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dir, err := directory.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := formats.Records(formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	routes := append((&directory.API{Store: dir}).Routes(), access.Route{Pattern: "POST /api/v1/ingest", Perm: access.Ingest,
		Handler: &httpin.Handler{Pub: b, Metrics: ingest.NewMetrics(prometheus.NewRegistry()),
			Log: slog.New(slog.DiscardHandler), MaxBodyBytes: 64 << 20, MaxEventBytes: 1 << 20, Formats: fs}})
	env := webtest.New(t, webtest.Options{}, routes...)
	return &server{url: env.URL, token: env.Tokens["admin"], cons: cons, dir: dir}
}

func (s *server) events(t *testing.T) []event.Event {
	t.Helper()
	var out []event.Event
	for {
		msgs, err := s.cons.Fetch(context.Background(), 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if out, err = event.DecodeBatch(out, m.Data); err != nil {
				t.Fatal(err)
			}
			_ = m.Ack()
		}
	}
}

func TestImportEpic(t *testing.T) {
	s := newServer(t, bus.Config{})
	c := client.New(s.url, s.token, false)
	m, _ := ehr.Preset("epic")
	state := filepath.Join(t.TempDir(), "state.json")
	var progBytes, progRows int64
	st, err := Import(context.Background(), c, "../../../../internal/ehr/testdata/epic_access.csv", ImportOptions{
		Mapping: m, StatePath: state, ChunkEvents: 2, Progress: func(b, r int64) { progBytes += b; progRows += r },
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat("../../../../internal/ehr/testdata/epic_access.csv")
	if st.Rows != 5 || st.Stored != 5 || st.RowProblems != 2 || st.Requests != 3 || progRows != 5 || progBytes > fi.Size() || progBytes < fi.Size()-2 {
		t.Fatalf("stats %+v, progress %d bytes %d rows (file %d)", st, progBytes, progRows, fi.Size())
	}
	if !strings.HasPrefix(st.Problems[0], "line 4:") || !strings.HasPrefix(st.Problems[1], "line 8:") {
		t.Fatalf("problems %q", st.Problems)
	}
	evs := s.events(t)
	if len(evs) != 5 {
		t.Fatalf("%d events", len(evs))
	}
	for _, e := range evs {
		if e.Value("event.module") != "ehr" || e.Arrived.IsZero() {
			t.Fatalf("event %v", e.Fields)
		}
	}
	if evs[1].Value("healthcare.break_glass") != "true" || evs[1].Time != time.Date(2024, 3, 12, 9, 15, 30, 0, time.UTC) {
		t.Fatalf("second event %v %v", evs[1].Time, evs[1].Fields)
	}
	// The state says done: resuming sends nothing.
	st, err = Import(context.Background(), c, "../../../../internal/ehr/testdata/epic_access.csv", ImportOptions{Mapping: m, StatePath: state, Resume: true})
	if err != nil || !st.AlreadyDone {
		t.Fatalf("resume of a finished file: %+v %v", st, err)
	}
	if evs := s.events(t); len(evs) != 0 {
		t.Fatalf("%d events sent again", len(evs))
	}
}

func TestImportResumes(t *testing.T) {
	for _, lanes := range []int{1, 3} {
		t.Run(fmt.Sprintf("lanes=%d", lanes), func(t *testing.T) { testImportResumes(t, lanes) })
	}
}

// testImportResumes interrupts an import on a full bus and resumes it
// until done: every row is stored exactly once, in lanes too (where rows
// after the resumed offset were acknowledged already in other lanes).
func testImportResumes(t *testing.T, lanes int) {
	// A bus so small that the import stops partway.
	s := newServer(t, bus.Config{MaxBytes: 24 << 10, MaxBatchBytes: 8 << 10})
	c := client.New(s.url, s.token, false)
	m, _ := ehr.Preset("epic")
	path := filepath.Join(t.TempDir(), "access.csv")
	var b strings.Builder
	b.WriteString("ACCESS_INSTANT,USER_ID,PAT_MRN_ID,METRIC_NAME\n")
	var want []string
	for i := range 200 {
		want = append(want, fmt.Sprintf("MRN%03d", i))
		fmt.Fprintf(&b, "2024-03-12 10:00:00,user%02d,MRN%03d,%s\n", i%13, i, strings.Repeat("VIEW ", 10))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	opt := ImportOptions{Mapping: m, StatePath: state, ChunkEvents: 20, Lanes: lanes}
	st, err := Import(context.Background(), c, path, opt)
	if err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("import on a full bus: %+v %v", st, err)
	}
	got := patients(s.events(t)) // consuming frees the bus
	if len(got) == 0 || len(got) == 200 {
		t.Fatalf("%d events before the interruption", len(got))
	}
	opt.Resume = true
	opt.Lanes = 1 // a resumed import keeps the lanes it began with
	for range 50 {
		st, err = Import(context.Background(), c, path, opt)
		got = append(got, patients(s.events(t))...)
		if err == nil {
			break
		}
		if st.ResumedAtLine < 2 {
			t.Fatalf("resumed at line %d", st.ResumedAtLine)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after resuming: %d events, want 200 without duplicates: %v", len(got), got)
	}
	// A file changed since: refused with --resume.
	os.WriteFile(path, []byte(b.String()+"2024-03-12 10:00:00,late,MRN,VIEW\n"), 0o644)
	if _, err := Import(context.Background(), c, path, opt); !errors.Is(err, ErrChanged) {
		t.Fatalf("changed file: %v", err)
	}
}

func patients(evs []event.Event) []string {
	var p []string
	for _, e := range evs {
		p = append(p, e.Value("healthcare.patient.id"))
	}
	return p
}

// TestImportLanesKeepUserOrder: with requests in flight in several lanes,
// every row is stored once and each user's rows reach the bus in the
// file's order.
func TestImportLanesKeepUserOrder(t *testing.T) {
	s := newServer(t, bus.Config{})
	c := client.New(s.url, s.token, false)
	m, _ := ehr.Preset("epic")
	path := filepath.Join(t.TempDir(), "access.csv")
	var b strings.Builder
	b.WriteString("ACCESS_INSTANT,USER_ID,PAT_MRN_ID,METRIC_NAME\n")
	const rows = 3000
	for i := range rows {
		fmt.Fprintf(&b, "2024-03-12 10:00:00,user%02d,MRN%05d,VIEW\n", i%37, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Import(context.Background(), c, path, ImportOptions{Mapping: m, ChunkEvents: 50, Lanes: 4})
	if err != nil || st.Stored != rows || st.Rows != rows {
		t.Fatalf("%+v %v", st, err)
	}
	evs := s.events(t)
	if len(evs) != rows {
		t.Fatalf("%d events, want %d", len(evs), rows)
	}
	last := map[string]string{}
	inOrder := true
	for i, e := range evs {
		u, p := e.Value("user.name"), e.Value("healthcare.patient.id")
		if p <= last[u] {
			t.Fatalf("event %d: %s's %s after %s", i, u, p, last[u])
		}
		last[u] = p
		if i > 0 && p < evs[i-1].Value("healthcare.patient.id") {
			inOrder = false
		}
	}
	if inOrder {
		t.Fatal("the bus holds the file's order: the rows did not go in lanes")
	}
}

func TestCommands(t *testing.T) {
	s := newServer(t, bus.Config{})
	run := func(cmdArgs ...string) (string, string, error) {
		root := Command()
		if cmdArgs[0] == "workforce" {
			root = WorkforceCommand()
		}
		var out, errOut bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(cmdArgs[1:])
		err := root.ExecuteContext(context.Background())
		return out.String(), errOut.String(), err
	}
	state := filepath.Join(t.TempDir(), "state.json")
	out, errOut, err := run("ehr", "import", "--preset", "touchworks", "--server", s.url, "--token", s.token, "--state", state, "../../../../internal/ehr/testdata/touchworks_access.csv")
	if err != nil || !strings.Contains(out, "3 rows read, 3 events stored, 1 rows with problems") || !strings.Contains(errOut, "line 4") {
		t.Fatalf("ehr import: %v\n%s\n%s", err, out, errOut)
	}
	// Columns the mapping does not read are named on standard error.
	extra := filepath.Join(t.TempDir(), "extra.csv")
	os.WriteFile(extra, []byte("ACCESS_INSTANT,USER_ID,PAT_MRN_ID,PATIENT_NAME,Terminal\n2024-03-12 10:00:00,jdoe,MRN1,\"DOE, JANE\",T7\n"), 0o644)
	out, errOut, err = run("ehr", "import", "--preset", "epic", "--server", s.url, "--token", s.token, "--state", state, extra)
	if err != nil || !strings.Contains(out, "1 events stored") ||
		!strings.Contains(errOut, `2 column(s) not read by mapping epic: "PATIENT_NAME", "Terminal"`) {
		t.Fatalf("ehr import with unmapped columns: %v\n%s\n%s", err, out, errOut)
	}
	s.events(t)
	if _, _, err := run("ehr", "import", "--preset", "touchworks", "--server", s.url, "--token", s.token, "--state", state, "--strict", "../../../../internal/ehr/testdata/touchworks_access.csv"); err == nil {
		t.Fatal("--strict ignored the row problem")
	}
	if _, _, err := run("ehr", "import", "--server", s.url, "../../../../internal/ehr/testdata/touchworks_access.csv"); err == nil {
		t.Fatal("import without a mapping accepted")
	}
	out, _, err = run("ehr", "presets", "openemr")
	if err != nil || !strings.Contains(out, "patient_id") {
		t.Fatalf("presets openemr: %v %s", err, out)
	}
	// The printed preset is a valid mapping file.
	if _, err := ehr.ParseMapping([]byte(out), "printed"); err != nil {
		t.Fatalf("printed preset does not load: %v\n%s", err, out)
	}
	out, _, _ = run("ehr", "presets")
	if !strings.Contains(out, "epic") || !strings.Contains(out, "touchworks") {
		t.Fatalf("presets: %s", out)
	}

	roster := filepath.Join(t.TempDir(), "roster.csv")
	os.WriteFile(roster, []byte("Emp No;Login;Dept;Term\n1;ghouse;Diagnostics;31/12/2024\n2;lcuddy;Admin;bad\n"), 0o644)
	mapping := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(mapping, []byte("employee_id: Emp No\nehr_user_id: Login\ndepartment: Dept\ntermination_date: Term\n"), 0o644)
	out, errOut, err = run("workforce", "import", "--server", s.url, "--token", s.token, "--mapping", mapping, "--day-first", roster)
	if err != nil || !strings.Contains(out, "2 rows: 1 created") || !strings.Contains(errOut, "line 3") {
		t.Fatalf("workforce import: %v\n%s\n%s", err, out, errOut)
	}
	w, err := s.dir.WorkerByEHRUser(context.Background(), "ghouse")
	if err != nil || w.TerminationDate != "2024-12-31" {
		t.Fatalf("worker %+v %v", w, err)
	}
	if _, err := client.New(s.url, "wrong", false).ImportWorkforce(context.Background(), strings.NewReader("a\n"), url.Values{}); err == nil {
		t.Fatal("wrong token accepted")
	}
}

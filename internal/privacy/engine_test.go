package privacy

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
)

// fakeDir is a directory of 1,000 patients whose stays are given.
type fakeDir struct {
	spans []directory.EncounterSpan
	staff map[string]string
}

func (f *fakeDir) EncounterSpans(_ context.Context, from, to time.Time, fn func(*directory.EncounterSpan) error) error {
	for i := range f.spans {
		if err := fn(&f.spans[i]); err != nil {
			return err
		}
	}
	return nil
}
func (f *fakeDir) PatientCount(context.Context) (int, error)                   { return 1000, nil }
func (f *fakeDir) StaffDepartments(context.Context) (map[string]string, error) { return f.staff, nil }

// hospital returns a fake directory with 30 stays at a time on 4W (MED)
// and 5 in the ED over March 2024, and accesses of one week: pharmacists
// on the 4W patients, ED staff on the ED patients, nurses on their own
// patients (the care team).
func hospital() (*fakeDir, []enrich.Access) {
	d := &fakeDir{staff: map[string]string{}}
	var accs []enrich.Access
	start := tm("2024-03-01T00:00:00Z")
	for i := 0; i < 40; i++ {
		admit := start.Add(time.Duration(i) * 18 * time.Hour)
		d.spans = append(d.spans, directory.EncounterSpan{Class: "I", Location: "4W^1^A", Service: "MED", Admit: admit, Discharge: admit.Add(5 * 24 * time.Hour)})
	}
	for i := 0; i < 200; i++ {
		admit := start.Add(time.Duration(i) * 3 * time.Hour)
		d.spans = append(d.spans, directory.EncounterSpan{Class: "E", Location: "ED", Service: "EM", Admit: admit, Discharge: admit.Add(3 * time.Hour)})
	}
	for i := 0; i < 600; i++ {
		at := start.Add(time.Duration(i) * 10 * time.Minute)
		ward := enrich.Encounter{Class: "I", Location: "4W", Service: "MED", Admit: at.Add(-30 * time.Hour), Discharge: at.Add(50 * time.Hour),
			Members: []enrich.Member{{ID: fmt.Sprintf("nurse%d", i%3), Role: "RN", Department: "Medicine"}}}
		ed := enrich.Encounter{Class: "E", Location: "ED", Service: "EM", Admit: at.Add(-time.Hour), Discharge: at.Add(2 * time.Hour)}
		u := fmt.Sprintf("rx%d", i%3)
		accs = append(accs,
			enrich.Access{User: u, UserIDs: []string{u}, Department: "Pharmacy", Role: "Pharmacist", At: at, Patient: fmt.Sprintf("W%d", i), Found: true,
				Encounters: []enrich.Encounter{ward}},
			enrich.Access{User: fmt.Sprintf("ed%d", i%4), UserIDs: []string{fmt.Sprintf("ed%d", i%4)}, Department: "Emergency", Role: "RN", At: at,
				Patient: fmt.Sprintf("E%d", i), Found: true, Encounters: []enrich.Encounter{ed}},
			enrich.Access{User: fmt.Sprintf("nurse%d", i%3), UserIDs: []string{fmt.Sprintf("nurse%d", i%3)}, Department: "Medicine", Role: "RN", At: at,
				Patient: fmt.Sprintf("W%d", i), Found: true, Encounters: []enrich.Encounter{ward}})
	}
	return d, accs
}

func newTestEngine(t *testing.T, dir Directory, conf string, state string) *Engine {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// Templates of departments only, unless the test says otherwise.
	if !strings.Contains(conf, "group_by") {
		conf = "mining: {group_by: [department]}\n" + conf
	}
	cfg, err := ParseConfig([]byte(conf), "test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(context.Background(), EngineConfig{DB: d, Directory: dir, Config: cfg, StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngineLearnsAndExplains(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	e := newTestEngine(t, dir, "", "")
	// The first batch is learnt from before it is explained: the import of
	// a history explains itself.
	xs := e.ExplainBatch(ctx, accs[:900])
	explained := 0
	for _, x := range xs {
		if x.Explained {
			explained++
		}
	}
	if explained != 900 {
		t.Fatalf("%d of 900 explained", explained)
	}
	codes := map[string]int{}
	for _, x := range e.ExplainBatch(ctx, accs[900:]) {
		codes[x.Code]++
	}
	if codes[ExplainCareTeam] != 300 || codes[ExplainDeptPattern] != 600 {
		t.Fatalf("codes %v", codes)
	}
	ts, err := e.Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var active []string
	for _, tp := range ts {
		if tp.Explains() {
			active = append(active, tp.Group+" "+tp.Feature)
			if tp.Stats.Users < 2 || tp.Stats.Lift < 3 || tp.Description == "" || tp.FirstMined.IsZero() {
				t.Errorf("template %+v", tp)
			}
		}
	}
	if strings.Join(active, "|") != "department:emergency class:E|department:pharmacy class:I" {
		t.Fatalf("active templates %q", active)
	}
	// A pharmacist opening an ED patient, an ED nurse a ward patient, a
	// pharmacist a patient with no stay: unexplained, with the reason.
	for _, a := range []enrich.Access{
		{User: "rx1", Department: "Pharmacy", At: accs[0].At, Found: true, Encounters: accs[1].Encounters},
		{User: "ed1", Department: "Emergency", At: accs[0].At, Found: true, Encounters: accs[0].Encounters},
		{User: "rx1", Department: "Pharmacy", At: accs[0].At, Found: true},
	} {
		if x := e.Explain(&a); x.Explained || x.Code != ExplainNone || !strings.Contains(x.Detail, a.Department) {
			t.Errorf("%s on %v: %+v", a.User, a.Encounters, x)
		}
	}
	// Self, family, termination are never explained by a template.
	for name, mod := range map[string]func(a *enrich.Access){
		"self":       func(a *enrich.Access) { a.Rel.Self = true },
		"family":     func(a *enrich.Access) { a.Rel.Family = true },
		"terminated": func(a *enrich.Access) { a.Terminated = true },
	} {
		a := accs[0]
		mod(&a)
		if x := e.Explain(&a); x.Explained {
			t.Errorf("%s explained: %+v", name, x)
		}
	}
	// Family on the care team is explained.
	a := accs[2]
	a.Rel.Family = true
	if x := e.Explain(&a); !x.Explained || x.Code != ExplainCareTeam {
		t.Errorf("family on the care team: %+v", x)
	}
}

// A template says a department routinely opens patients in a state, not
// that this user had a reason to open this one: a sensitive access (VIP,
// co-worker, neighbour, deceased, break-glass) is explained by it only
// when another user of the department opened the record within the
// window, or the user or a colleague is on the care team.
func TestEngineCorroboration(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	// The ED works in pairs (triage, then the physician): a colleague's
	// access corroborates nearly every ED access. Pharmacy opens each
	// patient once, alone.
	for _, a := range accs {
		if a.Department == "Emergency" {
			b := a
			b.User = a.User + "-md"
			b.UserIDs = []string{b.User}
			b.At = a.At.Add(30 * time.Minute)
			accs = append(accs, b)
		}
	}
	e := newTestEngine(t, dir, "corroboration: {enabled: true}", "")
	e.ExplainBatch(ctx, accs)
	at := accs[1].At.Add(2 * time.Hour)
	ed := accs[1].Encounters
	vip := enrich.Access{User: "ed1", UserIDs: []string{"ed1"}, Department: "Emergency", At: at, Patient: "VIP1", Found: true, Confidential: true, Encounters: ed}
	// On its way in, it is explained, pending: the rules judge it when the
	// window after it has passed.
	if x := e.Explain(&vip); !x.Explained || !x.Pending {
		t.Fatalf("on its way in: %+v", x)
	}
	x := e.Reexplain(&vip)
	if x.Explained || x.Pending || !strings.HasPrefix(x.Detail, detailUncorroborated) || UnexplainedReason(x.Detail) != "template without corroboration" {
		t.Fatalf("a lone ED access to a VIP in the ED: %+v", x)
	}
	ev := &event.Event{}
	e.Explain(&vip).Annotate(ev)
	if ev.Value(FieldCorroboration) != "pending" || ev.Value(FieldExplained) != "true" {
		t.Fatalf("annotated %v", ev.Fields)
	}
	x.Annotate(ev)
	if ev.Has(FieldCorroboration) {
		t.Fatalf("the final verdict keeps %s", FieldCorroboration)
	}
	// The same access to an ordinary patient is explained.
	plain := vip
	plain.Confidential = false
	if x := e.Reexplain(&plain); !x.Explained {
		t.Fatalf("ordinary patient: %+v", x)
	}
	// The same user an hour later (the same sitting), another ED user 25
	// hours later: no corroboration; another ED user three hours later,
	// or the same user at another sitting: corroborated.
	later := vip
	later.At = at.Add(time.Hour)
	e.ExplainBatch(ctx, []enrich.Access{later})
	if x := e.Reexplain(&vip); x.Explained {
		t.Fatalf("corroborated by the same user's sitting: %+v", x)
	}
	other := vip
	other.Patient = "VIP2"
	again := other
	again.At = at.Add(3 * time.Hour)
	e.ExplainBatch(ctx, []enrich.Access{again})
	if x := e.Reexplain(&other); !x.Explained {
		t.Fatalf("not corroborated by the user's second sitting: %+v", x)
	}
	far := later
	far.User, far.UserIDs, far.At = "ed2", []string{"ed2"}, at.Add(25*time.Hour)
	e.ExplainBatch(ctx, []enrich.Access{far})
	if x := e.Reexplain(&vip); x.Explained {
		t.Fatalf("corroborated from 25 h away: %+v", x)
	}
	near := far
	near.At = at.Add(3 * time.Hour)
	e.ExplainBatch(ctx, []enrich.Access{near})
	if x := e.Reexplain(&vip); !x.Explained || x.Code != ExplainDeptPattern {
		t.Fatalf("corroborated by a colleague 3 h later: %+v", x)
	}
	// Pharmacy's routine is lone accesses: its lone access to a VIP, or
	// with the glass broken, is its routine.
	rx := accs[0]
	rx.Patient, rx.Confidential, rx.At = "VIP3", true, rx.At.Add(time.Hour)
	if x := e.Reexplain(&rx); !x.Explained {
		t.Errorf("pharmacy's lone access to a VIP: %+v", x)
	}
	rx.Confidential, rx.BreakGlass = false, true
	if x := e.Reexplain(&rx); !x.Explained {
		t.Errorf("pharmacy's lone break-glass access: %+v", x)
	}
	// Every kind of sensitive access asks for it.
	for name, mod := range map[string]func(a *enrich.Access){
		"co-worker":   func(a *enrich.Access) { a.Rel.Coworker = true },
		"neighbour":   func(a *enrich.Access) { a.Rel.Neighbour = true },
		"deceased":    func(a *enrich.Access) { a.Deceased = true },
		"break-glass": func(a *enrich.Access) { a.BreakGlass = true },
	} {
		a := plain
		a.Patient = "OTHER"
		mod(&a)
		if x := e.Reexplain(&a); x.Explained {
			t.Errorf("%s: %+v", name, x)
		}
	}
	// A patient who dies after the access is not yet deceased.
	a := plain
	a.Patient, a.Deceased, a.DeceasedAt = "OTHER", true, at.Add(time.Hour)
	if x := e.Reexplain(&a); !x.Explained {
		t.Errorf("death after the access: %+v", x)
	}
	// Off in the configuration, or a configured template: explained.
	off := newTestEngine(t, dir, "", "") // off by default
	off.ExplainBatch(ctx, accs)
	if x := off.Reexplain(&vip); !x.Explained {
		t.Errorf("corroboration off (the default): %+v", x)
	}
	conf := newTestEngine(t, dir, "corroboration: {enabled: true}\ntemplates: [{name: ED board, department: Emergency, patients: 'class:E'}]", "")
	if x := conf.Reexplain(&vip); !x.Explained || x.Code != ExplainConfigured {
		t.Errorf("configured template: %+v", x)
	}
}

func TestEngineDecisions(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	e := newTestEngine(t, dir, "", "")
	e.ExplainBatch(ctx, accs)
	ts, _ := e.Templates(ctx)
	var rx Template
	for _, tp := range ts {
		if tp.Group == "department:pharmacy" {
			rx = tp
		}
	}
	if rx.ID == 0 || rx.Status != StatusActive {
		t.Fatalf("pharmacy template %+v", rx)
	}
	v := e.Version()
	if _, err := e.Decide(ctx, rx.ID, StatusRejected, "po", ""); err == nil {
		t.Fatal("rejected without a reason")
	}
	got, err := e.Decide(ctx, rx.ID, StatusRejected, "po", "pharmacy works from the order queue")
	if err != nil || got.Status != StatusRejected || got.DecidedBy != "po" || got.Reason == "" || e.Version() == v {
		t.Fatalf("reject: %+v %v", got, err)
	}
	if x := e.Explain(&accs[0]); x.Explained {
		t.Fatalf("rejected template still explains: %+v", x)
	}
	// Mining again does not bring it back.
	if _, err := e.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Template(ctx, rx.ID); got.Status != StatusRejected {
		t.Fatalf("after mining: %+v", got)
	}
	if _, err := e.Decide(ctx, rx.ID, StatusApproved, "po", "confirmed with pharmacy"); err != nil {
		t.Fatal(err)
	}
	if x := e.Explain(&accs[0]); !x.Explained || !strings.Contains(x.Detail, "approved") {
		t.Fatalf("approved: %+v", x)
	}
	if _, err := e.Decide(ctx, 9999, StatusApproved, "po", "x"); err == nil {
		t.Fatal("unknown template decided")
	}
	if _, err := e.Decide(ctx, rx.ID, "active", "po", "x"); err == nil {
		t.Fatal("status active set by hand")
	}
}

func TestEngineWithoutAutoAccept(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	e := newTestEngine(t, dir, "mining: {auto_accept: false, group_by: [department]}\ntemplates: [{name: ED board, department: Emergency, patients: 'class:E'}]", "")
	xs := e.ExplainBatch(ctx, accs)
	n := map[string]int{}
	for _, x := range xs {
		n[x.Code]++
	}
	// Mined templates wait for approval; the configured one explains.
	if n[ExplainDeptPattern] != 0 || n[ExplainConfigured] != 600 || n[ExplainNone] != 600 {
		t.Fatalf("codes %v", n)
	}
	ts, _ := e.Templates(ctx)
	proposed := 0
	for _, tp := range ts {
		if tp.Status == StatusProposed {
			proposed++
		}
		if tp.Status == StatusConfigured && (tp.ID >= 0 || tp.Name != "ED board") {
			t.Errorf("configured %+v", tp)
		}
	}
	if proposed != 2 {
		t.Fatalf("%d proposed", proposed)
	}
	if _, err := e.Decide(ctx, -1, StatusRejected, "po", "x"); err == nil {
		t.Fatal("configured template decided through the API")
	}
}

// The miner's learning survives a restart; templates keep their ids.
func TestEngineState(t *testing.T) {
	ctx := context.Background()
	dir, accs := hospital()
	path := filepath.Join(t.TempDir(), "privacy-miner.json")
	d, _ := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	defer d.Close()
	e, err := NewEngine(ctx, EngineConfig{DB: d, Directory: dir, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	e.ExplainBatch(ctx, accs)
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	before, _ := e.Templates(ctx)
	e2, err := NewEngine(ctx, EngineConfig{DB: d, Directory: dir, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if x := e2.Explain(&accs[0]); !x.Explained {
		t.Fatalf("after a restart: %+v", x)
	}
	if _, err := e2.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := e2.Templates(ctx)
	if len(after) != len(before) || after[0].ID != before[0].ID || after[0].Status != StatusActive {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
}

// Annotate writes the explanation into the event; an unexplained access
// has no template id.
func TestExplanationAnnotate(t *testing.T) {
	var ev event.Event
	Explanation{Explained: true, Code: ExplainDeptPattern, Detail: "d", Template: 7}.Annotate(&ev)
	Explanation{Code: ExplainNone, Detail: "none fits"}.Annotate(&ev)
	if ev.Value(FieldExplained) != "false" || ev.Value(FieldExplanation) != "none" || ev.Has(FieldExplanationID) || ev.Value(FieldExplanationDetail) != "none fits" {
		t.Fatalf("%v", ev.Fields)
	}
}

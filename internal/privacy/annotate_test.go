package privacy

import (
	"bytes"
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
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

type bigger struct{ *directory.Store }

func (bigger) PatientCount(context.Context) (int, error) { return 10_000, nil }

type capture struct {
	max     int
	batches [][]event.Event
	raw     [][]byte
}

func (c *capture) Publish(_ context.Context, _ string, batch []byte) (uint64, error) {
	if len(batch) > c.max {
		return 0, fmt.Errorf("batch of %d bytes over %d", len(batch), c.max)
	}
	evs, err := event.DecodeBatch(nil, batch)
	if err != nil {
		return 0, err
	}
	c.batches = append(c.batches, evs)
	c.raw = append(c.raw, batch)
	return uint64(len(c.batches)), nil
}

func (c *capture) MaxBatchBytes() int { return c.max }

const testRoster = `employee_id,ehr_user_id,provider_id,family_name,given_name,address,city,state,postal_code,phone,department,role
E1,nurse.ann,P1,Keller,Ann,12 Oak St,Springfield,IL,62701,217-555-0100,Medicine,Registered Nurse
E2,rx.bob,P2,Novak,Bob,9 Elm Rd,Springfield,IL,62702,217-555-0200,Pharmacy,Pharmacist
E3,rx.cy,P3,Ortiz,Cy,7 Pine Rd,Springfield,IL,62703,217-555-0300,Pharmacy,Pharmacist
`

func annotator(t *testing.T, max int) (*Annotator, *capture, *directory.Store) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	dir, err := directory.New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.ImportWorkforce(ctx, strings.NewReader(testRoster), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	en, err := enrich.New(enrich.Config{Directory: dir, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	// A hospital of 10,000 patients, of whom the test admits a few
	// hundred.
	e, err := NewEngine(ctx, EngineConfig{DB: d, Directory: bigger{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := &capture{max: max}
	return &Annotator{Enricher: en, Engine: e, Next: c}, c, dir
}

func admit(t *testing.T, dir *directory.Store, n int, mrn, when string) {
	t.Helper()
	f := make([]string, 45)
	f[0], f[1], f[2], f[3], f[7], f[10], f[19], f[44] = "PV1", "1", "I", "4W^401^A^GH", "P9^DOC^DAN", "MED", "V"+mrn+"^^^GH^VN", when
	msg := strings.Join([]string{
		fmt.Sprintf("MSH|^~\\&|EHR|GH|VIGIL|SEC|%s||ADT^A01^ADT_A01|C%d|P|2.5.1", when, n),
		"EVN|A01|" + when,
		"PID|1||" + mrn + "^^^GH^MR||STONE^EVE||19800101|F",
		strings.Join(f, "|"),
		"ROL|1|AD|RN^Nurse^HL70443|P1^KELLER^ANN|" + when,
	}, "\r")
	m, err := hl7.Parse([]byte(msg), hl7.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := hl7.ExtractADT(m, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.ApplyADT(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func ehrAccess(user, mrn string, at time.Time) event.Event {
	var ev event.Event
	ev.Time = at
	ev.Add("event.module", "ehr")
	ev.Add("user.name", user)
	ev.Add("healthcare.patient.id", mrn)
	// A sender's own claim of an explanation is overwritten.
	ev.Add(FieldExplained, "true")
	return ev
}

func TestAnnotatorPublish(t *testing.T) {
	ctx := context.Background()
	a, c, dir := annotator(t, 1<<20)
	if a.MaxBatchBytes() >= 1<<20 {
		t.Fatal("no room left for the annotation")
	}
	at := tm("2024-03-12T10:00:00Z")
	var evs []event.Event
	for i := 0; i < 300; i++ {
		mrn := fmt.Sprintf("MRN%d", i)
		admit(t, dir, i, mrn, "20240312080000")
		evs = append(evs, ehrAccess("nurse.ann", mrn, at), ehrAccess([]string{"rx.bob", "rx.cy"}[i%2], mrn, at.Add(time.Minute)))
	}
	syslog := event.Event{Time: at, Fields: []event.Field{{Name: "message", Value: "hello"}}}
	evs = append(evs, syslog)
	if _, err := a.Publish(ctx, "http", event.AppendBatch(nil, evs)); err != nil {
		t.Fatal(err)
	}
	if len(c.batches) != 1 || len(c.batches[0]) != 601 {
		t.Fatalf("%d batches", len(c.batches))
	}
	codes := map[string]int{}
	for _, ev := range c.batches[0][:600] {
		codes[ev.Value(FieldExplanation)]++
		if !ev.Has(enrich.FieldOnCareTeam) || ev.Value(enrich.FieldWorkforceDepartment) == "" {
			t.Fatalf("not enriched: %v", ev.Fields)
		}
	}
	// The nurses are on the care team; the pharmacist's routine is learnt
	// from the batch itself.
	if codes[ExplainCareTeam] != 300 || codes[ExplainDeptPattern] != 300 {
		t.Fatalf("codes %v", codes)
	}
	if c.batches[0][600].Has(FieldExplained) {
		t.Fatal("the syslog event was annotated")
	}
	// A batch without patients passes as it is, undecoded.
	raw := event.AppendBatch(nil, []event.Event{syslog})
	if _, err := a.Publish(ctx, "syslog", raw); err != nil || !bytes.Equal(c.raw[1], raw) {
		t.Fatalf("passthrough: %v", err)
	}
	// The sender's claim is gone for an unknown user on an unknown patient.
	if _, err := a.Publish(ctx, "http", event.AppendBatch(nil, []event.Event{ehrAccess("stranger", "MRN-none", at)})); err != nil {
		t.Fatal(err)
	}
	if got := c.batches[2][0]; got.Value(FieldExplained) != "false" {
		t.Fatalf("spoofed explanation kept: %v", got.Fields)
	}
}

// A batch the annotation makes too big for the bus goes in parts.
func TestAnnotatorSplits(t *testing.T) {
	ctx := context.Background()
	a, c, dir := annotator(t, 40<<10)
	admit(t, dir, 1, "MRN1", "20240312080000")
	var evs []event.Event
	at := tm("2024-03-12T10:00:00Z")
	for len(event.AppendBatch(nil, evs)) < a.MaxBatchBytes()-400 {
		evs = append(evs, ehrAccess("nurse.ann", "MRN1", at))
	}
	if _, err := a.Publish(ctx, "http", event.AppendBatch(nil, evs)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range c.batches {
		n += len(b)
	}
	if len(c.batches) < 2 || n != len(evs) {
		t.Fatalf("%d batches, %d of %d events", len(c.batches), n, len(evs))
	}
}

// The detector's enrichment leaves annotated accesses alone and explains
// those that were not (published before the annotation existed).
func TestAnnotatorDetect(t *testing.T) {
	ctx := context.Background()
	a, _, dir := annotator(t, 1<<20)
	admit(t, dir, 1, "MRN1", "20240312080000")
	ev := ehrAccess("nurse.ann", "MRN1", tm("2024-03-12T10:00:00Z"))
	ev.Set(FieldExplained, "false")
	ev.Set(FieldExplanation, "none")
	a.Detect(ctx, &ev)
	if ev.Value(FieldExplanation) != "none" {
		t.Fatal("annotated event explained again")
	}
	ev = ehrAccess("nurse.ann", "MRN1", tm("2024-03-12T10:00:00Z"))
	ev.Delete(FieldExplained)
	a.Detect(ctx, &ev)
	if ev.Value(FieldExplanation) != ExplainCareTeam {
		t.Fatalf("not annotated: %v", ev.Fields)
	}
}

// Sources holding decoded events (an HTTP request's Pending, PublishAll)
// have them annotated in place and published to the bus in batches within
// its limit, annotation included.
func TestAnnotatorDecodedEvents(t *testing.T) {
	ctx := context.Background()
	a, c, dir := annotator(t, 40<<10)
	admit(t, dir, 1, "MRN1", "20240312080000")
	at := tm("2024-03-12T10:00:00Z")
	p := ingest.NewPending(ctx, a)
	const n = 400
	for range n {
		p.Add(ehrAccess("nurse.ann", "MRN1", at))
	}
	if stored, err := p.Publish(ctx, a, "http"); err != nil || stored != n {
		t.Fatalf("stored %d: %v", stored, err)
	}
	evs := []event.Event{ehrAccess("stranger", "MRN1", at), ehrAccess("nurse.ann", "MRN1", at)}
	if stored, err := ingest.PublishAll(ctx, a, "http", evs); err != nil || stored != 2 {
		t.Fatalf("PublishAll stored %d: %v", stored, err)
	}
	var got []event.Event
	for _, b := range c.batches {
		got = append(got, b...)
	}
	if len(got) != n+2 || len(c.batches) < 3 {
		t.Fatalf("%d events in %d batches", len(got), len(c.batches))
	}
	for i, ev := range got {
		want, explained := ExplainCareTeam, "true"
		if i == n {
			want, explained = "none", "false" // the stranger
		}
		if ev.Value(FieldExplanation) != want || ev.Value(FieldExplained) != explained {
			t.Fatalf("event %d: explanation %q, want %q: %v", i, ev.Value(FieldExplanation), want, ev.Fields)
		}
	}
}

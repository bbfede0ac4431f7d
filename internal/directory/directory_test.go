package directory

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

func newStore(t testing.TB) (*Store, *sql.DB) {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { clock = clock.Add(time.Second); return clock })
	return s, d
}

// adt builds an ADT message: MSH with the event and control id, then the
// given segments.
func adt(t testing.TB, event, control string, segs ...string) *hl7.ADT {
	t.Helper()
	lines := append([]string{
		fmt.Sprintf("MSH|^~\\&|EPIC|GENHOSP|VIGIL|SEC|20240312084500||ADT^%s^ADT_A01|%s|P|2.5.1", event, control),
	}, segs...)
	m, err := hl7.Parse([]byte(strings.Join(lines, "\r")), hl7.Limits{})
	if err != nil {
		t.Fatalf("parse %s: %v", control, err)
	}
	a, err := hl7.ExtractADT(m, time.UTC)
	if err != nil {
		t.Fatalf("extract %s: %v", control, err)
	}
	return a
}

func apply(t testing.TB, s *Store, a *hl7.ADT) Result {
	t.Helper()
	r, err := s.ApplyADT(context.Background(), a)
	if err != nil {
		t.Fatalf("apply %s %s: %v", a.Event, a.ControlID, err)
	}
	return r
}

// dump renders every directory table, to compare states.
func dump(t testing.TB, d *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range []string{"dir_patients", "dir_identifiers", "dir_merges", "dir_encounters", "dir_care_team", "dir_workforce"} {
		rows, err := d.Query(`SELECT * FROM ` + tbl + ` ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", tbl, vals)
		}
		rows.Close()
	}
	return b.String()
}

const (
	pidDoe = "PID|1||MRN10001^^^GENHOSP^MR~999-88-7777^^^SSA^SS~E55512^^^GENHOSP^PI||DOE^JOHN^Q^JR^^^L||19610615|M|||123 MAIN ST^APT 4^SPRINGFIELD^IL^62701^USA^H||^PRN^PH^^1^217^5550101|||M||AC555444^^^GENHOSP^AN"
	nk1Doe = "NK1|1|DOE^JANE^M|SPO^Spouse^HL70063|123 MAIN ST^^SPRINGFIELD^IL^62701^USA|^PRN^PH^^1^217^5550102||EC"
)

func pv1(class, loc, attending, referring, admitTime, dischargeTime string) string {
	f := make([]string, 46)
	f[0] = "PV1"
	f[1] = "1"
	f[2] = class
	f[3] = loc
	f[7] = attending
	f[8] = referring
	f[19] = "V7000123^^^GENHOSP^VN"
	f[44] = admitTime
	f[45] = dischargeTime
	return strings.TrimRight(strings.Join(f, "|"), "|")
}

func evn(event, when string) string { return "EVN|" + event + "|" + when + "||||" + when }

const (
	house  = "D1001^HOUSE^GREGORY^^^DR^MD^^GENHOSP"
	wilson = "D2002^WILSON^JAMES^^^DR^MD^^GENHOSP"
	cuddy  = "D3003^CUDDY^LISA^^^DR^MD^^GENHOSP"
)

func TestEncounterLifecycleAndCareTeam(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)

	// Pre-admission: planned encounter.
	r := apply(t, s, adt(t, "A05", "M1", evn("A05", "20240311090000"), pidDoe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "", "")))
	if !r.Created || !r.Changed || r.EncounterID == 0 {
		t.Fatalf("A05 result %+v", r)
	}
	encs, err := s.Encounters(ctx, EncounterQuery{PatientID: r.PatientID})
	if err != nil || len(encs) != 1 || encs[0].Status != StatusPlanned {
		t.Fatalf("after A05: %+v %v", encs, err)
	}

	// Admission with the admit time.
	r = apply(t, s, adt(t, "A01", "M2", evn("A01", "20240312083000"), pidDoe, nk1Doe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "20240312083000", "")))
	if r.Created {
		t.Fatalf("A01 created a second patient: %+v", r)
	}
	// Transfer to another bed.
	apply(t, s, adt(t, "A02", "M3", evn("A02", "20240313100000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", house, wilson, "20240312083000", "")))
	// A new attending: House's membership ends at this event.
	apply(t, s, adt(t, "A08", "M4", evn("A08", "20240314120000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", cuddy, "", "", "")))
	// Discharge.
	apply(t, s, adt(t, "A03", "M5", evn("A03", "20240315160000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", cuddy, "", "", "20240315153000")))

	p, err := s.Patient(ctx, r.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "DOE, JOHN" || p.BirthDate != "19610615" || p.Sex != "M" || len(p.Identifiers) != 3 || len(p.NextOfKin) != 1 || p.AccountNumber != "AC555444" {
		t.Fatalf("patient %+v", p)
	}
	if len(p.Encounters) != 1 {
		t.Fatalf("encounters %+v", p.Encounters)
	}
	e := p.Encounters[0]
	if e.Status != StatusFinished || e.Location != "ICU^12^B^GENHOSP" || e.PriorLocation != "4WEST^401^A^GENHOSP" ||
		e.AdmitTime != time.Date(2024, 3, 12, 8, 30, 0, 0, time.UTC) || e.DischargeTime != time.Date(2024, 3, 15, 15, 30, 0, 0, time.UTC) {
		t.Fatalf("encounter %+v", e)
	}
	got := map[string]string{}
	for _, m := range e.CareTeam {
		got[m.ProviderID+"/"+m.Role] = m.Begin.Format("01-02T15") + ".." + m.End.Format("01-02T15")
	}
	want := map[string]string{
		// House and Wilson from the pre-admission (planned encounter) on;
		// House ended by the A08 naming Cuddy; Wilson stays (A08 sent no
		// referring doctor).
		"D1001/attending": "03-11T09..03-14T12",
		"D2002/referring": "03-11T09..01-01T00",
		"D3003/attending": "03-14T12..01-01T00",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("care team\n got %v\nwant %v", got, want)
	}

	check := func(user string, at time.Time, grace time.Duration, want bool) {
		t.Helper()
		ok, err := s.OnCareTeam(ctx, user, "GENHOSP|MRN10001", at, grace)
		if err != nil || ok != want {
			t.Errorf("OnCareTeam(%s, %s, grace %s) = %v, %v; want %v", user, at.Format(time.RFC3339), grace, ok, err, want)
		}
	}
	day := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 0, 0, 0, time.UTC) }
	check("D1001", day(13, 0), 0, true)
	check("D1001", day(14, 18), 0, false)           // replaced by Cuddy
	check("D1001", day(14, 18), 12*time.Hour, true) // grace after the membership ended
	check("D1001", day(10, 0), 0, false)            // before the encounter
	check("D3003", day(15, 12), 0, true)
	check("D3003", day(16, 12), 0, false)           // after discharge
	check("D3003", day(16, 12), 24*time.Hour, true) // within grace
	check("D2002", day(20, 0), 0, false)            // after discharge, no grace
	check("D2002", time.Time{}, 0, true)            // ever
	check("D9999", time.Time{}, 0, false)           // never

	// Cancel discharge reopens; a second discharge closes again.
	apply(t, s, adt(t, "A13", "M6", evn("A13", "20240315170000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", "", "", "", "")))
	encs, _ = s.Encounters(ctx, EncounterQuery{Identifier: "MRN10001"})
	if encs[0].Status != StatusInProgress || !encs[0].DischargeTime.IsZero() {
		t.Fatalf("after A13: %+v", encs[0])
	}
	check("D3003", day(20, 0), 0, true)
	// Cancel admit: the encounter no longer counts for the care team.
	apply(t, s, adt(t, "A11", "M7", evn("A11", "20240316080000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", "", "", "", "")))
	encs, _ = s.Encounters(ctx, EncounterQuery{Provider: "D3003"})
	if len(encs) != 1 || encs[0].Status != StatusCancelled {
		t.Fatalf("after A11: %+v", encs)
	}
	check("D3003", day(15, 12), 0, false)
}

func TestROLCareTeam(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	rolAdd := "ROL|1|AD|PP^Primary Care Provider^HL70443|D4004^FOREMAN^ERIC^^^DR^MD^^GENHOSP|20240312083000"
	a := adt(t, "A01", "R1", evn("A01", "20240312084000"), pidDoe, pv1("I", "4WEST", house, "", "20240312083000", ""), rolAdd)
	apply(t, s, a)
	ok, _ := s.OnCareTeam(ctx, "D4004", "MRN10001", time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC), 0)
	if !ok {
		t.Fatal("ROL member not on the care team")
	}
	rolDel := "ROL|1|DE|PP^Primary Care Provider^HL70443|D4004^FOREMAN^ERIC^^^DR^MD^^GENHOSP|20240312083000|20240313000000"
	apply(t, s, adt(t, "A08", "R2", evn("A08", "20240313010000"), pidDoe, pv1("I", "4WEST", house, "", "", ""), rolDel))
	ok, _ = s.OnCareTeam(ctx, "D4004", "MRN10001", time.Date(2024, 3, 13, 9, 0, 0, 0, time.UTC), 0)
	if ok {
		t.Fatal("deleted ROL member still on the care team")
	}
	ok, _ = s.OnCareTeam(ctx, "D4004", "MRN10001", time.Date(2024, 3, 12, 20, 0, 0, 0, time.UTC), 0)
	if !ok {
		t.Fatal("deleted ROL member lost the period they served")
	}
	encs, _ := s.Encounters(ctx, EncounterQuery{Identifier: "MRN10001"})
	var rol []CareTeamMember
	for _, m := range encs[0].CareTeam {
		if m.Source == "rol" {
			rol = append(rol, m)
		}
	}
	if len(rol) != 1 || rol[0].Role != "PP" || rol[0].End.IsZero() {
		t.Fatalf("ROL rows %+v", rol)
	}
}

func TestApplyADTIdempotent(t *testing.T) {
	s, d := newStore(t)
	msgs := []*hl7.ADT{
		adt(t, "A28", "I1", evn("A28", "20240301000000"), "PID|1||MRN20002^^^GENHOSP^MR||ROE^RICHARD||19750101|M"),
		adt(t, "A05", "I2", evn("A05", "20240311090000"), pidDoe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "", "")),
		adt(t, "A01", "I3", evn("A01", "20240312083000"), pidDoe, nk1Doe, pv1("I", "4WEST^401^A^GENHOSP", house, wilson, "20240312083000", ""),
			"ROL|1|AD|PP^Primary Care Provider^HL70443|D4004^FOREMAN^ERIC|20240312083000"),
		adt(t, "A02", "I4", evn("A02", "20240313100000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", cuddy, "", "", "")),
		adt(t, "A31", "I5", evn("A31", "20240313110000"), "PID|1||MRN20002^^^GENHOSP^MR||ROE^RICHARD^P||19750101|M|||9 ELM ST^^SPRINGFIELD^IL"),
		adt(t, "A03", "I6", evn("A03", "20240315160000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", cuddy, "", "", "20240315153000")),
		adt(t, "A13", "I7", evn("A13", "20240315170000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", "", "", "", "")),
		adt(t, "A11", "I8", evn("A11", "20240316080000"), pidDoe, pv1("I", "ICU^12^B^GENHOSP", "", "", "", "")),
		adt(t, "A40", "I9", evn("A40", "20240317080000"), "PID|1||MRN20002^^^GENHOSP^MR||ROE^RICHARD", "MRG|MRN10001^^^GENHOSP^MR"),
	}
	for _, a := range msgs {
		first := apply(t, s, a)
		if !first.Changed || first.Duplicate {
			t.Fatalf("%s %s first time: %+v", a.Event, a.ControlID, first)
		}
		before := dump(t, d)
		again := apply(t, s, a)
		if !again.Duplicate || again.Changed {
			t.Fatalf("%s %s second time: %+v", a.Event, a.ControlID, again)
		}
		if after := dump(t, d); after != before {
			t.Fatalf("%s %s applied twice changed the directory:\n%s\n---\n%s", a.Event, a.ControlID, before, after)
		}
		// The same facts under another control id change nothing either.
		resent := *a
		resent.ControlID += "-RESENT"
		r := apply(t, s, &resent)
		if r.Duplicate || r.Changed {
			t.Fatalf("%s resent with another control id: %+v", a.Event, r)
		}
		if after := dump(t, d); after != before {
			t.Fatalf("%s resent changed the directory:\n%s\n---\n%s", a.Event, before, after)
		}
	}
}

func TestA28A31NoEncounter(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	r := apply(t, s, adt(t, "A28", "P1", "PID|1||MRN30003^^^GENHOSP^MR||POE^ANNA||19900101|F", "PV1|1|N"))
	if r.EncounterID != 0 {
		t.Fatalf("A28 made an encounter: %+v", r)
	}
	r = apply(t, s, adt(t, "A31", "P2", "PID|1||MRN30003^^^GENHOSP^MR||POE^ANNA^B||19900101|F", "PD1||||||||||||Y", "PV1|1|N||||||||||||||VIP"))
	p, err := s.Patient(ctx, r.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Encounters) != 0 || p.Names[0].Middle != "B" || p.Protection != "Y" || p.VIP != "VIP" || !p.Confidential() {
		t.Fatalf("after A31: %+v", p)
	}
}

func TestA40Merge(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	// The prior record, with an encounter and a care team.
	prior := apply(t, s, adt(t, "A01", "G1", evn("A01", "20240312083000"), "PID|1||TMP123^^^GENHOSP^PI~MRN99999^^^GENHOSP^MR||DOE^JON||19610615|M",
		pv1("I", "ER", house, "", "20240312083000", "")))
	// The survivor, registered separately.
	surv := apply(t, s, adt(t, "A04", "G2", evn("A04", "20240312090000"), pidDoe))
	if prior.PatientID == surv.PatientID {
		t.Fatal("records not distinct before the merge")
	}
	if ok, _ := s.OnCareTeam(ctx, "D1001", "MRN10001", time.Time{}, 0); ok {
		t.Fatal("survivor has the prior record's care team before the merge")
	}
	r := apply(t, s, adt(t, "A40", "G3", evn("A40", "20240601080000"), "PID|1||MRN10001^^^GENHOSP^MR||DOE^JOHN||19610615|M",
		"MRG|MRN99999^^^GENHOSP^MR||ACC999||V999", "PID|1||MRN50005^^^GENHOSP^MR||NEW^PATIENT", "MRG|MRN88888^^^GENHOSP^MR"))
	if r.Merged != 1 || r.PatientID != surv.PatientID {
		t.Fatalf("merge result %+v", r)
	}
	// The prior record's identifiers and encounter now belong to the
	// survivor; the prior record remains, marked.
	p, err := s.PatientByIdentifier(ctx, "TMP123", "GENHOSP", false)
	if err != nil || p.ID != surv.PatientID {
		t.Fatalf("prior identifier finds %+v, %v", p, err)
	}
	if ok, _ := s.OnCareTeam(ctx, "D1001", "MRN99999", time.Date(2024, 3, 12, 9, 0, 0, 0, time.UTC), 0); !ok {
		t.Fatal("care team of the merged encounter not found through the prior MRN")
	}
	old, err := s.Patient(ctx, prior.PatientID)
	if err != nil || old.MergedInto != surv.PatientID || len(old.Identifiers) != 0 || len(old.Merges) != 1 {
		t.Fatalf("prior record after merge: %+v %v", old, err)
	}
	full, _ := s.Patient(ctx, surv.PatientID)
	moved := 0
	for _, id := range full.Identifiers {
		if id.MergedFrom == prior.PatientID {
			moved++
		}
	}
	if moved != 2 || len(full.Encounters) != 1 || full.Encounters[0].MergedFrom != prior.PatientID || len(full.Merges) != 1 {
		t.Fatalf("survivor after merge: %+v", full)
	}
	// The second group: an unknown prior identifier attaches to a new
	// survivor record.
	p2, err := s.PatientByIdentifier(ctx, "MRN88888", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if ids := p2.Identifiers; len(ids) != 2 || ids[0].Value != "MRN50005" {
		t.Fatalf("second group survivor %+v", p2)
	}
	// Listing hides merged records unless asked.
	list, _ := s.SearchPatients(ctx, PatientQuery{Q: "doe"})
	if len(list) != 1 || list[0].ID != surv.PatientID {
		t.Fatalf("search doe: %+v", list)
	}
	list, _ = s.SearchPatients(ctx, PatientQuery{Q: "doe", IncludeMerged: true})
	if len(list) != 2 {
		t.Fatalf("search doe with merged: %+v", list)
	}
	// Merging again changes nothing.
	before := dump(t, d)
	r = apply(t, s, adt(t, "A40", "G4", evn("A40", "20240601090000"), "PID|1||MRN10001^^^GENHOSP^MR||DOE^JOHN||19610615|M", "MRG|MRN99999^^^GENHOSP^MR"))
	if r.Merged != 0 || r.Changed || dump(t, d) != before {
		t.Fatalf("second merge changed things: %+v", r)
	}
}

func TestIdentifierConflictWarns(t *testing.T) {
	s, _ := newStore(t)
	apply(t, s, adt(t, "A28", "C1", "PID|1||MRN1^^^H^MR||A^A"))
	apply(t, s, adt(t, "A28", "C2", "PID|1||MRN2^^^H^MR||B^B"))
	r := apply(t, s, adt(t, "A31", "C3", "PID|1||MRN1^^^H^MR~MRN2^^^H^MR||A^A"))
	if len(r.Warnings) != 1 || strings.Contains(r.Warnings[0], "MRN") {
		t.Fatalf("warnings %q", r.Warnings)
	}
}

func TestApplyADTErrors(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.ApplyADT(context.Background(), nil); err == nil {
		t.Fatal("nil ADT accepted")
	}
	if _, err := s.ApplyADT(context.Background(), &hl7.ADT{Event: "A99"}); err == nil || !strings.Contains(err.Error(), "A99") {
		t.Fatalf("A99: %v", err)
	}
	if _, err := s.ApplyADT(context.Background(), &hl7.ADT{Event: "A01"}); err == nil {
		t.Fatal("ADT without identifiers accepted")
	}
}

func TestLedgerPruned(t *testing.T) {
	s, d := newStore(t)
	s.LedgerRetention = time.Nanosecond
	for i := range 300 {
		apply(t, s, adt(t, "A28", fmt.Sprintf("L%d", i), fmt.Sprintf("PID|1||MRN%d^^^H^MR||X^Y", i)))
	}
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM dir_adt_applied`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n >= 300 {
		t.Fatalf("ledger holds %d digests; pruning did not run", n)
	}
}

func BenchmarkApplyADT(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	var msgs []*hl7.ADT
	for i := range 1000 {
		msgs = append(msgs, adt(b, "A01", fmt.Sprintf("B%d", i), evn("A01", "20240312083000"),
			fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN||19610615|M", i%200),
			strings.Replace(pv1("I", "4WEST", house, wilson, "20240312083000", ""), "V7000123", fmt.Sprintf("V%d", i), 1)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := *msgs[i%len(msgs)]
		a.ControlID = fmt.Sprintf("B%d", i)
		if _, err := s.ApplyADT(ctx, &a); err != nil {
			b.Fatal(err)
		}
	}
}

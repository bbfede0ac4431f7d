package enrich

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

// The fixture hospital: a roster and a few admissions, loaded into a real
// directory (SQLite) the way the workforce import and the MLLP listener
// load them.
const roster = `employee_id,ehr_user_id,provider_id,family_name,given_name,address,city,state,postal_code,phone,department,role,manager_id,hire_date,termination_date
E100,nurse.ann,P100,Keller,Ann,12 Oak Street Apt 3,Springfield,IL,62701,217-555-0100,Cardiology,Registered Nurse,E900,2019-01-07,
E200,dr.bob,P200,Novak,Bob,9 Elm Rd,Springfield,IL,62702,(217) 555-0200,Cardiology,Physician,E900,2015-03-01,
E300,clerk.cy,,Ortiz,Cyril,77 Pine Ave,Springfield,IL,62703,217-555-0300,Billing,Billing Clerk,E901,2020-05-05,2024-03-10
E400,tech.dee,P400,Müller-Lang,Dörte,5 Birch Ln,Springfield,IL,62704,217-555-0400,Cardiology,Technician,E900,2021-06-01,
`

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

type fixture struct {
	t   testing.TB
	db  *sql.DB
	dir *directory.Store
	n   int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s, err := directory.New(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ImportWorkforce(context.Background(), strings.NewReader(roster), directory.ImportOptions{})
	if err != nil || res.ErrorTotal > 0 {
		t.Fatalf("roster: %v %+v", err, res)
	}
	f := &fixture{t: t, db: d, dir: s}
	// MRN1: a plain patient; Keller's nurse and Novak on the care team.
	f.adt("A01", "20240312080000", "PID|1||MRN1^^^GH^MR||STONE^EVE||19800101|F|||1 River Rd^^Springfield^IL^62705||^PRN^PH^^^217^5551111",
		pv1("4W^401^A^GH", "", "", "V1", "20240312080000", ""),
		"ROL|1|AD|AT^Attending^HL70443|P200^NOVAK^BOB|20240312080000",
		"ROL|2|AD|RN^Nurse^HL70443|P100^KELLER^ANN|20240312080000")
	// MRN2: Ann Keller's husband: same address, next of kin is Ann.
	f.adt("A01", "20240312090000", "PID|1||MRN2^^^GH^MR||KELLER^MAX||19790202|M|||12 Oak St.^Apt. 3^Springfield^IL^62701-4411",
		"NK1|1|KELLER^ANN|SPO^Spouse^HL70063|12 Oak St^Apt 3^Springfield^IL^62701|^PRN^PH^^^217^5550100",
		pv1("4W^402^A^GH", "P200^NOVAK^BOB", "", "V2", "20240312090000", ""))
	// MRN7: lists a namesake of Ann Keller, living elsewhere, as next of
	// kin: not her.
	f.adt("A04", "20240312095000", "PID|1||MRN7^^^GH^MR||BROWN^TOM||19500707|M|||3 Lake Rd^^Ogden^IL^61859",
		"NK1|1|KELLER^ANN|FND^Friend^HL70063|3 Lake Rd^^Ogden^IL^61859|^PRN^PH^^^217^5559999")
	// MRN8: lists Ann Keller by name only (no address, no phone): taken as her.
	f.adt("A04", "20240312095500", "PID|1||MRN8^^^GH^MR||WHITE^AL||19500808|M", "NK1|1|KELLER^ANN|PAR^Parent^HL70063")
	// MRN3: a namesake of Keller elsewhere (same family name only).
	f.adt("A04", "20240312091000", "PID|1||MRN3^^^GH^MR||KELLER^ZOE||19900303|F|||400 Far Away Blvd^^Shelbyville^IL^62565")
	// MRN4: Dörte Müller-Lang, a technician, as a patient (a co-worker).
	f.adt("A04", "20240312092000", "PID|1||MRN4^^^GH^MR||MULLER-LANG^DORTE||19850404|F|||5 Birch Lane^^Springfield^IL^62704||^PRN^PH^^^217^5550400")
	// MRN5: a VIP, Dr Novak attending.
	f.adt("A01", "20240312093000", "PID|1||MRN5^^^GH^MR||FAMOUS^FRED||19700505|M|||1 Hill Top^^Capital City^IL^62999",
		pv1("VIP^1^A^GH", "P200^NOVAK^BOB", "VIP", "V5", "20240312093000", ""))
	// MRN6: a protected record (PD1-12 = Y).
	f.adt("A04", "20240312094000", "PID|1||MRN6^^^GH^MR||QUIET^QUINN||19600606|F", "PD1||||||||||||Y")
	return f
}

func (f *fixture) adt(trigger, when string, segs ...string) {
	f.t.Helper()
	f.n++
	lines := append([]string{
		fmt.Sprintf("MSH|^~\\&|EHR|GH|VIGIL|SEC|%s||ADT^%s^ADT_A01|C%d|P|2.5.1", when, trigger, f.n),
		fmt.Sprintf("EVN|%s|%s", trigger, when),
	}, segs...)
	m, err := hl7.Parse([]byte(strings.Join(lines, "\r")), hl7.Limits{})
	if err != nil {
		f.t.Fatalf("parse: %v", err)
	}
	a, err := hl7.ExtractADT(m, time.UTC)
	if err != nil {
		f.t.Fatalf("extract: %v", err)
	}
	if _, err := f.dir.ApplyADT(context.Background(), a); err != nil {
		f.t.Fatalf("apply: %v", err)
	}
}

// pv1 builds a PV1 segment: location (PV1-3), attending (PV1-7), VIP
// indicator (PV1-16), visit number (PV1-19), admit and discharge times
// (PV1-44, PV1-45).
func pv1(loc, attending, vip, visit, admit, discharge string) string {
	f := make([]string, 46)
	f[0], f[1], f[2], f[3], f[7], f[10], f[16] = "PV1", "1", "I", loc, attending, "MED", vip
	f[19] = visit + "^^^GH^VN"
	f[44], f[45] = admit, discharge
	return strings.TrimRight(strings.Join(f, "|"), "|")
}

func newEnricher(t testing.TB, dir Directory, mod func(*Config)) *Enricher {
	t.Helper()
	cfg := Config{Directory: dir, Location: time.UTC}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func access(module, user, patient, at string) *event.Event {
	ev := &event.Event{Time: ts(at)}
	ev.Add("event.module", module)
	ev.Add("event.dataset", module+".access")
	ev.Add("user.name", user)
	ev.Add("healthcare.patient.id", patient)
	ev.Add("message", "access")
	return ev
}

// want checks fields: a value, or "-" for absent.
func want(t *testing.T, name string, ev *event.Event, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		got, ok := ev.Get(kv[i])
		if kv[i+1] == "-" {
			if ok {
				t.Errorf("%s: %s = %q, want absent", name, kv[i], got)
			}
			continue
		}
		if got != kv[i+1] {
			t.Errorf("%s: %s = %q, want %q", name, kv[i], got, kv[i+1])
		}
	}
}

func TestEnrichAccess(t *testing.T) {
	f := newFixture(t)
	e := newEnricher(t, f.dir, nil)
	ctx := context.Background()
	cases := []struct {
		name, user, patient, at string
		kv                      []string
	}{
		{"care team nurse", "nurse.ann", "MRN1", "2024-03-12T10:00:00Z", []string{
			FieldOnCareTeam, "true", FieldWorkforceEmployeeID, "E100", FieldWorkforceDepartment, "Cardiology",
			FieldWorkforceRole, "Registered Nurse", FieldWorkforceManagerID, "E900", FieldWorkforceStatus, "active",
			FieldWorkforceTerminated, "false", FieldWorkforceTermination, "-",
			FieldRelFamily, "false", FieldRelSelf, "false", FieldRelCoworker, "false", FieldRelTypes, "[]",
			FieldPatientConfidential, "false", FieldPatientFlags, "[]", FieldPatientWorkforce, "false"}},
		{"attending by login, not provider id", "DR.BOB", "MRN1", "2024-03-12T10:00:00Z", []string{FieldOnCareTeam, "true"}},
		{"before the admission", "nurse.ann", "MRN1", "2024-03-12T07:00:00Z", []string{FieldOnCareTeam, "false"}},
		{"spouse: next of kin and household", "nurse.ann", "MRN2", "2024-03-12T10:00:00Z", []string{
			FieldOnCareTeam, "false", FieldRelNextOfKin, "true", FieldRelSameAddress, "true", FieldRelSameFamilyName, "true",
			FieldRelFamily, "true", FieldRelTypes, `["next_of_kin","same_address","same_family_name"]`}},
		{"namesake only", "nurse.ann", "MRN3", "2024-03-12T10:00:00Z", []string{
			FieldRelSameFamilyName, "true", FieldRelFamily, "false", FieldRelNextOfKin, "false", FieldRelSameAddress, "false",
			FieldOnCareTeam, "false"}},
		{"next of kin is a namesake elsewhere", "nurse.ann", "MRN7", "2024-03-12T10:00:00Z", []string{
			FieldRelNextOfKin, "false", FieldRelFamily, "false"}},
		{"next of kin by name alone", "nurse.ann", "MRN8", "2024-03-12T10:00:00Z", []string{
			FieldRelNextOfKin, "true", FieldRelFamily, "true", FieldRelTypes, `["next_of_kin"]`}},
		{"co-worker as patient", "nurse.ann", "MRN4", "2024-03-12T10:00:00Z", []string{
			FieldRelCoworker, "true", FieldRelCoworkerDept, "true", FieldRelFamily, "false", FieldPatientWorkforce, "true",
			FieldPatientFlags, `["workforce"]`, FieldRelTypes, `["coworker"]`}},
		{"own record", "tech.dee", "MRN4", "2024-03-12T10:00:00Z", []string{
			FieldRelSelf, "true", FieldRelFamily, "false", FieldRelCoworker, "false", FieldRelSameAddress, "false",
			FieldRelTypes, `["self"]`}},
		{"VIP, not on the care team", "nurse.ann", "MRN5", "2024-03-12T10:00:00Z", []string{
			FieldPatientConfidential, "true", FieldPatientFlags, `["vip"]`, FieldOnCareTeam, "false"}},
		{"VIP, attending", "dr.bob", "MRN5", "2024-03-12T10:00:00Z", []string{FieldPatientConfidential, "true", FieldOnCareTeam, "true"}},
		{"protected record", "dr.bob", "MRN6", "2024-03-12T10:00:00Z", []string{FieldPatientConfidential, "true", FieldPatientFlags, `["protected"]`}},
		{"on the termination date", "clerk.cy", "MRN1", "2024-03-10T23:59:59Z", []string{
			FieldWorkforceTerminated, "false", FieldWorkforceStatus, "active", FieldWorkforceTermination, "2024-03-10"}},
		{"after the termination date", "clerk.cy", "MRN1", "2024-03-11T00:00:00Z", []string{
			FieldWorkforceTerminated, "true", FieldWorkforceStatus, "terminated"}},
		{"unknown user", "nobody", "MRN1", "2024-03-12T10:00:00Z", []string{
			FieldWorkforceEmployeeID, "-", FieldOnCareTeam, "false", FieldRelFamily, "-", FieldPatientConfidential, "false"}},
		{"unknown patient", "nurse.ann", "MRN999", "2024-03-12T10:00:00Z", []string{
			FieldWorkforceEmployeeID, "E100", FieldOnCareTeam, "-", FieldPatientConfidential, "-", FieldRelFamily, "-"}},
		{"login with domain", `GH\nurse.ann`, "MRN1", "2024-03-12T10:00:00Z", []string{FieldWorkforceEmployeeID, "E100", FieldOnCareTeam, "true"}},
	}
	for _, c := range cases {
		for _, module := range []string{"ehr", "fhir", "atna"} {
			ev := access(module, c.user, c.patient, c.at)
			e.Enrich(ctx, ev)
			want(t, c.name+" ("+module+")", ev, c.kv...)
		}
	}
}

// The department the source sent wins over the roster's.
func TestEnrichKeepsSourceDepartment(t *testing.T) {
	f := newFixture(t)
	e := newEnricher(t, f.dir, nil)
	ev := access("ehr", "nurse.ann", "MRN1", "2024-03-12T10:00:00Z")
	ev.Add(FieldWorkforceDepartment, "Emergency")
	e.Enrich(context.Background(), ev)
	want(t, "department", ev, FieldWorkforceDepartment, "Emergency", FieldWorkforceRole, "Registered Nurse")
}

func TestEnrichOtherEvents(t *testing.T) {
	f := newFixture(t)
	e := newEnricher(t, f.dir, nil)
	ctx := context.Background()
	// Not healthcare, not authentication: untouched, no lookup.
	ev := &event.Event{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{
		{Name: "event.module", Value: "syslog"}, {Name: "user.name", Value: "nurse.ann"}, {Name: "healthcare.patient.id", Value: "MRN1"},
		{Name: "message", Value: "cron ran"}}}
	before := len(ev.Fields)
	e.Enrich(ctx, ev)
	if len(ev.Fields) != before || e.Stats().WorkerLookups != 0 || e.Stats().PatientLookups != 0 {
		t.Fatalf("syslog event touched: %v %+v", ev.Fields, e.Stats())
	}
	// Windows and Linux authentication: workforce status only.
	for _, module := range []string{"windows", "syslog"} {
		ev := &event.Event{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{
			{Name: "event.module", Value: module}, {Name: "event.category", Value: "authentication"},
			{Name: "user.name", Value: "clerk.cy"}, {Name: "healthcare.patient.id", Value: "MRN1"}}}
		e.Enrich(ctx, ev)
		want(t, module, ev, FieldWorkforceTerminated, "true", FieldWorkforceEmployeeID, "E300", FieldOnCareTeam, "-",
			FieldPatientConfidential, "-", FieldOutsideHour, "-")
	}
	// Machine accounts are not looked up.
	lookups := e.Stats().WorkerLookups
	ev = &event.Event{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{
		{Name: "event.module", Value: "windows"}, {Name: "event.category", Value: "authentication"}, {Name: "user.name", Value: "EHR-APP-01$"}}}
	e.Enrich(ctx, ev)
	if e.Stats().WorkerLookups != lookups || len(ev.Fields) != 3 {
		t.Fatalf("machine account: %v", ev.Fields)
	}
	// HL7: patient flags, no user context.
	ev = &event.Event{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{
		{Name: "event.module", Value: "hl7"}, {Name: "healthcare.patient.id", Value: "MRN5"}, {Name: "healthcare.patient.id_authority", Value: "GH"},
		{Name: "user.name", Value: "nurse.ann"}}}
	e.Enrich(ctx, ev)
	want(t, "hl7", ev, FieldPatientConfidential, "true", FieldOnCareTeam, "-", FieldWorkforceEmployeeID, "-")
	// HL7 with another authority: not this patient.
	ev = &event.Event{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{
		{Name: "event.module", Value: "hl7"}, {Name: "healthcare.patient.id", Value: "MRN5"}, {Name: "healthcare.patient.id_authority", Value: "OTHER"}}}
	e.Enrich(context.Background(), ev)
	want(t, "hl7 other authority", ev, FieldPatientConfidential, "-")
}

// The care-team answer over the cached record is the directory's.
func TestCareTeamMatchesDirectory(t *testing.T) {
	f := newFixture(t)
	// A transfer changes the attending (Novak ends, Keller's colleague
	// P400 begins) and a discharge ends the stay.
	f.adt("A02", "20240313120000", "PID|1||MRN1^^^GH^MR||STONE^EVE",
		pv1("ICU^1^A^GH", "P400^MULLER-LANG^DORTE", "", "V1", "", ""))
	f.adt("A03", "20240315100000", "PID|1||MRN1^^^GH^MR||STONE^EVE",
		pv1("ICU^1^A^GH", "P400^MULLER-LANG^DORTE", "", "V1", "20240312080000", "20240315100000"))
	ctx := context.Background()
	for _, grace := range []time.Duration{time.Nanosecond, 24 * time.Hour} {
		e := newEnricher(t, f.dir, func(c *Config) { c.CareTeamGrace = grace })
		for _, user := range []string{"nurse.ann", "dr.bob", "tech.dee", "clerk.cy", "P200", "P400", "E100", "nobody"} {
			for _, patient := range []string{"MRN1", "MRN2", "MRN5"} {
				for at := ts("2024-03-12T06:00:00Z"); at.Before(ts("2024-03-17T00:00:00Z")); at = at.Add(3 * time.Hour) {
					ev := access("ehr", user, patient, at.Format(time.RFC3339))
					e.Enrich(ctx, ev)
					dirOK, err := f.dir.OnCareTeam(ctx, user, patient, at, grace)
					if err != nil {
						t.Fatal(err)
					}
					if got := ev.Value(FieldOnCareTeam); got != boolText(dirOK) {
						t.Errorf("grace %v %s %s %s: on_care_team %s, directory says %v", grace, user, patient, at, got, dirOK)
					}
				}
			}
		}
	}
}

// Caching: a second event for the same user and patient reads nothing;
// a record older than RefreshAfter is read again when the user is not on
// its care team (an admission may have arrived).
func TestEnrichCacheAndRefresh(t *testing.T) {
	f := newFixture(t)
	now := ts("2024-03-12T12:00:00Z")
	e := newEnricher(t, f.dir, func(c *Config) { c.Now = func() time.Time { return now } })
	ctx := context.Background()
	ev := access("ehr", "nurse.ann", "MRN3", "2024-03-12T10:00:00Z")
	e.Enrich(ctx, ev)
	st := e.Stats()
	if st.WorkerLookups != 1 || st.PatientLookups != 1 {
		t.Fatalf("first event: %+v", st)
	}
	for i := 0; i < 10; i++ {
		e.Enrich(ctx, access("ehr", "nurse.ann", "MRN3", "2024-03-12T10:00:00Z"))
	}
	if st2 := e.Stats(); st2.WorkerLookups != 1 || st2.PatientLookups != 1 {
		t.Fatalf("cached events read the directory: %+v", st2)
	}
	// Zoe Keller is admitted with Ann on the care team.
	f.adt("A01", "20240312110000", "PID|1||MRN3^^^GH^MR||KELLER^ZOE",
		pv1("4W^403^A^GH", "", "", "V3", "20240312110000", ""),
		"ROL|1|AD|RN^Nurse^HL70443|P100^KELLER^ANN|20240312110000")
	ev = access("ehr", "nurse.ann", "MRN3", "2024-03-12T11:30:00Z")
	e.Enrich(ctx, ev)
	want(t, "fresh cache", ev, FieldOnCareTeam, "false") // cached record, younger than RefreshAfter
	now = now.Add(3 * time.Second)
	ev = access("ehr", "nurse.ann", "MRN3", "2024-03-12T11:30:00Z")
	e.Enrich(ctx, ev)
	want(t, "refreshed", ev, FieldOnCareTeam, "true")
	// An HL7 event of the patient (the MLLP listener publishes it after
	// updating the directory) drops the cached record at once.
	f.adt("A02", "20240312113500", "PID|1||MRN3^^^GH^MR||KELLER^ZOE",
		pv1("ICU^2^A^GH", "", "", "V3", "", ""), "ROL|1|AD|RN^Nurse^HL70443|P400^MULLER-LANG^DORTE|20240312113500")
	ev = access("ehr", "tech.dee", "MRN3", "2024-03-12T11:40:00Z")
	e.Enrich(ctx, ev)
	want(t, "before the HL7 event", ev, FieldOnCareTeam, "false")
	hl7ev := &event.Event{Time: ts("2024-03-12T11:35:00Z"), Fields: []event.Field{{Name: "event.module", Value: "hl7"},
		{Name: "healthcare.patient.id", Value: "MRN3"}, {Name: "healthcare.patient.id_authority", Value: "GH"}}}
	e.Enrich(ctx, hl7ev)
	ev = access("ehr", "tech.dee", "MRN3", "2024-03-12T11:40:00Z")
	e.Enrich(ctx, ev)
	want(t, "after the HL7 event", ev, FieldOnCareTeam, "true")
	// Expiry.
	now = now.Add(2 * time.Minute)
	before := e.Stats().WorkerLookups
	e.Enrich(ctx, access("ehr", "nurse.ann", "MRN3", "2024-03-12T11:30:00Z"))
	if e.Stats().WorkerLookups != before+1 {
		t.Fatalf("expired worker not read again: %+v", e.Stats())
	}
}

func TestEnrichOutsideUsualHours(t *testing.T) {
	f := newFixture(t)
	e := newEnricher(t, f.dir, func(c *Config) { c.Baseline = BaselineConfig{MinEvents: 15, MinSpan: 12 * time.Hour} })
	ctx := context.Background()
	// Two day shifts, 08:00-17:00.
	for d := 12; d <= 13; d++ {
		for h := 8; h < 17; h++ {
			for _, m := range []int{5, 35} {
				ev := access("ehr", "nurse.ann", "MRN1", fmt.Sprintf("2024-03-%02dT%02d:%02d:00Z", d, h, m))
				e.Enrich(ctx, ev)
				if d == 12 && ev.Has(FieldOutsideHour) {
					t.Fatalf("judged while learning: %v", ev.Fields)
				}
				if d == 13 && ev.Value(FieldOutsideHour) != "false" {
					t.Fatalf("usual hour judged %q at %s", ev.Value(FieldOutsideHour), ev.Time)
				}
			}
		}
	}
	ev := access("fhir", "NURSE.ANN", "MRN1", "2024-03-14T03:10:00Z")
	e.Enrich(ctx, ev)
	want(t, "3am", ev, FieldOutsideHour, "true")
	ev = access("fhir", "nurse.ann", "MRN1", "2024-03-14T07:40:00Z") // an hour before the shift
	e.Enrich(ctx, ev)
	want(t, "7am", ev, FieldOutsideHour, "false")
	// Another user is still learning.
	ev = access("ehr", "dr.bob", "MRN1", "2024-03-14T03:10:00Z")
	e.Enrich(ctx, ev)
	want(t, "learning", ev, FieldOutsideHour, "-")
}

// A closed database: no context, no panic, the error counted and logged
// without any identifier or name.
func TestEnrichDirectoryErrorNoPHIInLogs(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnricher(t, f.dir, func(c *Config) { c.Log = log })
	ctx := context.Background()
	e.Enrich(ctx, access("ehr", "nurse.ann", "MRN2", "2024-03-12T10:00:00Z"))
	f.db.Close()
	ev := access("ehr", "dr.bob", "MRN5", "2024-03-12T10:00:00Z")
	e.Enrich(ctx, ev)
	if ev.Has(FieldOnCareTeam) || ev.Has(FieldPatientConfidential) || ev.Has(FieldWorkforceEmployeeID) {
		t.Errorf("context without a directory: %v", ev.Fields)
	}
	if e.Stats().LookupErrors == 0 {
		t.Errorf("errors not counted: %+v", e.Stats())
	}
	out := logs.String()
	if !strings.Contains(out, "directory lookup for enrichment failed") {
		t.Errorf("error not logged:\n%s", out)
	}
	for _, phi := range []string{"MRN", "KELLER", "Keller", "FAMOUS", "dr.bob", "nurse.ann", "Oak", "19790202", "5550100"} {
		if strings.Contains(out, phi) {
			t.Errorf("log contains %q:\n%s", phi, out)
		}
	}
}

// TestCareTeamInsiderSignals: the enrichment behind the rules for issue
// 10's insider pattern. A member added by an update to a stay already
// open, who opens the record minutes later, gets the age of that
// membership; one admitted with the stay does not; a care-team member the
// roster does not know is marked not_in_roster.
func TestCareTeamInsiderSignals(t *testing.T) {
	f := newFixture(t)
	added := ts("2024-03-12T10:00:00Z")
	f.dir.SetClock(func() time.Time { return added })
	stay := pv1("VIP^1^A^GH", "P200^NOVAK^BOB", "VIP", "V5", "20240312093000", "")
	f.adt("A08", "20240312100000", "PID|1||MRN5^^^GH^MR||FAMOUS^FRED", stay,
		"ROL|1|AD|CP^Consultant^HL70443|P400^MULLER-LANG^DORTE|20240312100000",
		"ROL|2|AD|CP^Consultant^HL70443|ghost^NOBODY^NEMO|20240312100000")
	e := newEnricher(t, f.dir, nil)
	ctx := context.Background()

	dee := access("ehr", "tech.dee", "MRN5", "2024-03-12T10:04:00Z")
	e.Enrich(ctx, dee)
	want(t, "added to the open stay, 4 minutes later", dee, FieldOnCareTeam, "true", FieldCareTeamAdded, "240", FieldWorkforceStatus, "active")

	bob := access("ehr", "dr.bob", "MRN5", "2024-03-12T10:04:00Z")
	e.Enrich(ctx, bob)
	want(t, "attending since the admission", bob, FieldOnCareTeam, "true", FieldCareTeamAdded, "-")

	ghost := access("fhir", "ghost", "MRN5", "2024-03-12T10:05:00Z")
	e.Enrich(ctx, ghost)
	want(t, "not in the roster", ghost, FieldOnCareTeam, "true", FieldWorkforceStatus, StatusNotInRoster, FieldCareTeamAdded, "300")

	// Stamped a second before Vigil recorded the membership (clocks
	// differ): right after it. Long before (an import of older
	// accesses, the membership dated earlier by ROL-5): no age.
	f.dir.SetClock(func() time.Time { return added.Add(time.Second) })
	f.adt("A08", "20240312100001", "PID|1||MRN5^^^GH^MR||FAMOUS^FRED", stay,
		"ROL|3|AD|CP^Consultant^HL70443|P100^KELLER^ANN|20240312080000")
	e = newEnricher(t, f.dir, nil)
	ann := access("ehr", "nurse.ann", "MRN5", "2024-03-12T10:00:00Z")
	e.Enrich(ctx, ann)
	want(t, "stamped a second before the membership was recorded", ann, FieldOnCareTeam, "true", FieldCareTeamAdded, "0")
	early := access("ehr", "nurse.ann", "MRN5", "2024-03-12T09:00:00Z")
	e.Enrich(ctx, early)
	want(t, "an hour before the membership was recorded", early, FieldOnCareTeam, "true", FieldCareTeamAdded, "-")

	// Without a roster nobody is "not in the roster".
	g := newFixture(t)
	g.db.Exec(`DELETE FROM dir_workforce`)
	e2 := newEnricher(t, g.dir, nil)
	nobody := access("ehr", "ghost", "MRN1", "2024-03-12T10:05:00Z")
	e2.Enrich(ctx, nobody)
	want(t, "empty roster", nobody, FieldWorkforceStatus, "-")
}

// TestEnrichAccessDetails: what the privacy analysis gets of an access —
// the stays with their locations, service and care team (with the
// members' departments from the roster), relationships including
// neighbours and same-phone households, and the care-team membership added
// to an open stay shortly before the access.
func TestEnrichAccessDetails(t *testing.T) {
	f := newFixture(t)
	// MRN9: lives on Ann Keller's street, at another number: a neighbour.
	f.adt("A04", "20240312095600", "PID|1||MRN9^^^GH^MR||GRAY^GUS||19600909|M|||40 Oak St^^Springfield^IL^62701")
	// MRN10: shares Ann's family name and phone (not her address): family.
	f.adt("A04", "20240312095700", "PID|1||MRN10^^^GH^MR||KELLER^OTTO||19400101|M|||8 Far Rd^^Ogden^IL^61859||^PRN^PH^^^217^5550100")
	// Dorte is added to MRN1's open stay at 11:00 by an A08.
	f.dir.SetClock(func() time.Time { return ts("2024-03-12T11:00:00Z") })
	f.adt("A08", "20240312110000", "PID|1||MRN1^^^GH^MR||STONE^EVE",
		pv1("4W^401^A^GH", "", "", "V1", "", ""),
		"ROL|1|AD|CP^Consultant^HL70443|P400^MULLER-LANG^DORTE|20240312110000")
	e := newEnricher(t, f.dir, func(c *Config) { c.Now = func() time.Time { return ts("2024-03-12T12:00:00Z") } })
	ctx := context.Background()
	var acc Access

	ev := access("ehr", "nurse.ann", "MRN1", "2024-03-12T10:00:00Z")
	ev.Add("healthcare.break_glass", "true")
	if !e.EnrichAccess(ctx, ev, &acc) {
		t.Fatal("an EHR access is an access")
	}
	if acc.User != "nurse.ann" || acc.Department != "Cardiology" || acc.Role != "Registered Nurse" || !acc.Known || acc.Terminated ||
		!acc.Found || !acc.OnCareTeam || !acc.BreakGlass || acc.Patient != "MRN1" || acc.EmployeeID != "E100" {
		t.Fatalf("access %+v", acc)
	}
	if len(acc.Encounters) != 1 {
		t.Fatalf("encounters %+v", acc.Encounters)
	}
	enc := acc.Encounters[0]
	if enc.Class != "I" || enc.Location != "4W" || enc.Service != "MED" || !enc.Admit.Equal(ts("2024-03-12T08:00:00Z")) || !enc.Active(ts("2024-03-12T10:00:00Z")) {
		t.Fatalf("encounter %+v", enc)
	}
	depts := map[string]string{}
	for _, m := range enc.Members {
		depts[m.ID] = m.Department
	}
	if depts["P200"] != "Cardiology" || depts["P100"] != "Cardiology" || depts["P400"] != "Cardiology" {
		t.Fatalf("member departments %v", depts)
	}

	// Dorte was added to the open stay at 11:00: 30 minutes later she is
	// on the care team through that addition only.
	ev = access("ehr", "tech.dee", "MRN1", "2024-03-12T11:30:00Z")
	e.EnrichAccess(ctx, ev, &acc)
	want(t, "added to the open stay", ev, FieldOnCareTeam, "true", FieldCareTeamAdded, "1800")
	ev = access("ehr", "dr.bob", "MRN1", "2024-03-12T11:30:00Z")
	e.EnrichAccess(ctx, ev, &acc)
	want(t, "on the team since the admission", ev, FieldOnCareTeam, "true", FieldCareTeamAdded, "-")

	ev = access("fhir", "nurse.ann", "MRN9", "2024-03-12T10:00:00Z")
	e.EnrichAccess(ctx, ev, &acc)
	want(t, "neighbour", ev, FieldRelNeighbour, "true", FieldRelFamily, "false", FieldRelTypes, `["neighbour"]`)
	if !acc.Rel.Neighbour || acc.Rel.Family {
		t.Fatalf("relationship %+v", acc.Rel)
	}
	ev = access("fhir", "nurse.ann", "MRN10", "2024-03-12T10:00:00Z")
	e.EnrichAccess(ctx, ev, &acc)
	want(t, "same name and phone", ev, FieldRelFamily, "true", FieldRelSamePhone, "true", FieldRelNeighbour, "false")
	// The household is not a neighbour of itself.
	ev = access("ehr", "nurse.ann", "MRN2", "2024-03-12T10:00:00Z")
	e.EnrichAccess(ctx, ev, &acc)
	want(t, "household", ev, FieldRelFamily, "true", FieldRelNeighbour, "false")

	// Not accesses: an HL7 message, a logon, an access without a user.
	for _, ev := range []*event.Event{
		{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{{Name: "event.module", Value: "hl7"}, {Name: "healthcare.patient.id", Value: "MRN1"}}},
		{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{{Name: "event.module", Value: "windows"}, {Name: "event.category", Value: "authentication"}, {Name: "user.name", Value: "nurse.ann"}}},
		{Time: ts("2024-03-12T10:00:00Z"), Fields: []event.Field{{Name: "event.module", Value: "ehr"}, {Name: "healthcare.patient.id", Value: "MRN1"}}},
	} {
		if IsAccess(ev) || e.EnrichAccess(ctx, ev, &acc) {
			t.Errorf("%v taken for an access", ev.Fields)
		}
	}
}

func TestStreetKey(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"123 Oak Street", "40 OAK ST."},
		{"12-14 N Main St Apt 3", "7 North Main Street"},
		{"5b Elm Rd #2", "9 Elm Road"},
	} {
		if ka, kb := streetKey(c.a, "", "62701"), streetKey(c.b, "", "62701-1234"); ka == "" || ka != kb {
			t.Errorf("%q and %q: %q, %q", c.a, c.b, ka, kb)
		}
	}
	if streetKey("123 Oak Street", "", "62701") == streetKey("123 Oak Street", "", "62702") {
		t.Error("another postal area is another street")
	}
	if streetKey("123", "", "62701") != "" || streetKey("", "Springfield", "") != "" {
		t.Error("no street name, no key")
	}
}

// After a transfer the directory knows when the patient moved: an access
// before it finds the patient at the prior location.
func TestEnrichLocationAtTransfer(t *testing.T) {
	f := newFixture(t)
	f.adt("A02", "20240313120000", "PID|1||MRN1^^^GH^MR||STONE^EVE",
		pv1("ICU^1^A^GH", "P400^MULLER-LANG^DORTE", "", "V1", "", ""))
	e := newEnricher(t, f.dir, nil)
	var acc Access
	for _, c := range []struct{ at, want string }{{"2024-03-13T11:00:00Z", "4W"}, {"2024-03-13T13:00:00Z", "ICU"}} {
		ev := access("ehr", "clerk.cy", "MRN1", c.at)
		if !e.EnrichAccess(context.Background(), ev, &acc) || len(acc.Encounters) != 1 {
			t.Fatalf("%s: %+v", c.at, acc)
		}
		enc := acc.Encounters[0]
		if l, other := enc.LocationAt(ts(c.at)); l != c.want || other != "" || !enc.LocationSince.Equal(ts("2024-03-13T12:00:00Z")) {
			t.Errorf("%s: at %s (%s), since %v; want %s", c.at, l, other, enc.LocationSince, c.want)
		}
	}
	// Without a transfer time both locations are possible.
	enc := Encounter{Location: "ICU", PriorLocation: "4W"}
	if a, b := enc.LocationAt(ts("2024-03-13T11:00:00Z")); a != "ICU" || b != "4W" {
		t.Errorf("unknown transfer time: %s %s", a, b)
	}
}

// TestPatientCacheUntilStaffChange: with a caller that forgets patients
// on HL7 (RefreshAfter negative) a patient's record stays cached past
// CacheTTL, until the roster's staff change: then every cached patient is
// read again, so a new employee who is a patient is known as staff.
func TestPatientCacheUntilStaffChange(t *testing.T) {
	f := newFixture(t)
	now := ts("2024-03-12T12:00:00Z")
	e := newEnricher(t, f.dir, func(c *Config) { c.Now = func() time.Time { return now }; c.RefreshAfter = -1 })
	ctx := context.Background()
	ev := access("ehr", "dr.bob", "MRN1", "2024-03-12T10:00:00Z")
	e.Enrich(ctx, ev)
	want(t, "first", ev, FieldPatientWorkforce, "false")
	now = now.Add(3 * time.Minute) // past CacheTTL (1 minute), within PatientTTL
	e.Enrich(ctx, access("ehr", "dr.bob", "MRN1", "2024-03-12T10:05:00Z"))
	if st := e.Stats(); st.PatientLookups != 1 {
		t.Fatalf("patient read again after %s though nothing changed: %+v", 3*time.Minute, st)
	}
	// Eve Stone, the patient of MRN1, joins the staff.
	res, err := f.dir.ImportWorkforce(ctx, strings.NewReader(`employee_id,ehr_user_id,provider_id,family_name,given_name,address,city,state,postal_code,phone,department,role
E500,eve.stone,P500,Stone,Eve,1 River Rd,Springfield,IL,62705,217-555-1111,Radiology,Technician
`), directory.ImportOptions{})
	if err != nil || res.ErrorTotal > 0 {
		t.Fatalf("roster: %v %+v", err, res)
	}
	ev = access("ehr", "dr.bob", "MRN1", "2024-03-12T10:06:00Z")
	e.Enrich(ctx, ev)
	want(t, "within the minute", ev, FieldPatientWorkforce, "false") // the staff index is a minute old at most
	now = now.Add(time.Minute)
	ev = access("ehr", "dr.bob", "MRN1", "2024-03-12T10:07:00Z")
	e.Enrich(ctx, ev)
	want(t, "after the staff changed", ev, FieldPatientWorkforce, "true")
	if st := e.Stats(); st.PatientLookups != 2 {
		t.Fatalf("patient lookups %+v", st)
	}
	// Without the HL7 forgetting, patients expire with CacheTTL as before.
	e2 := newEnricher(t, f.dir, func(c *Config) { c.Now = func() time.Time { return now } })
	e2.Enrich(ctx, access("ehr", "dr.bob", "MRN1", "2024-03-12T10:00:00Z"))
	now = now.Add(2 * time.Minute)
	e2.Enrich(ctx, access("ehr", "dr.bob", "MRN1", "2024-03-12T10:00:00Z"))
	if st := e2.Stats(); st.PatientLookups != 2 {
		t.Fatalf("default expiry: %+v", st)
	}
}

// forgetDuring is a directory during whose patient reads the enricher is
// told to forget the patient (an HL7 message applied meanwhile).
type forgetDuring struct {
	Directory
	e *Enricher
}

func (f *forgetDuring) PatientByIdentifier(ctx context.Context, value, authority string, anyAuthority bool) (*directory.Patient, error) {
	p, err := f.Directory.PatientByIdentifier(ctx, value, authority, anyAuthority)
	f.e.Forget(value)
	return p, err
}

// TestPatientReadDuringForgetNotKept: a record read while the patient
// was forgotten may predate the change that made the caller forget it:
// it is used once, not cached for PatientTTL.
func TestPatientReadDuringForgetNotKept(t *testing.T) {
	f := newFixture(t)
	dir := &forgetDuring{Directory: f.dir}
	e := newEnricher(t, dir, func(c *Config) { c.RefreshAfter = -1 })
	dir.e = e
	ctx := context.Background()
	for range 2 {
		e.Enrich(ctx, access("ehr", "dr.bob", "MRN1", "2024-03-12T10:00:00Z"))
	}
	if st := e.Stats(); st.PatientLookups != 2 {
		t.Fatalf("a record read during a Forget was kept: %+v", st)
	}
}

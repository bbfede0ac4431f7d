package privacy

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
)

func tm(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// stay is an inpatient stay at 4W (service MED) from 2024-03-10 08:00 to
// 2024-03-14 10:00, with an attending of Medicine and a nurse of
// Cardiology.
func stay() enrich.Encounter {
	return enrich.Encounter{Class: "I", Location: "4W", PriorLocation: "ED", Service: "MED",
		Admit: tm("2024-03-10T08:00:00Z"), Discharge: tm("2024-03-14T10:00:00Z"),
		Members: []enrich.Member{
			{ID: "P200", Role: "attending", Department: "Internal Medicine"},
			{ID: "P100", Role: "RN", Department: "Cardiology", Begin: tm("2024-03-12T07:00:00Z"), End: tm("2024-03-12T19:00:00Z")},
			{ID: "P300", Role: "consulting", Department: "Cardiology"},
		}}
}

func TestFeatures(t *testing.T) {
	grace := 24 * time.Hour
	f := func(name, at, dept string, ids []string, want, wantDirect string) {
		t.Helper()
		a := &enrich.Access{At: tm(at), Department: dept, UserIDs: ids, Encounters: []enrich.Encounter{stay()}}
		got, d := features(a, grace, nil)
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s: features %q, want %q", name, g, want)
		}
		gd := ""
		if d != nil {
			gd = d.Kind + "/" + d.Role
			if d.Later {
				gd += "/later"
			}
		}
		if gd != wantDirect {
			t.Errorf("%s: direct %q, want %q", name, gd, wantDirect)
		}
	}
	f("pharmacist during the stay, day 3", "2024-03-12T10:00:00Z", "Pharmacy", []string{"rx1"},
		"class:I enc service:MED unit:4W unit:ED", "")
	f("within six hours of the admission", "2024-03-10T09:00:00Z", "Pharmacy", []string{"rx1"},
		"admitted:24h admitted:6h class:I enc service:MED unit:4W unit:ED", "")
	f("the day before the admission", "2024-03-09T20:00:00Z", "Patient Access", []string{"reg1"},
		"preadmit:24h", "")
	f("billing two days after the discharge", "2024-03-16T10:00:00Z", "Billing", []string{"b1"},
		"discharged:14d discharged:30d discharged:3d discharged:7d", "")
	f("transport out, an hour after the discharge", "2024-03-14T11:00:00Z", "Transport", []string{"t1"},
		"discharged:14d discharged:1d discharged:2h discharged:30d discharged:3d discharged:7d", "")
	f("a month and a half after", "2024-04-25T10:00:00Z", "Billing", []string{"b1"}, "", "")
	f("attending", "2024-03-12T10:00:00Z", "Internal Medicine", []string{"dr.bob", "P200"},
		"class:I enc service:MED unit:4W unit:ED", "care_team/attending")
	f("consultant", "2024-03-12T10:00:00Z", "Cardiology", []string{"P300"},
		"class:I enc service:MED team_dept unit:4W unit:ED", "consult/consulting")
	f("nurse, within her shift", "2024-03-12T12:00:00Z", "Cardiology", []string{"P100"},
		"class:I enc service:MED team_dept unit:4W unit:ED", "care_team/rn")
	f("nurse, half an hour before her shift on the team", "2024-03-12T06:30:00Z", "Cardiology", []string{"P100"},
		"class:I enc service:MED team_dept unit:4W unit:ED", "care_team/rn/later")
	f("colleague of a team member's department", "2024-03-12T12:00:00Z", "cardiology", []string{"nurse.x"},
		"class:I enc service:MED team_dept unit:4W unit:ED", "")
	f("team member's department, a day after the discharge (grace)", "2024-03-15T09:00:00Z", "Internal Medicine", []string{"x"},
		"discharged:14d discharged:1d discharged:30d discharged:3d discharged:7d team_dept", "")
	f("no department, no team_dept", "2024-03-12T12:00:00Z", "", []string{"x"}, "class:I enc service:MED unit:4W unit:ED", "")
}

// A clinic visit is no admission: its patients are not "in
// hospital" nor "admitted within 6 h" (a unit clerk's template for
// admissions would explain opening anyone who came to a clinic), but its
// own class, unit and service stay.
func TestFeaturesVisitIsNoAdmission(t *testing.T) {
	for _, class := range []string{"O", "P", "r"} {
		e := enrich.Encounter{Class: class, Location: "CLIN", Service: "MED", Admit: tm("2024-03-10T08:00:00Z")}
		a := &enrich.Access{At: tm("2024-03-10T09:00:00Z"), Department: "Unit Clerks", UserIDs: []string{"x"}, Encounters: []enrich.Encounter{e}}
		got, _ := features(a, 24*time.Hour, nil)
		if g, want := strings.Join(got, " "), "class:"+class+" service:MED unit:CLIN"; g != want {
			t.Errorf("class %s visit: features %q, want %q", class, g, want)
		}
	}
	e := stay()
	e.Class = ""
	a := &enrich.Access{At: tm("2024-03-10T09:00:00Z"), Department: "Pharmacy", UserIDs: []string{"x"}, Encounters: []enrich.Encounter{e}}
	if got, _ := features(a, 24*time.Hour, nil); strings.Join(got, " ") != "admitted:24h admitted:6h enc service:MED unit:4W unit:ED" {
		t.Errorf("a stay of unknown class is an admission: %q", got)
	}
}

func TestRelatedWithin(t *testing.T) {
	a := &enrich.Access{At: tm("2024-03-12T04:00:00Z"), UserIDs: []string{"P100"}, Encounters: []enrich.Encounter{stay()}}
	// P100 serves 07:00-19:00 on the 12th.
	if relatedWithin(a, time.Hour, time.Hour) {
		t.Error("three hours before the shift, windows of an hour: related")
	}
	if !relatedWithin(a, time.Hour, 4*time.Hour) {
		t.Error("the membership begins within the after window: not related")
	}
	a.At = tm("2024-03-12T22:00:00Z")
	if !relatedWithin(a, 4*time.Hour, time.Hour) || relatedWithin(a, 2*time.Hour, time.Hour) {
		t.Error("before window")
	}
	a.UserIDs = []string{"nobody"}
	if relatedWithin(a, 1000*time.Hour, 1000*time.Hour) {
		t.Error("a stranger is related")
	}
}

func TestValidFeature(t *testing.T) {
	for _, f := range []string{"any", "enc", "team_dept", "unit:4W", "class:E", "service:x", "admitted:6h", "preadmit:24h", "discharged:30d"} {
		if !validFeature(f) {
			t.Errorf("%s refused", f)
		}
	}
	for _, f := range []string{"", "unit:", "admitted:5h", "discharged:2d", "nothing", "dept:x"} {
		if validFeature(f) {
			t.Errorf("%s accepted", f)
		}
	}
}

package directory

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

func clinical(t testing.TB, msg string) *hl7.Clinical {
	t.Helper()
	m, err := hl7.Parse([]byte(strings.ReplaceAll(msg, "\n", "\r")), hl7.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := hl7.ExtractClinical(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClinicalLinks: an order and its result become links of the patient
// (created from the identifiers when unknown), a retransmission adds
// nothing, the people filling a section map it to their departments, an
// A40 merge carries the links to the survivor, and retention drops them.
func TestClinicalLinks(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.ImportWorkforce(ctx, strings.NewReader("Employee ID,Epic Login,NPI,Department,Job Title\n"+
		"E1,tech1,T800,Radiology,Technologist\nE2,doc1,D100,Internal Medicine,Physician\nE3,nurse1,N5,Internal Medicine,Nurse\n"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	orm := clinical(t, "MSH|^~\\&|CPOE|GH|RIS|GH|20240310090000||ORM^O01|O1|P|2.4\n"+
		"PID|1||M9^^^GH^MR\nORC|NW|P1|||||||20240310085500|||D100^DOC\nOBR|1|P1||71020^CXR|||||||||||||||||||RAD\n")
	res, err := s.ApplyClinical(ctx, orm, Provenance{Remote: "127.0.0.1:1"})
	if err != nil || !res.Created || res.Links != 1 || res.PatientID == 0 {
		t.Fatalf("order: %+v, %v", res, err)
	}
	if again, err := s.ApplyClinical(ctx, orm, Provenance{}); err != nil || !again.Duplicate {
		t.Fatalf("retransmission: %+v, %v", again, err)
	}
	oru := clinical(t, "MSH|^~\\&|RIS|GH|EHR|GH|20240310130000||ORU^R01|R1|P|2.5\n"+
		"PID|1||M9^^^GH^MR\nOBR|1|P1||71020^CXR|||20240310100000|||||||||D100^DOC||||||20240310125500||RAD|F|||||||||T800&TECH\n"+
		"OBX|1|ST|X||1||||||F|||||N5^NURSE\n")
	if _, err := s.ApplyClinical(ctx, oru, Provenance{}); err != nil {
		t.Fatal(err)
	}
	links, err := s.Links(ctx, res.PatientID, 0)
	if err != nil || len(links) != 2 {
		t.Fatalf("links: %+v, %v", links, err)
	}
	if l := links[0]; l.Kind != hl7.KindResult || l.Section != "RAD" || !l.At.Equal(time.Date(2024, 3, 10, 12, 55, 0, 0, time.UTC)) ||
		!slices.Contains(l.People, LinkPerson{ID: "T800", Role: hl7.RoleTechnician}) {
		t.Errorf("result link: %+v", l)
	}
	if l := links[1]; l.Kind != hl7.KindOrder || l.MessageType != "ORM" || l.Service != "CXR" ||
		!slices.Equal(l.People, []LinkPerson{{ID: "D100", Role: hl7.RoleOrdering}}) {
		t.Errorf("order link: %+v", l)
	}
	secs, err := s.SectionDepartments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The technician and the ward nurse observing fill RAD once each:
	// both are departments of the section; the ordering physician is not
	// a filler.
	if got := secs["rad"]; !slices.Equal(got, []string{"Internal Medicine", "Radiology"}) {
		t.Errorf("sections: %v", secs)
	}
	// Merged into another record: the links follow.
	a40 := adt(t, "A40", "M1", "PID|1||M10^^^GH^MR", "MRG|M9^^^GH^MR")
	if _, err := s.ApplyADT(ctx, a40); err != nil {
		t.Fatal(err)
	}
	surv, err := s.PatientByIdentifier(ctx, "M10", "GH", false)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := s.Links(ctx, surv.ID, 0); err != nil || len(l) != 2 {
		t.Fatalf("survivor's links: %d, %v", len(l), err)
	}
	s.LinkRetention = time.Hour
	if err := s.PruneLinks(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Links(ctx, surv.ID, 0); err != nil || len(l) != 0 {
		t.Fatalf("after retention: %d, %v", len(l), err)
	}
	if secs, err := s.SectionDepartments(ctx); err != nil || len(secs) != 0 {
		t.Errorf("sections after retention: %v, %v", secs, err)
	}
}

// TestWorkforceNames: departments and roles by their lower case, spelt as
// most of the roster spells them.
func TestWorkforceNames(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.ImportWorkforce(ctx, strings.NewReader("Employee ID,Epic Login,Department,Job Title\n"+
		"E1,a,Patient Financial Services,Billing Specialist\nE2,b,Patient Financial Services,Billing Specialist\nE3,c,PATIENT FINANCIAL SERVICES,RN\n"), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	names, err := s.WorkforceNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names["patient financial services"] != "Patient Financial Services" || names["billing specialist"] != "Billing Specialist" || names["rn"] != "RN" {
		t.Errorf("names %v", names)
	}
}

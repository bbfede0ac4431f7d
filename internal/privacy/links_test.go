package privacy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

func applyClinical(t *testing.T, dir *directory.Store, msg string) {
	t.Helper()
	m, err := hl7.Parse([]byte(strings.ReplaceAll(msg, "\n", "\r")), hl7.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := hl7.ExtractClinical(m, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.ApplyClinical(context.Background(), c, directory.Provenance{}); err != nil {
		t.Fatal(err)
	}
}

// TestLinksExplain: an access explained only by an order (the user's
// department fills its section, learnt from a result its technologist
// performed) or by an appointment naming the user is explained, with the
// link named; without the feed, outside the window, by a department that
// does not fill the order, or on a family member's record, it is not.
func TestLinksExplain(t *testing.T) {
	ctx := context.Background()
	a, _, dir := annotator(t, 1<<20)
	if _, err := dir.ImportWorkforce(ctx, strings.NewReader(`employee_id,ehr_user_id,provider_id,family_name,given_name,department,role
E4,rad.tom,P4,Reyes,Tom,Radiology,Technologist
E5,rad.uma,P5,Stone,Uma,Radiology,Technologist
E6,bill.vic,P6,Lund,Vic,Billing,Billing Specialist
E7,clin.wes,P7,Moss,Wes,Outpatient Clinic,Physician
`), directory.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	admit(t, dir, 1, "MRN1", "20240312080000")
	at := tm("2024-03-12T10:00:00Z")
	explain := func(user, mrn string, at time.Time) Explanation {
		t.Helper()
		a.Enricher.Forget(mrn) // the HL7 event does this on its way through the pipeline
		ev := ehrAccess(user, mrn, at)
		var acc enrich.Access
		if !a.Enricher.EnrichAccess(ctx, &ev, &acc) {
			t.Fatalf("%s: not an access", user)
		}
		return a.Engine.Explain(&acc)
	}
	if x := explain("rad.uma", "MRN1", at); x.Explained {
		t.Fatalf("explained without any order feed: %+v", x)
	}
	// The technologist Tom performed an XR study on another patient: XR
	// is filled by Radiology.
	applyClinical(t, dir, "MSH|^~\\&|RIS|GH|EHR|GH|20240311120000||ORU^R01|R1|P|2.5\nPID|1||MRN2^^^GH^MR\n"+
		"OBR|1|||71020^CXR|||20240311110000"+strings.Repeat("|", 17)+"XR|F"+strings.Repeat("|", 9)+"P4&REYES\n")
	if x := explain("rad.uma", "MRN1", at); x.Explained {
		t.Fatalf("explained before the order: %+v", x)
	}
	// The physician orders a chest X-ray for MRN1 at 09:30.
	applyClinical(t, dir, "MSH|^~\\&|CPOE|GH|RIS|GH|20240312093000||ORM^O01|O1|P|2.4\nPID|1||MRN1^^^GH^MR\n"+
		"ORC|NW|PL1|||||||20240312093000|||P9^DOC\nOBR|1|PL1||71020^Chest X-ray"+strings.Repeat("|", 20)+"XR\n")
	x := explain("rad.uma", "MRN1", at)
	if !x.Explained || x.Code != ExplainOrder || x.Detail != "order: ORM to Radiology (XR: Chest X-ray), 30min before the access" {
		t.Fatalf("order: %+v", x)
	}
	if x := explain("rad.uma", "MRN1", at.Add(3*24*time.Hour)); x.Explained {
		t.Errorf("explained three days after the order: %+v", x)
	}
	if x := explain("bill.vic", "MRN1", at); x.Explained {
		t.Errorf("billing explained by a radiology order: %+v", x)
	}
	// An appointment names Wes as its resource, for a patient the ADT
	// feed never mentioned.
	applyClinical(t, dir, "MSH|^~\\&|SCHED|GH|EHR|GH|20240312080000||SIU^S12|S1|P|2.5\n"+
		"SCH|A1|F1|||||FU^Follow-up||||^^30^20240313140000\nPID|1||MRN3^^^GH^MR\nAIP|1||P7^MOSS^WES|ATT\nAIL|1||OPC^12\n")
	x = explain("clin.wes", "MRN3", at)
	if !x.Explained || x.Code != ExplainAppointment || !strings.Contains(x.Detail, "appointment: SIU naming the user as resource (OPC: Follow-up)") ||
		!strings.HasSuffix(x.Detail, "28h after the access") {
		t.Fatalf("appointment: %+v", x)
	}
	if x := explain("rad.uma", "MRN3", at); x.Explained {
		t.Errorf("radiology explained by a clinic appointment: %+v", x)
	}

	// The order message on its way through the pipeline gives the cached
	// record its links without reading the record again.
	applyClinical(t, dir, "MSH|^~\\&|CPOE|GH|RIS|GH|20240312103000||ORM^O01|O2|P|2.4\nPID|1||MRN3^^^GH^MR\n"+
		"ORC|NW|PL2|||||||20240312113000|||P9^DOC\nOBR|1|PL2||71020^Chest X-ray"+strings.Repeat("|", 20)+"XR\n")
	var msg event.Event
	msg.Add("event.module", "hl7")
	msg.Add("healthcare.patient.id", "MRN3")
	msg.Add("healthcare.hl7.message_type", "ORM")
	before := a.Enricher.Stats().PatientLookups
	a.Enricher.Applied(ctx, &msg)
	ev := ehrAccess("rad.uma", "MRN3", at.Add(2*time.Hour))
	var acc enrich.Access
	a.Enricher.EnrichAccess(ctx, &ev, &acc)
	if x := a.Engine.Explain(&acc); !x.Explained || x.Code != ExplainOrder {
		t.Errorf("order after the message passed: %+v", x)
	}
	if n := a.Enricher.Stats().PatientLookups - before; n != 0 {
		t.Errorf("the record was read %d more times", n)
	}
}

func TestLabelWith(t *testing.T) {
	names := map[string]string{"pharmacy": "Pharmacy", "pharmacist": "PharmD"}
	for group, want := range map[string]string{
		"department:pharmacy":          "department Pharmacy",
		"job:pharmacy|pharmacist":      "department Pharmacy in role PharmD",
		"role:pharmacist":              "role PharmD",
		"department:unknown to roster": "department unknown to roster",
	} {
		if got := LabelWith(group, names); got != want {
			t.Errorf("%s: got %q, want %q", group, got, want)
		}
	}
}

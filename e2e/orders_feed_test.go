package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOrdersExplainAccesses: order and result messages sent to the MLLP
// listener explain, once stored, the accesses of the department filling
// them (learnt from the result's technologist), named in the stored
// explanation; another department's access, and one outside the order's
// window, are not explained by it.
func TestOrdersExplainAccesses(t *testing.T) {
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
	work := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run("workforce", "import", write("roster.csv", "employee_id,ehr_user_id,provider_id,family_name,given_name,department,role\n"+
		"E1,rad.tom,P4,Reyes,Tom,Radiology,Technologist\nE2,rad.uma,P5,Stone,Uma,Radiology,Technologist\n"+
		"E3,bill.vic,P6,Lund,Vic,Billing,Billing Specialist\nE4,doc.dan,P9,Doe,Dan,Internal Medicine,Physician\n"))
	msgs := []string{
		"MSH|^~\\&|EPIC|GH|VIGIL|GH|20261201080000||ADT^A01^ADT_A01|A1|P|2.5.1\rEVN|A01|20261201080000\rPID|1||MRN1^^^GH^MR||STONE^EVE\r" +
			"PV1|1|I|4W^1^A^GH||||P9^DOE^DAN|||MED|||||||||V1^^^GH^VN|||||||||||||||||||||||||20261201080000",
		// A result of another patient: Tom, of Radiology, performed an XR study.
		"MSH|^~\\&|RIS|GH|VIGIL|GH|20261201090000||ORU^R01|R1|P|2.5.1\rPID|1||MRN2^^^GH^MR\r" +
			"OBR|1|||71020^CXR|||20261201083000" + strings.Repeat("|", 17) + "XR|F" + strings.Repeat("|", 9) + "P4&REYES&TOM",
		// The physician orders a chest X-ray for MRN1.
		"MSH|^~\\&|EPIC|GH|RIS|GH|20261201093000||ORM^O01|O1|P|2.5.1\rPID|1||MRN1^^^GH^MR\r" +
			"ORC|NW|PL1|||||||20261201093000|||P9^DOE^DAN\rOBR|1|PL1||71020^Chest X-ray" + strings.Repeat("|", 20) + "XR",
	}
	out, errOut, code := runVigilSplit(t, "hl7", "send", "--mllp", in.mllp, write("feed.hl7", strings.Join(msgs, "\r\n")+"\r\n"))
	if code != 0 || !strings.Contains(out, "3 messages, 3 accepted, 0 refused") {
		t.Fatalf("hl7 send: exit %d\n%s%s", code, out, errOut)
	}
	if got := in.waitFor("event.module:hl7", 3, 30*time.Second); len(got) != 3 {
		t.Fatalf("%d HL7 messages stored, want 3", len(got))
	}
	const header = "ACCESS_ID,ACCESS_INSTANT,USER_ID,USER_NAME,PAT_MRN_ID,PAT_ENC_CSN_ID,METRIC_NAME,WORKSTATION_ID,IP_ADDRESS,DEPARTMENT_NAME,USER_ROLE,BTG_FLAG,BTG_REASON\n"
	run("ehr", "import", "--preset", "epic", "--state", filepath.Join(work, "state.json"), write("access.csv", header+
		"X1,2026-12-01T10:00:00Z,rad.uma,\"STONE, UMA\",MRN1,V1,IMAGING EXAM BEGUN,WS1,10.0.0.1,Radiology,Technologist,N,\n"+
		"X2,2026-12-01T10:00:00Z,bill.vic,\"LUND, VIC\",MRN1,V1,ACCOUNT REVIEWED,WS2,10.0.0.2,Billing,Billing Specialist,N,\n"+
		"X3,2026-12-05T10:00:00Z,rad.uma,\"STONE, UMA\",MRN1,V1,IMAGING EXAM BEGUN,WS1,10.0.0.1,Radiology,Technologist,N,\n"))
	rows := in.waitFor("event.module:ehr", 3, 60*time.Second)
	got := map[string]map[string]string{}
	for _, r := range rows {
		got[r["event.id"]] = r
	}
	if len(got) != 3 {
		t.Fatalf("accesses stored: %v", rows)
	}
	if x := got["X1"]; x["healthcare.access.explained"] != "true" || x["healthcare.access.explanation"] != "order" ||
		!strings.HasPrefix(x["healthcare.access.explanation_detail"], "order: ORM to Radiology (XR: Chest X-ray), 30min before the access") {
		t.Errorf("radiology's access after the order: %v", x)
	}
	for _, id := range []string{"X2", "X3"} {
		if x := got[id]; x["healthcare.access.explanation"] == "order" || x["healthcare.access.explanation"] == "" {
			t.Errorf("access %s: %s %q", id, x["healthcare.access.explanation"], x["healthcare.access.explanation_detail"])
		}
	}
}

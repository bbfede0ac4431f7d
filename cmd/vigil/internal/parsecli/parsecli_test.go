package parsecli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	run := func(args ...string) (string, string, error) {
		cmd := Command()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), errOut.String(), err
	}
	out, errOut, err := run("--format", "hl7", "../../../../internal/formats/testdata/sample.hl7")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "message 2") || !strings.HasPrefix(out, `{"@timestamp":"2024-03-12T13:44:55Z"`) {
		t.Fatalf("hl7: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := run("--format", "hl7", "--strict", "../../../../internal/formats/testdata/sample.hl7"); err == nil {
		t.Fatal("--strict ignored a problem")
	}
	if _, _, err := run("--format", "nope", "../../../../internal/formats/testdata/sample.hl7"); err == nil || !strings.Contains(err.Error(), "fhir") {
		t.Fatalf("unknown format: %v", err)
	}
	if _, _, err := run("../../../../internal/formats/testdata/sample.hl7"); err == nil {
		t.Fatal("no format accepted")
	}
	if _, _, err := run("--format", "ehr", "../../../../internal/formats/testdata/sample.epic.csv"); err == nil {
		t.Fatal("ehr without a mapping accepted")
	}
	out, _, err = run("--format", "ehr", "--preset", "epic", "--timezone", "America/Chicago", "--keep-original", "../../../../internal/formats/testdata/sample.epic.csv")
	if err != nil || !strings.HasPrefix(out, `{"@timestamp":"2024-03-12T13:49:00Z"`) || !strings.Contains(out, `"event.original":"2024-03-12 08:49:00,GHOUSE`) {
		t.Fatalf("ehr with zone: %v\n%s", err, out)
	}
	// Columns the mapping does not read are named on standard error.
	_, errOut, err = run("--format", "ehr", "--preset", "touchworks", "../../../../internal/ehr/testdata/epic_access.csv")
	if err == nil || !strings.Contains(err.Error(), "no column for") {
		t.Fatalf("epic file with the touchworks preset: %v", err)
	}
	_, errOut, err = run("--format", "ehr", "--preset", "epic", "../../../../internal/ehr/testdata/touchworks_access.csv")
	if err == nil {
		t.Fatal("touchworks file with the epic preset accepted")
	}
	csv := t.TempDir() + "/x.csv"
	os.WriteFile(csv, []byte("ACCESS_INSTANT,USER_ID,PAT_MRN_ID,Room\n2024-03-12 10:00:00,jdoe,MRN1,12\n"), 0o600)
	out, errOut, err = run("--format", "ehr", "--preset", "epic", csv)
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, `1 column(s) not read by mapping epic: "Room"`) {
		t.Fatalf("ehr with an unmapped column: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := run("--format", "cef", "../../../../internal/formats/testdata/missing"); err == nil {
		t.Fatal("missing file accepted")
	}
}

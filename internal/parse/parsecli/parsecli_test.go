package parsecli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC)

func TestFormatsGolden(t *testing.T) {
	for _, c := range []struct {
		format, file string
		problems     int
		opt          Options
	}{
		{"fhir", "sample.fhir.json", 0, Options{}},
		{"atna", "sample.atna.xml", 0, Options{}},
		{"hl7", "sample.hl7", 1, Options{}},
		{"cef", "sample.cef", 1, Options{}},
		{"leef", "sample.leef", 1, Options{}},
		{"syslog", "sample.syslog", 1, Options{}},
		{"ndjson", "sample.ndjson", 2, Options{}},
		{"ehr", "sample.epic.csv", 1, Options{Preset: "epic"}},
	} {
		t.Run(c.format, func(t *testing.T) {
			var out bytes.Buffer
			opt := c.opt
			opt.Now = now
			problems, err := ParseFile(filepath.Join("testdata", c.file), c.format, opt, true, &out)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != c.problems {
				t.Errorf("%d problems, want %d: %v", len(problems), c.problems, problems)
			}
			got := out.String()
			for _, p := range problems {
				got += fmt.Sprintf("# %v\n", p)
			}
			golden := filepath.Join("testdata", c.file+".golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

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
	out, errOut, err := run("--format", "hl7", "testdata/sample.hl7")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "message 2") || !strings.HasPrefix(out, `{"@timestamp":"2024-03-12T13:44:55Z"`) {
		t.Fatalf("hl7: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := run("--format", "hl7", "--strict", "testdata/sample.hl7"); err == nil {
		t.Fatal("--strict ignored a problem")
	}
	if _, _, err := run("--format", "nope", "testdata/sample.hl7"); err == nil || !strings.Contains(err.Error(), "fhir") {
		t.Fatalf("unknown format: %v", err)
	}
	if _, _, err := run("testdata/sample.hl7"); err == nil {
		t.Fatal("no format accepted")
	}
	if _, _, err := run("--format", "ehr", "testdata/sample.epic.csv"); err == nil {
		t.Fatal("ehr without a mapping accepted")
	}
	out, _, err = run("--format", "ehr", "--preset", "epic", "--timezone", "America/Chicago", "--keep-original", "testdata/sample.epic.csv")
	if err != nil || !strings.HasPrefix(out, `{"@timestamp":"2024-03-12T13:49:00Z"`) || !strings.Contains(out, `"event.original":"2024-03-12 08:49:00,GHOUSE`) {
		t.Fatalf("ehr with zone: %v\n%s", err, out)
	}
	if _, _, err := run("--format", "cef", "testdata/missing"); err == nil {
		t.Fatal("missing file accepted")
	}
}

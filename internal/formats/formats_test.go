package formats

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC)

func mustLookup(t *testing.T, name string) *Format {
	t.Helper()
	f, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

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
		{"syslog", "payloads.syslog", 0, Options{}},
		{"kv", "sample.kv", 1, Options{}},
		{"ndjson", "sample.ndjson", 2, Options{}},
		{"ehr", "sample.epic.csv", 1, Options{Preset: "epic"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			var out bytes.Buffer
			opt := c.opt
			opt.Now = func() time.Time { return now }
			problems, err := ParseFile(filepath.Join("testdata", c.file), mustLookup(t, c.format), opt, true, &out)
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

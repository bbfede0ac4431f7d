package formats

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
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
		{"gelf", "sample.gelf", 2, Options{}},
		{"apache-access", "sample.apache-access", 1, Options{}},
		{"apache-error", "sample.apache-error", 0, Options{}},
		{"nginx-error", "sample.nginx-error", 0, Options{}},
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

// TestTimezoneAppliesToNXLogEventTime: the format's zone (vigil parse
// --timezone, the server's syslog.timezone) is the zone of NXLog's
// zoneless EventTime; a zoned @timestamp wins over it.
func TestTimezoneAppliesToNXLogEventTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	f, err := Lookup("ndjson")
	if err != nil {
		t.Fatal(err)
	}
	in := `{"EventTime":"2024-03-05 14:22:01","Hostname":"WS5","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security"}
{"@timestamp":"2020-05-02T02:55:56.157Z","EventTime":"2020-05-01 22:55:56","Hostname":"WS5","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security"}
{"message":"no time at all"}
`
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []string
	_, err = f.File(strings.NewReader(in), Options{Location: ny, Now: func() time.Time { return now }}, func(e *event.Event) error {
		got = append(got, e.Time.UTC().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024-03-05T19:22:01Z", "2020-05-02T02:55:56.157Z", "2026-01-01T00:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("times %v, want %v", got, want)
	}
}

// TestHealthcareOriginalsOffByDefault is issue 10's finding: whole HL7 and
// FHIR bodies (PHI beyond the parsed fields) were kept in event.original
// whenever ingest.keep_original was on, which is the default. They are
// kept only when chosen for that format.
func TestHealthcareOriginalsOffByDefault(t *testing.T) {
	for _, c := range []struct {
		format, file string
		choose       func(*Options)
	}{
		{"hl7", "sample.hl7", func(o *Options) { o.KeepOriginalHL7 = true }},
		{"fhir", "sample.fhir.json", func(o *Options) { o.KeepOriginalFHIR = true }},
	} {
		count := func(opt Options) (events, originals int) {
			opt.Now = func() time.Time { return now }
			var out bytes.Buffer
			if _, err := ParseFile(filepath.Join("testdata", c.file), mustLookup(t, c.format), opt, true, &out); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				events++
				if strings.Contains(line, `"event.original"`) {
					originals++
				}
			}
			return
		}
		if n, orig := count(Options{KeepOriginal: true}); n == 0 || orig != 0 {
			t.Errorf("%s with keep_original on: %d of %d events keep event.original, want none", c.format, orig, n)
		}
		opt := Options{}
		c.choose(&opt)
		if n, orig := count(opt); orig == 0 {
			t.Errorf("%s with its own keep_original on: %d of %d events keep event.original, want some", c.format, orig, n)
		}
	}
}

// TestSniff: a file given without a format is read as what its name or
// first line says it is: web server logs need no --format.
func TestSniff(t *testing.T) {
	dir := t.TempDir()
	f := func(name, content, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got := "-"
		if fm, ok := Sniff(p); ok {
			got = fm.Name
		}
		if got != want {
			t.Errorf("Sniff(%s) = %s, want %s", name, got, want)
		}
	}
	access := `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "-" "Mozilla/4.08"` + "\n"
	f("httpd/access_log", "\n"+access, "apache-access")
	f("nginx/access.log", access, "nginx-access")
	f("error_log", "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] client denied by server configuration: /export/home/live/ap/htdocs/test\n", "apache-error")
	f("nginx-error.log", `2016/09/01 10:23:45 [error] 1234#5678: *9 open() "/a" failed, client: 192.168.1.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"`+"\n", "nginx-error")
	f("events.log", `{"message":"x"}`+"\n", "ndjson")
	f("secure", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure\n", "-")
	f("empty", "", "-")
}

package cef

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow makes year-less timestamps reproducible.
func fixedNow() time.Time { return time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC) }

func fields(e *event.Event) string {
	var b strings.Builder
	for _, f := range e.Fields {
		b.WriteString(f.Name + "=" + f.Value + "\n")
	}
	return b.String()
}

func TestDecode(t *testing.T) {
	f := func(in string, want Record) {
		t.Helper()
		got, err := Decode([]byte(in), Options{})
		if err != nil {
			t.Fatalf("Decode(%q): %v", in, err)
		}
		got.Prefix = nil
		if g, w := strings.ReplaceAll(strings.TrimSpace(sprint(got)), "\n", "|"), strings.ReplaceAll(strings.TrimSpace(sprint(want)), "\n", "|"); g != w {
			t.Fatalf("Decode(%q):\ngot  %s\nwant %s", in, g, w)
		}
	}
	hdr := func(name string, exts ...string) Record {
		r := Record{Version: "0", DeviceVendor: "security", DeviceProduct: "threatmanager", DeviceVersion: "1.0", DeviceEventClassID: "100", Name: name, Severity: "10"}
		for i := 0; i+1 < len(exts); i += 2 {
			r.Extensions = append(r.Extensions, Extension{Key: exts[i], Value: exts[i+1]})
		}
		return r
	}
	// The specification's escaping examples.
	f(`CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a | dst=1.1.1.1`,
		hdr("detected a | in message", "src", "10.0.0.1", "act", "blocked a |", "dst", "1.1.1.1"))
	f(`CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1`,
		hdr(`detected a \ in packet`, "src", "10.0.0.1", "act", `blocked a \`, "dst", "1.1.1.1"))
	f(`CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1`,
		hdr("detected a = in message", "src", "10.0.0.1", "act", "blocked a =", "dst", "1.1.1.1"))
	f(`CEF:0|security|threatmanager|1.0|100|n|10|msg=a\nb\rc fname=x\y`,
		hdr("n", "msg", "a\nb\rc", "fname", `x\y`))
	// Spaces: values with spaces, runs of spaces, empty values, trailing newline.
	f("CEF:0|security|threatmanager|1.0|100|n|10|  a=one two   b= c=3  \r\n",
		hdr("n", "a", "one two", "b", "", "c", "3"))
	// '=' after a token that is not a key stays in the value.
	f(`CEF:0|security|threatmanager|1.0|100|n|10|request=http://x/?q=1&r=2 spt=1`,
		hdr("n", "request", "http://x/?q=1&r=2", "spt", "1"))
	// Empty extension, missing final pipe.
	f(`CEF:0|security|threatmanager|1.0|100|n|10|`, hdr("n"))
	f(`CEF:0|security|threatmanager|1.0|100|n|10`, hdr("n"))
}

func sprint(r Record) string {
	var b strings.Builder
	b.WriteString(strings.Join([]string{r.Version, r.DeviceVendor, r.DeviceProduct, r.DeviceVersion, r.DeviceEventClassID, r.Name, r.Severity}, "|"))
	for _, x := range r.Extensions {
		b.WriteString("\n" + x.Key + "=" + x.Value)
	}
	return b.String()
}

func TestParseFields(t *testing.T) {
	var e event.Event
	in := `<134>Sep 19 08:26:10 host1 CEF:0|Vendor|Prod|1.2|4625|Login failed|Very-High|rt=1726734370123 suser=jdoe src=10.0.0.1 spt=5555 cs1Label=Rule Name cs1=Brute force cs3=x outcome=Failed proto=TCP`
	if err := Parse(&e, []byte(in), Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	want := `event.module=cef
cef.version=0
observer.vendor=Vendor
observer.product=Prod
observer.version=1.2
event.code=4625
cef.name=Login failed
event.severity=10
log.syslog.priority=134
host.name=host1
source.user.name=jdoe
source.ip=10.0.0.1
source.port=5555
cef.custom.Rule_Name=Brute force
cef.extensions.deviceCustomString3=x
event.outcome=failure
network.transport=tcp
`
	if got := fields(&e); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if w := time.UnixMilli(1726734370123).UTC(); !e.Time.Equal(w) {
		t.Fatalf("time: got %v, want %v", e.Time, w)
	}
	// Without rt the syslog header's time is used.
	e = event.Event{}
	if err := Parse(&e, []byte(`Sep 19 08:26:10 host CEF:0|V|P|1|c|n|1|src=10.0.0.1`), Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if w := time.Date(2024, 9, 19, 8, 26, 10, 0, time.UTC); !e.Time.Equal(w) {
		t.Fatalf("header time: got %v, want %v", e.Time, w)
	}
}

func TestParseTime(t *testing.T) {
	f := func(in string, want string) {
		t.Helper()
		got, err := ParseTime(in, time.UTC, fixedNow)
		if err != nil {
			if want != "" {
				t.Fatalf("ParseTime(%q): %v", in, err)
			}
			return
		}
		if g := got.UTC().Format(time.RFC3339Nano); g != want {
			t.Fatalf("ParseTime(%q): got %s, want %s", in, g, want)
		}
	}
	f("1398105379000", "2014-04-21T18:36:19Z")
	f("1398105379", "2014-04-21T18:36:19Z")
	f("Sep 19 2024 08:26:10.123 UTC", "2024-09-19T08:26:10.123Z")
	f("Sep 19 2024 08:26:10 PST", "2024-09-19T16:26:10Z")
	f("Sep 19 2024 08:26:10 GMT+02:00", "2024-09-19T06:26:10Z")
	f("Sep 19 08:26:10", "2024-09-19T08:26:10Z")
	f("Dec 31 23:59:59", "2023-12-31T23:59:59Z") // would be in the future this year
	f("2024-09-19T08:26:10.5+02:00", "2024-09-19T06:26:10.5Z")
	f("Sep 19 2024 08:26:10 XYZ", "") // unknown zones are refused, not read as UTC
	f("yesterday", "")
}

func TestParseErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		e := event.Event{Fields: []event.Field{{Name: "keep", Value: "me"}}}
		err := Parse(&e, []byte(in), Options{MaxExtensions: 3})
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q): got error %v, want *Error", in, err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("Parse(%q):\ngot  %s\nwant %s", in, got, want)
		}
		if len(e.Fields) != 1 {
			t.Fatalf("event changed on error: %v", e.Fields)
		}
	}
	f(`LEEF:1.0|a|b|c|d|`, `cef: at byte 0: no "CEF:" marker`)
	f(`CEF:0|a|b|c`, `cef: at byte 11: header has 3 of 7 '|'-separated fields (version, vendor, product, version, class id, name, severity)`)
	f(`CEF:x|a|b|c|d|e|f|`, `cef: at byte 4: version "x" is not a number`)
	f(`CEF:0|a|b|c|d|e|f|not a pair`, `cef: at byte 18: extension does not start with key=value: "not a pair"`)
	f(`CEF:0|a|b|c|d|e|f|a=1 b=2 c=3 d=4`, `cef: key "d" at byte 30: more than 3 extension pairs`)
	long := "CEF:0|a|b|c|d|e|f|msg=" + strings.Repeat("x", DefaultMaxInput)
	f(long, `cef: at byte 65536: record of 65558 bytes exceeds the limit of 65536`)
}

func TestIndex(t *testing.T) {
	for in, want := range map[string]int{"CEF:0|": 0, "host CEF:0|": 5, "xCEF:0 CEF:1": 7, "none": -1} {
		if got := Index([]byte(in)); got != want {
			t.Errorf("Index(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "samples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := NewParser(Options{Now: fixedNow})
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var e event.Event
		if err := p.Append(&e, []byte(line)); err != nil {
			out.WriteString("error: " + err.Error() + "\n")
			continue
		}
		out.Write(event.AppendJSON(nil, &e))
		out.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "samples.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Fatalf("golden mismatch (run with -update after checking):\ngot\n%s\nwant\n%s", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"CEF:0|a|b|c|d|e|f|a=1 b=x y", `CEF:0|a\|b|c|d|e|f|g|k=\=\\\n`, "CEF:0|a|b|c|d|e|f", "x CEF:1|||||||"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e event.Event
		err := Parse(&e, data, Options{Now: fixedNow})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(data) {
				t.Fatalf("bad error %v", err)
			}
			if len(e.Fields) != 0 {
				t.Fatalf("fields left on error")
			}
			return
		}
		if len(e.Fields) > DefaultMaxExtensions+16 {
			t.Fatalf("%d fields", len(e.Fields))
		}
	})
}

var benchLine = []byte(`<134>Sep 19 08:26:10 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.2|TRAFFIC|end|3|rt=Sep 19 2024 08:26:10 UTC deviceExternalId=0123456789 src=10.1.20.15 dst=93.184.216.34 sourceTranslatedAddress=203.0.113.7 spt=53412 dpt=443 proto=TCP act=allow suser=corp\\jdoe app=ssl cs1Label=Rule cs1=allow-web cs2Label=Source Zone cs2=trust cs3Label=Destination Zone cs3=untrust in=1520 out=48210 cat=end msg=session ended normally`)

func BenchmarkParseCEF(b *testing.B) {
	p := NewParser(Options{})
	var e event.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		e.Reset()
		if err := p.Append(&e, benchLine); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestParseTimeSpacing(t *testing.T) {
	got, err := ParseTime("Sep  9 08:26:10", time.UTC, fixedNow)
	if err != nil || got.Day() != 9 {
		t.Fatalf("got %v, %v; want day 9", got, err)
	}
}

package leef

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

func fixedNow() time.Time { return time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC) }

func TestDecode(t *testing.T) {
	f := func(in string, wantDelim rune, want string) {
		t.Helper()
		r, err := Decode([]byte(in), Options{})
		if err != nil {
			t.Fatalf("Decode(%q): %v", in, err)
		}
		var got []string
		for _, a := range r.Attributes {
			got = append(got, a.Key+"="+a.Value)
		}
		if g := strings.Join(got, "|"); g != want || r.Delimiter != wantDelim {
			t.Fatalf("Decode(%q):\ngot  %q %q\nwant %q %q", in, r.Delimiter, g, wantDelim, want)
		}
	}
	f("LEEF:1.0|V|P|1|E|a=1\tb=x y\t\tc=", '\t', "a=1|b=x y|c=")
	f("LEEF:2.0|V|P|1|E|^|a=1^b=2", '^', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|x5E|a=1^b=2", '^', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|0x09|a=1\tb=2", '\t', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|X7c|a=1|b=2", '|', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|||a=1|b=2", '|', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E||a=1\tb=2", '\t', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|a=1\tb=2", '\t', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|§|a=1§b=2", '§', "a=1|b=2")
	f("LEEF:2.0|V|P|1|E|^|msg=a^b^c=1", '^', "msg=a^b|c=1")
	f("LEEF:2.0|V|P|1|E|^|url=http://x/?a=b^c=1\r\n", '^', "url=http://x/?a=b|c=1")
	f("LEEF:1.0|V|P|1|E|a=one two b=3", '\t', "a=one two|b=3")
	f("LEEF:1.0|V|P|1|E|only=one value", '\t', "only=one value")
	f("LEEF:1.0|V|P|1|E|", '\t', "")
}

func TestDecodeOptionDelimiter(t *testing.T) {
	r, err := Decode([]byte("LEEF:1.0|V|P|1|E|a=1;b=2"), Options{Delimiter: ';'})
	if err != nil || len(r.Attributes) != 2 || r.Attributes[1].Value != "2" {
		t.Fatalf("got %+v, %v", r.Attributes, err)
	}
}

func TestParseErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		e := event.Event{Fields: []event.Field{{Name: "keep", Value: "me"}}}
		err := Parse(&e, []byte(in), Options{MaxAttributes: 2})
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q): got %v, want *Error", in, err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("Parse(%q):\ngot  %s\nwant %s", in, got, want)
		}
		if len(e.Fields) != 1 {
			t.Fatalf("event changed on error")
		}
	}
	f("CEF:0|a|b|c|d|e|f|", `leef: at byte 0: no "LEEF:" marker`)
	f("LEEF:1.0|V|P", `leef: at byte 12: header has 2 of 5 '|'-separated fields (version, vendor, product, version, event id)`)
	f("LEEF:3.0|V|P|1|E|a=1", `leef: at byte 5: unsupported version "3.0" (want 1.0 or 2.0)`)
	f("LEEF:2.0|V|P|1|E|xZZ|a=1", `leef: at byte 17: delimiter "xZZ" is not a usable hex code`)
	f("LEEF:2.0|V|P|1|E|ab|a=1", `leef: at byte 17: delimiter "ab" is neither one character nor a hex code like x09`)
	f("LEEF:2.0|V|P|1|E|x12345|a=1", `leef: at byte 17: delimiter "x12345": want 1-4 hex digits`)
	f("LEEF:2.0|V|P|1|E|^|junk^a=1", `leef: at byte 19: attribute "junk" is not key=value`)
	f("LEEF:2.0|V|P|1|E|^|a=1^b=2^c=3", `leef: key "c" at byte 27: more than 2 attributes`)
}

func TestJavaLayout(t *testing.T) {
	f := func(pattern, value, want string) {
		t.Helper()
		l := convertJavaLayout(pattern)
		if l.err != nil {
			if want != "" {
				t.Fatalf("convert(%q): %v", pattern, l.err)
			}
			return
		}
		got, err := l.parse(value, time.UTC, fixedNow)
		if err != nil {
			if want != "" {
				t.Fatalf("parse(%q, %q): %v", pattern, value, err)
			}
			return
		}
		if g := got.UTC().Format(time.RFC3339Nano); g != want {
			t.Fatalf("parse(%q, %q): got %s, want %s", pattern, value, g, want)
		}
	}
	f("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2017-10-18T11:26:03.060+0200", "2017-10-18T09:26:03.06Z")
	f("MMM dd yyyy HH:mm:ss z", "Apr 13 2015 06:52:00 GMT+00:00", "2015-04-13T06:52:00Z")
	f("MMM dd yyyy HH:mm:ss z", "Apr 13 2015 06:52:00 PDT", "2015-04-13T13:52:00Z")
	f("dd/MM/yy hh:mm:ss a", "13/04/15 06:52:00 PM", "2015-04-13T18:52:00Z")
	f("EEE, d MMM yyyy HH:mm:ss XXX", "Mon, 13 Apr 2015 06:52:00 -07:00", "2015-04-13T13:52:00Z")
	f("MMM dd HH:mm:ss", "Sep 19 08:26:10", "2024-09-19T08:26:10Z")
	f("yyyy.MM.dd 'at' HH:mm:ss", "2015.04.13 at 06:52:00", "2015-04-13T06:52:00Z")
	f("HHmmssSSS", "065200123", "")              // S without '.' refused
	f("kk:mm", "24:00", "")                      // k refused
	f("yyyy-MM-dd 'open", "2015-04-13 open", "") // unterminated quote
	f("MMM dd yyyy HH:mm:ss z", "Apr 13 2015 06:52:00 XYZ", "")
}

func TestParseTime(t *testing.T) {
	var e event.Event
	in := "LEEF:2.0|V|P|1|E|^|devTime=Apr 13 2015 06:52:00 GMT+02:00^devTimeFormat=MMM dd yyyy HH:mm:ss z^src=10.0.0.1"
	if err := Parse(&e, []byte(in), Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	if w := time.Date(2015, 4, 13, 4, 52, 0, 0, time.UTC); !e.Time.Equal(w) {
		t.Fatalf("time: got %v, want %v", e.Time, w)
	}
	if e.Has("leef.attributes.devTimeFormat") || e.Has("leef.attributes.devTime") {
		t.Fatalf("consumed devTime fields kept: %v", e.Fields)
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
		line = strings.ReplaceAll(line, "<TAB>", "\t")
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
	for _, s := range []string{"LEEF:1.0|V|P|1|E|a=1\tb=2", "LEEF:2.0|V|P|1|E|x5E|a=1^b=2", "LEEF:2.0|V|P|1|E|||a|b=", "LEEF:1.0|a|b|c|d|devTimeFormat=yyyy'\tdevTime=x"} {
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
		if len(e.Fields) > DefaultMaxAttributes+16 {
			t.Fatalf("%d fields", len(e.Fields))
		}
	})
}

var benchLine = []byte("<13>Jan 18 11:07:53 qr01 LEEF:2.0|Lancope|StealthWatch|6.5|41|^|devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ^devTime=2017-10-18T11:26:03.060+0200^src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^proto=tcp^usrName=joe.black^cat=anomaly^srcBytes=1520^dstBytes=48210^policy=allow-web^identHostName=ws-042^url=https://ehr.example.org/chart/123")

func BenchmarkParseLEEF(b *testing.B) {
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

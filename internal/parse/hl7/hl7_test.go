package hl7

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var fixedNow = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// golden renders what the package makes of one sample: the event, the
// ADT extraction (or its error) and the AA acknowledgement.
func golden(t *testing.T, data []byte) []byte {
	t.Helper()
	m, err := Parse(data, Limits{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var out bytes.Buffer
	var e event.Event
	MapEvent(&e, m, EventOptions{Now: fixedNow})
	e.SortFields()
	out.WriteString("# event\n")
	out.Write(event.AppendJSON(nil, &e))
	out.WriteString("\n# adt\n")
	if m.Type == "ADT" {
		a, err := ExtractADT(m, nil)
		if err != nil {
			out.WriteString("error: " + err.Error())
		} else {
			b, _ := json.MarshalIndent(a, "", "  ")
			out.Write(b)
		}
	} else {
		out.WriteString("not ADT")
	}
	if _, ok := ClinicalTypes[m.Type]; ok {
		out.WriteString("\n# clinical\n")
		c, err := ExtractClinical(m, nil)
		if err != nil {
			out.WriteString("error: " + err.Error())
		} else {
			b, _ := json.MarshalIndent(c, "", "  ")
			out.Write(b)
		}
	}
	out.WriteString("\n# ack\n")
	ack := BuildACK(m, AckOptions{Code: AA, Time: fixedNow})
	out.WriteString(strings.ReplaceAll(string(ack), "\r", "\n"))
	return out.Bytes()
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hl7")
	if len(files) < 12 {
		t.Fatalf("found %d samples, want at least 12", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := golden(t, data)
			gf := strings.TrimSuffix(f, ".hl7") + ".golden"
			if *update {
				if err := os.WriteFile(gf, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDelimitersAndAccess(t *testing.T) {
	m, err := Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|X1|P|2.5\rPID|1||a1^^^AUTH^MR~a2&x&y^^^AUTH2^PI||N\\F\\\\S\\ame^Given"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pid := m.Segment("PID")
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(m.Type+"/"+m.Trigger+"/"+m.Structure+"/"+m.ControlID+"/"+m.Version, "ADT/A01/ADT_A01/X1/2.5")
	f(pid.Get(3, 2, 1, 1), "a2")
	f(pid.Get(3, 2, 1, 2), "x")
	f(pid.Get(3, 2, 4, 1), "AUTH2")
	f(pid.Get(3, 3, 1, 1), "")
	f(pid.Get(5, 1, 1, 1), "N|^ame")
	f(pid.Get(5, 1, 2, 1), "Given")
	f(m.Segment("MSH").Get(1, 1, 1, 1), "|")
	f(m.Segment("MSH").Get(2, 1, 1, 1), "^~\\&")
	f(pid.Get(99, 1, 1, 1), "")
	if m.Segment("ZZZ") != nil {
		t.Error("got a ZZZ segment, want nil")
	}
}

func TestUnescape(t *testing.T) {
	d := DefaultDelimiters
	d.Truncation = '#'
	f := func(in, want string) {
		t.Helper()
		if got := d.Unescape(in); got != want {
			t.Errorf("Unescape(%q): got %q, want %q", in, got, want)
		}
	}
	f(`a\F\b`, "a|b")
	f(`\S\\R\\T\\E\\P\`, "^~&\\#")
	f(`\X4142\`, "AB")
	f(`\X414\`, `\X414\`)
	f(`line\.br\two`, "line\ntwo")
	f(`\H\bold\N\`, "bold")
	f(`\Zcustom\`, `\Zcustom\`)
	f(`\C2842\x`, "x")
	f(`trailing\`, `trailing\`)
	f(`\.sp3\x`, "x")
	// EscapeText is the inverse for text.
	for _, s := range []string{"a|b^c~d\\e&f#g", "two\nlines", "plain"} {
		if got := d.Unescape(d.EscapeText(s)); got != s {
			t.Errorf("round trip %q: got %q", s, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	f := func(name, in string, wantSeg string, wantField, wantCode int, wantMsg string) {
		t.Helper()
		_, err := Parse([]byte(in), Limits{MaxBytes: 200, MaxSegments: 3})
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrParse) {
			t.Fatalf("%s: got %v, want a *ParseError", name, err)
		}
		if pe.Segment != wantSeg || pe.Field != wantField || pe.Code != wantCode || !strings.Contains(pe.Error(), wantMsg) {
			t.Errorf("%s: got %s/%d/%d %q, want %s/%d/%d containing %q", name, pe.Segment, pe.Field, pe.Code, pe.Error(), wantSeg, wantField, wantCode, wantMsg)
		}
	}
	f("empty", "", "MSH", 0, 100, "does not begin with an MSH")
	f("not hl7", "hello world, this is not hl7", "MSH", 0, 100, "does not begin with an MSH")
	f("alnum separator", "MSHA^~\\&A", "MSH", 1, 102, "invalid field separator")
	f("no enc end", "MSH|^~\\&", "MSH", 2, 102, "encoding characters")
	f("dup delimiter", "MSH|^^\\&|A", "MSH", 2, 102, "repeat a delimiter")
	f("too large", "MSH|^~\\&|"+strings.Repeat("x", 300), "", 0, 207, "exceeds the limit")
	f("no type", "MSH|^~\\&|A|B|C|D|2024||", "MSH", 9, 101, "MSH-9")
	f("no control id", "MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5", "MSH", 10, 101, "MSH-10")
	f("no version", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|", "MSH", 12, 101, "MSH-12")
	f("old version", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.1", "MSH", 12, 203, "not supported")
	f("bad segment name", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rP!D|1", "", 0, 100, "invalid segment name")
	f("name without separator", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPIDX|1", "PID", 0, 100, "not the field separator")
	f("too many segments", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rEVN|\rPID|\rPV1|", "", 0, 207, "more than 3 segments")
}

func TestLineEndingsAndBOM(t *testing.T) {
	for _, sep := range []string{"\r", "\n", "\r\n"} {
		in := "\xef\xbb\xbf\nMSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5" + sep + "PID|1||X" + sep
		m, err := Parse([]byte(in), Limits{})
		if err != nil {
			t.Fatalf("sep %q: %v", sep, err)
		}
		if len(m.Segments) != 2 || m.Segment("PID").Get(3, 1, 1, 1) != "X" {
			t.Errorf("sep %q: got %d segments", sep, len(m.Segments))
		}
	}
}

func TestParseTime(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got, err := ParseTime(in, nil)
		s := ""
		if err != nil {
			s = "error"
		} else {
			s = got.Format(time.RFC3339Nano)
		}
		if s != want {
			t.Errorf("ParseTime(%q): got %s (%v), want %s", in, s, err, want)
		}
	}
	f("2024", "2024-01-01T00:00:00Z")
	f("202403", "2024-03-01T00:00:00Z")
	f("20240312", "2024-03-12T00:00:00Z")
	f("2024031208", "2024-03-12T08:00:00Z")
	f("202403120845", "2024-03-12T08:45:00Z")
	f("20240312084512.1234", "2024-03-12T08:45:12.1234Z")
	f("20240312084512-0500", "2024-03-12T08:45:12-05:00")
	f("202403120845+0130", "2024-03-12T08:45:00+01:30")
	f("20240230", "error")
	f("2024031", "error")
	f("20241312", "error")
	f("2024031208451.5", "error")
	f("20240312084512-05", "error")
	f("abc", "error")
	f("", "error")
}

func TestACKErrors(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	f := func(name, in string, o AckOptions, want string) {
		t.Helper()
		m, _ := Parse([]byte(in), Limits{})
		got := strings.ReplaceAll(string(BuildACK(m, o)), "\r", "\n")
		if got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
		}
	}
	f("AE v2.5 with ERR-2/3/4/8", "MSH|^~\\&|SND|SF|RCV|RF|2024||ADT^A01|C1|P|2.5\rPID|1",
		AckOptions{Code: AE, Time: now, Text: "PID-3 is empty", ErrorCode: 101, Segment: "PID", SegIndex: 2, Field: 3},
		"MSH|^~\\&|RCV|RF|SND|SF|20240506070809+0000||ACK^A01^ACK|ACKC1|P|2.5\nMSA|AE|C1|PID-3 is empty\nERR||PID^2^3|101^Required field missing^HL70357|E||||PID-3 is empty\n")
	f("AR v2.3 with ERR-1", "MSH|^~\\&|SND|SF|RCV|RF|2024||ADT^A01|C1|T|2.3",
		AckOptions{Code: AR, Time: now, Text: "unsupported", ErrorCode: 200},
		"MSH|^~\\&|RCV|RF|SND|SF|20240506070809+0000||ACK^A01^ACK|ACKC1|T|2.3\nMSA|AR|C1|unsupported\nERR|^^^200&Unsupported message type&HL70357\n")
	f("AE v2.8 no MSA-3", "MSH|^~\\&|SND|SF|RCV|RF|2024||ORU^R01|C9|P|2.8",
		AckOptions{Code: AE, Time: now, Text: "bad | text", ControlID: "K1"},
		"MSH|^~\\&|RCV|RF|SND|SF|20240506070809+0000||ACK^R01^ACK|K1|P|2.8\nMSA|AE|C9\nERR|||207^Application internal error^HL70357|E||||bad \\F\\ text\n")
}

func TestAckFor(t *testing.T) {
	_, err := Parse([]byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5"), Limits{})
	o := AckFor(err)
	if o.Code != AR || o.ErrorCode != 101 || o.Segment != "MSH" || o.Field != 10 {
		t.Errorf("got %+v, want AR 101 at MSH-10", o)
	}
	if AckFor(nil).Code != AA {
		t.Error("AckFor(nil) is not AA")
	}
	m, _ := Parse([]byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1"), Limits{})
	_, err = ExtractADT(m, nil)
	if o := AckFor(err); o.Code != AE || o.Segment != "PID" || o.Field != 3 || o.ErrorCode != 101 {
		t.Errorf("got %+v, want AE 101 at PID-3", o)
	}
}

func TestRejectUnparsable(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	data := []byte("MSH|^~\\&|SND|SF|RCV|RF|2024||ADT^A01|C7|P|9.9\rPID|1")
	_, err := Parse(data, Limits{})
	got := strings.ReplaceAll(string(BuildRejectForUnparsable(data, err, now)), "\r", "\n")
	want := "MSH|^~\\&|RCV|RF|SND|SF|20240506070809+0000||ACK^A01^ACK|ACKC7|P|9.9\nMSA|AR|C7\nERR||MSH^1^12|203^Unsupported version id^HL70357|E||||version \"9.9\" is not supported (2.3 to 2.8)\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Garbage: still a well-formed AR.
	got = string(BuildRejectForUnparsable([]byte("garbage"), errors.New("x"), now))
	if !strings.HasPrefix(got, "MSH|^~\\&|") || !strings.Contains(got, "\rMSA|AR|") {
		t.Errorf("got %q", got)
	}
}

func TestExtractADTErrors(t *testing.T) {
	f := func(name, in, want string) {
		t.Helper()
		m, err := Parse([]byte(in), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = ExtractADT(m, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
	}
	h := "MSH|^~\\&|A|B|C|D|2024||"
	f("not adt", h+"ORU^R01|1|P|2.5\rPID|1||X", "is not ADT")
	f("unsupported event", h+"ADT^A99|1|P|2.5\rPID|1||X", `ADT event "A99" is not supported`)
	f("no pid", h+"ADT^A01|1|P|2.5\rEVN|A01", "no PID segment")
	f("bad time", h+"ADT^A01|1|P|2.5\rPID|1||X\rPV1|1|I|||||||||||||||||||||||||||||||||||||||||||notatime", "PV1-45")
	f("bad birth date", h+"ADT^A01|1|P|2.5\rPID|1||X||N||1961-06-15", "PID-7")
	f("a40 without mrg", h+"ADT^A40|1|P|2.5\rPID|1||X", "no MRG")
	f("mrg empty", h+"ADT^A40|1|P|2.5\rPID|1||X\rMRG|", "MRG-1")
}

func TestKeepOriginal(t *testing.T) {
	m, _ := Parse([]byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1||X||SECRET^NAME"), Limits{})
	var e event.Event
	MapEvent(&e, m, EventOptions{Now: fixedNow})
	if e.Has(event.FieldOriginal) || strings.Contains(e.Value("message"), "SECRET") {
		t.Fatalf("PHI leaked without KeepOriginal: %+v", e.Fields)
	}
	MapEvent(&e, m, EventOptions{Now: fixedNow, KeepOriginal: true})
	if !strings.Contains(e.Value(event.FieldOriginal), "SECRET") {
		t.Fatalf("event.original missing with KeepOriginal")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hl7")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, Limits{MaxBytes: 1 << 16})
		if m == nil {
			if err == nil {
				t.Fatal("nil message without error")
			}
			_ = BuildRejectForUnparsable(data, err, fixedNow)
			return
		}
		var e event.Event
		MapEvent(&e, m, EventOptions{Now: fixedNow})
		if strings.Contains(e.Value("message"), "\r") {
			t.Fatalf("message holds a segment separator: %q", e.Value("message"))
		}
		_, _ = ExtractADT(m, nil)
		if c, err := ExtractClinical(m, nil); err == nil {
			if len(c.Items) == 0 || len(c.Items) > MaxClinicalItems || len(c.Patient) == 0 {
				t.Fatalf("clinical message without items or patient, or over the bound: %d items", len(c.Items))
			}
			for _, it := range c.Items {
				if len(it.People) > MaxClinicalPeople {
					t.Fatalf("item with %d people", len(it.People))
				}
			}
			c.ClampFuture(fixedNow, time.Minute)
		}
		ack := BuildACK(m, AckFor(err))
		if _, err := Parse(ack, Limits{}); err != nil && m.Version != "" && SupportedVersion(m.Version) && m.Delims.Escape != 0 {
			t.Fatalf("our ACK does not parse: %v\n%q", err, ack)
		}
	})
}

func BenchmarkParseMapADT(b *testing.B) {
	data, err := os.ReadFile("testdata/adt_a01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var e event.Event
	for i := 0; i < b.N; i++ {
		m, err := Parse(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		e.Reset()
		MapEvent(&e, m, EventOptions{Now: fixedNow})
		if _, err := ExtractADT(m, nil); err != nil {
			b.Fatal(err)
		}
		_ = BuildACK(m, AckOptions{Code: AA, Time: fixedNow})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

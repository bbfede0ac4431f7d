package atna

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func render(out *bytes.Buffer, m *Message, err error, raw []byte) {
	if m != nil {
		var e event.Event
		MapEvent(&e, m, raw, Options{})
		e.SortFields()
		out.Write(event.AppendJSON(nil, &e))
		out.WriteByte('\n')
	}
	if err != nil {
		out.WriteString("error: " + err.Error() + "\n")
	}
}

func TestGolden(t *testing.T) {
	var files []string
	for _, g := range []string{"testdata/*.xml", "testdata/*.txt", "testdata/*.log"} {
		f, _ := filepath.Glob(g)
		files = append(files, f...)
	}
	if len(files) < 19 {
		t.Fatalf("found %d samples, want at least 19", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if strings.HasSuffix(f, ".log") {
				sc := bufio.NewScanner(bytes.NewReader(data))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					m, err := Parse(sc.Bytes(), Limits{})
					render(&out, m, err, nil)
				}
			} else {
				d := NewDecoder(bytes.NewReader(data), Limits{})
				for {
					m, err := d.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					render(&out, m, err, nil)
					if m == nil {
						break
					}
					seen[m.EventID.Code] = true
				}
			}
			got := out.Bytes()
			if bytes.Contains(got, []byte("error:")) {
				t.Errorf("sample gives an error:\n%s", got)
			}
			gf := f + ".golden"
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
	// Every DICOM PS3.15 A.5.3 message type has a sample.
	for code := range eventIDNames {
		if !seen[code] {
			t.Errorf("no sample for event id %s (%s)", code, eventIDNames[code])
		}
	}
}

func TestSchemaErrors(t *testing.T) {
	ok := `<AuditMessage><EventIdentification EventActionCode="E" EventDateTime="2024-01-01T00:00:00Z" EventOutcomeIndicator="0"><EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"/></EventIdentification><ActiveParticipant UserID="u" UserIsRequestor="true"/><AuditSourceIdentification AuditSourceID="s"/></AuditMessage>`
	if _, err := Parse([]byte(ok), Limits{}); err != nil {
		t.Fatalf("valid message: %v", err)
	}
	f := func(name, in, wantPath string) {
		t.Helper()
		m, err := Parse([]byte(in), Limits{})
		var ae *Error
		if !errors.As(err, &ae) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: got %v, want *Error", name, err)
		}
		if ae.Path != wantPath {
			t.Errorf("%s: got path %q (%v), want %q", name, ae.Path, err, wantPath)
		}
		_ = m
	}
	rep := func(old, new string) string { return strings.Replace(ok, old, new, 1) }
	f("no event identification", `<AuditMessage><ActiveParticipant UserID="u"/><AuditSourceIdentification AuditSourceID="s"/></AuditMessage>`, "AuditMessage/EventIdentification")
	f("no event id", rep(`<EventID csd-code="110114" codeSystemName="DCM" originalText="User Authentication"/>`, ""), "AuditMessage/EventIdentification/EventID")
	f("bad action", rep(`EventActionCode="E"`, `EventActionCode="X"`), "AuditMessage/EventIdentification@EventActionCode")
	f("bad time", rep(`2024-01-01T00:00:00Z`, `yesterday`), "AuditMessage/EventIdentification@EventDateTime")
	f("no time", rep(`EventDateTime="2024-01-01T00:00:00Z"`, ``), "AuditMessage/EventIdentification@EventDateTime")
	f("bad outcome", rep(`EventOutcomeIndicator="0"`, `EventOutcomeIndicator="3"`), "AuditMessage/EventIdentification@EventOutcomeIndicator")
	f("no participant", rep(`<ActiveParticipant UserID="u" UserIsRequestor="true"/>`, ``), "AuditMessage/ActiveParticipant")
	f("no user id", rep(`<ActiveParticipant UserID="u" UserIsRequestor="true"/>`, `<ActiveParticipant UserID="u"/><ActiveParticipant UserIsRequestor="true"/>`), "AuditMessage/ActiveParticipant[2]@UserID")
	f("bad requestor", rep(`UserIsRequestor="true"`, `UserIsRequestor="maybe"`), "AuditMessage/ActiveParticipant[1]@UserIsRequestor")
	f("no source", rep(`<AuditSourceIdentification AuditSourceID="s"/>`, ``), "AuditMessage/AuditSourceIdentification")
	f("no object id", rep(`</AuditMessage>`, `<ParticipantObjectIdentification ParticipantObjectTypeCode="1"><ParticipantObjectIDTypeCode csd-code="2"/></ParticipantObjectIdentification></AuditMessage>`), "AuditMessage/ParticipantObjectIdentification[1]@ParticipantObjectID")
	f("no object id type", rep(`</AuditMessage>`, `<ParticipantObjectIdentification ParticipantObjectID="x"/></AuditMessage>`), "AuditMessage/ParticipantObjectIdentification[1]/ParticipantObjectIDTypeCode")
	f("too large", ok+strings.Repeat(" ", 300<<10), "AuditMessage")
	f("not xml", "hello", "AuditMessage")
	f("no audit message", "<x/>", "AuditMessage")
}

func TestSyntaxAndLimitErrors(t *testing.T) {
	f := func(name, in string, lim Limits, want string) {
		t.Helper()
		_, err := Parse([]byte(in), lim)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, want)
		}
	}
	f("unclosed", "<AuditMessage><EventIdentification>", Limits{}, "unexpected EOF")
	f("bad xml", "<AuditMessage>\n<a></b></AuditMessage>", Limits{}, "line 2")
	f("deep", "<AuditMessage>"+strings.Repeat("<a>", 40)+strings.Repeat("</a>", 40)+"</AuditMessage>", Limits{}, "nested deeper than 32")
	f("wide", "<AuditMessage>"+strings.Repeat("<a/>", 50)+"</AuditMessage>", Limits{MaxNodes: 10}, "more than 10 elements")
}

func TestAppendEventKeepsSyslogFields(t *testing.T) {
	data, err := os.ReadFile("testdata/a5_3_16_user_authentication_failure.xml")
	if err != nil {
		t.Fatal(err)
	}
	e := event.Event{Time: time.Unix(1, 0)}
	e.Set("log.syslog.appname", "EHR01")
	if err := AppendEvent(&e, data, Limits{}, Options{KeepOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if e.Value("log.syslog.appname") != "EHR01" || e.Value("event.outcome") != "failure" || e.Value("event.action") != "login" {
		t.Fatalf("got %+v", e.Fields)
	}
	if e.Value(event.FieldOriginal) != string(data) {
		t.Fatal("event.original missing with KeepOriginal")
	}
	if strings.Contains(e.Value("message"), "DOE") {
		t.Fatal("message holds patient data")
	}
}

func TestSafeDecode(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := safeDecode(in, 64); got != want {
			t.Errorf("safeDecode(%q): got %q, want %q", in, got, want)
		}
	}
	f("R0VUIC9QYXRpZW50P25hbWU9eA==", "GET /Patient?name=x")
	f("CABSAAYAAAA=", "") // binary DICOM
	f("not base64!", "")
	f(strings.Repeat("QUFB", 40), "") // too long
}

func FuzzParse(f *testing.F) {
	for _, g := range []string{"testdata/*.xml", "testdata/*.log"} {
		files, _ := filepath.Glob(g)
		for _, p := range files {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, Limits{MaxBytes: 1 << 16, MaxNodes: 512})
		if m == nil && err == nil {
			t.Fatal("nil message without error")
		}
		if m != nil {
			var e event.Event
			MapEvent(&e, m, data, Options{})
		}
		d := NewDecoder(bytes.NewReader(data), Limits{MaxBytes: 1 << 16, MaxNodes: 512})
		for i := 0; i < 100; i++ {
			m, err := d.Next()
			if err != nil && m == nil {
				break
			}
		}
	})
}

func BenchmarkParseMap(b *testing.B) {
	data, err := os.ReadFile("testdata/a5_3_05_instances_transferred.xml")
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
		MapEvent(&e, m, data, Options{})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestEveryParticipantKept: all ActiveParticipants and ParticipantObjects
// are kept, whatever their roles; a destination that is also the
// requestor still gives destination.*; a URL user id (DICOMweb) is not a
// user name; the patient id's assigning authority is kept; placeholders
// are not patient ids; a login coded as the EventID is authentication.
func TestEveryParticipantKept(t *testing.T) {
	read := func(name string) event.Event {
		t.Helper()
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Parse(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var e event.Event
		MapEvent(&e, m, data, Options{})
		return e
	}
	e := read("dicomweb_retrieve_requestor_destination.xml")
	want := map[string]string{
		"user.name": "drjones", "destination.user.name": "drjones", "destination.ip": "10.1.9.44",
		"source.user.name": "DCM4CHEE", "source.domain": "pacs.example.org",
		"url.original":                    "http://pacs.example.org:8080/dcm4chee-arc/aets/DCM4CHEE/rs/studies/1.2.3.4",
		"healthcare.patient.id":           "4785133",
		"healthcare.patient.id_authority": "UKL",
	}
	for k, v := range want {
		if got := e.Value(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var ps []map[string]any
	if err := json.Unmarshal([]byte(e.Value("healthcare.audit.participants")), &ps); err != nil || len(ps) != 2 {
		t.Fatalf("participants %v: %s", err, e.Value("healthcare.audit.participants"))
	}
	if ps[1]["user_id"] != "drjones" || ps[1]["requestor"] != true || ps[1]["user_name"] != "Dr Jones" || ps[1]["network_access_point"] != "10.1.9.44" {
		t.Errorf("participant 2: %v", ps[1])
	}
	var os2 []map[string]any
	if err := json.Unmarshal([]byte(e.Value("healthcare.audit.objects")), &os2); err != nil || len(os2) != 2 {
		t.Fatalf("objects %v: %s", err, e.Value("healthcare.audit.objects"))
	}
	if os2[1]["authority"] != "UKL" || os2[1]["name"] != nil {
		t.Errorf("patient object %v: want the authority and no name", os2[1])
	}
	if strings.Contains(e.Value("healthcare.audit.objects"), "MUSTERMANN") {
		t.Error("patient name in healthcare.audit.objects")
	}

	e = read("login_as_event_id.xml")
	if e.Value("event.category") != "authentication" || e.Value("event.type") != "start" {
		t.Errorf("login: category %q type %q", e.Value("event.category"), e.Value("event.type"))
	}
	if e.Has("healthcare.patient.id") {
		t.Errorf("placeholder stored as patient id %q", e.Value("healthcare.patient.id"))
	}
}

package eventfile

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

func readAll(t *testing.T, s string) ([]event.Event, error) {
	t.Helper()
	var out []event.Event
	err := Read(strings.NewReader(s), func(ev *event.Event) error {
		out = append(out, ev.Clone())
		return nil
	})
	return out, err
}

func TestRead(t *testing.T) {
	f := func(in string, want int) {
		t.Helper()
		evs, err := readAll(t, in)
		if err != nil || len(evs) != want {
			t.Errorf("%q: got %d events, %v; want %d", in, len(evs), err, want)
		}
	}
	f(`{"a":1}`+"\n"+`{"a":2}`+"\n", 2)          // NDJSON
	f(`[{"a":1},{"b":{"c":2}}]`, 2)              // array
	f("{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", 2) // evtx_dump style
	f("\xef\xbb\xbf"+`{"a":1}`, 1)               // BOM
	f("", 0)
	f("  \n", 0)
	g := func(in, wantErr string) {
		t.Helper()
		_, err := readAll(t, in)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: got error %v, want %q", in, err, wantErr)
		}
	}
	g(`{"a":1} 5`, "line 1: object 2 at byte 8: want a JSON object")
	g(`[{"a":1}, 5]`, "want a JSON object")
	g(`{"a":`, "byte 0")
}

func TestTimeAndEvtx(t *testing.T) {
	evs, err := readAll(t, `{"@timestamp":"2026-01-02T03:04:05Z","m":"x"}`+
		`{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System","Computer":"h1",`+
		`"Provider":{"#attributes":{"Name":"Service Control Manager"}},"TimeCreated":{"#attributes":{"SystemTime":"2026-01-02T03:04:06.5Z"}}},`+
		`"EventData":{"ServiceName":"evil","Image Path":"c:\\x.exe"}}}`+
		`{"Event":{"System":{"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational"},"UserData":{"Op":{"#attributes":{"xmlns":"x"},"Operation":"o"}}}}`)
	if err != nil || len(evs) != 3 {
		t.Fatalf("got %d events, %v", len(evs), err)
	}
	if evs[0].Time.Second() != 5 || evs[0].Has("@timestamp") {
		t.Errorf("@timestamp: %v %v", evs[0].Time, evs[0].Fields)
	}
	if Detect(&evs[0]) != FormatFlat || Detect(&evs[1]) != FormatEvtxDump {
		t.Errorf("Detect")
	}
	if evs[1].Time.Nanosecond() != 5e8 {
		t.Errorf("evtx time: %v", evs[1].Time)
	}
	EvtxToWinlog(&evs[1])
	for k, v := range map[string]string{"winlog.event_id": "7045", "winlog.channel": "System", "winlog.provider_name": "Service Control Manager",
		"winlog.event_data.ServiceName": "evil", "winlog.event_data.Image Path": `c:\x.exe`, "event.code": "7045", "host.name": "h1", "event.module": "windows"} {
		if got := evs[1].Value(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	EvtxToWinlog(&evs[2])
	if got := evs[2].Value("winlog.user_data.Operation"); got != "o" {
		t.Errorf("user_data: got %q (%v)", got, evs[2].Fields)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":1},{"b":[1,2]}]`, "{\"a\":\n1}\n{\"b\":2}", `[`, `{"Event":{"System":{"EventID":1}}}`, "\xef\xbb\xbf[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = Read(strings.NewReader(s), func(ev *event.Event) error {
			if Detect(ev) == FormatEvtxDump {
				EvtxToWinlog(ev)
			}
			return nil
		})
	})
}

// TestReadGoesOn: with OnError set, every bad record is reported with its
// line and the records after it are still read — in NDJSON, in arrays and
// in evtx_dump's multi-line objects.
func TestReadGoesOn(t *testing.T) {
	f := func(in string, wantEvents int, wantErrs ...string) {
		t.Helper()
		var errs []string
		n := 0
		err := ReadWith(strings.NewReader(in), Options{OnError: func(e *RecordError) error {
			errs = append(errs, e.Error())
			return nil
		}}, func(*event.Event) error { n++; return nil })
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if n != wantEvents || len(errs) != len(wantErrs) {
			t.Fatalf("%q: %d events, errors %q; want %d events, %d errors", in, n, errs, wantEvents, len(wantErrs))
		}
		for i, w := range wantErrs {
			if !strings.HasPrefix(errs[i], w) {
				t.Errorf("%q: error %d %q, want prefix %q", in, i, errs[i], w)
			}
		}
	}
	// NDJSON: a bad line, a truncated object, invalid JSON inside braces.
	f("{\"a\":1}\nnot json\n{\"a\":2}\n{\"a\":\n{\"a\":3}\n{\"a\":tru}\n{\"a\":4}\n", 4,
		"line 2: object 2", "line 4: object 4", "line 6: object 6")
	// evtx_dump style: an object cut short by the next record.
	f("{\n  \"a\": {\n    \"b\": 1\n{\n  \"a\": 2\n}\n", 1, "line 1: object 1")
	// An unterminated string swallows no later records.
	f("{\"a\":\"x\n{\"a\":2}\n", 1, "line 1: object 1")
	// Arrays: a bad element.
	f(`[{"a":1}, 5, {"a":2}]`, 1, "line 1: object 2")
	// The end of the input inside an object.
	f("{\"a\":1}\n{\"a\":", 1, "line 2: object 2 at byte 8: unexpected end of input")
}

// TestReadWithZone: EventTime without a zone is read in the given zone.
func TestReadWithZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	var got time.Time
	ReadWith(strings.NewReader(`{"EventTime":"2024-03-05 14:22:01","EventID":1}`), Options{Location: ny}, func(ev *event.Event) error { got = ev.Time; return nil })
	if !got.Equal(time.Date(2024, 3, 5, 19, 22, 1, 0, time.UTC)) {
		t.Fatalf("time %v", got)
	}
}

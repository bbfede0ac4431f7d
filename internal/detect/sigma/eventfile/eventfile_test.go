package eventfile

import (
	"strings"
	"testing"

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
	g(`{"a":1} 5`, "object 2 at byte 7")
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

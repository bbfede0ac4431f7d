package windows

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

var update = flag.Bool("update", false, "rewrite golden files")

// flatten turns one JSON object into an event the way the ingest paths do:
// jsonflat, then "@timestamp" taken out into Time.
func flatten(t testing.TB, data []byte) event.Event {
	t.Helper()
	var e event.Event
	if err := jsonflat.AppendObject(&e, data, jsonflat.Options{}); err != nil {
		t.Fatalf("jsonflat: %v", err)
	}
	if ts, ok := e.Get("@timestamp"); ok {
		e.Delete("@timestamp")
		if tt, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			e.Time = tt
		}
	}
	return e
}

// load normalises one sample file: .xml through ParseXML, .json through
// jsonflat and Normalize.
func load(t testing.TB, path string) (event.Event, Form) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".xml") {
		e, err := ParseXML(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return e, FormXML
	}
	e := flatten(t, data)
	f := Detect(&e)
	if err := Normalize(&e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e, f
}

func goldenJSON(e *event.Event) []byte {
	c := e.Clone()
	c.SortFields()
	var b bytes.Buffer
	b.WriteString("{\n  \"@timestamp\": ")
	b.Write(event.AppendJSONString(nil, c.Time.UTC().Format(time.RFC3339Nano)))
	for _, f := range c.Fields {
		b.WriteString(",\n  ")
		b.Write(event.AppendJSONString(nil, f.Name))
		b.WriteString(": ")
		b.Write(event.AppendJSONString(nil, f.Value))
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: golden mismatch (run with -update after checking)\ngot\n%s\nwant\n%s", path, got, want)
	}
}

// compared are the field prefixes that must agree across forms.
var comparedPrefixes = []string{"winlog.", "event.", "host.name", "log.level", "process.", "user.", "source.",
	"destination.", "file.", "registry.", "dns.", "network.", "rule.", "service.", "group.", "powershell."}

// formDependent are fields that legitimately differ by form: what only a
// shipper that renders the event knows (message, resolved user names,
// numeric level), and shipper metadata.
var formDependent = map[string]bool{
	"winlog.level": true, "winlog.user.name": true, "winlog.user.domain": true, "winlog.user.type": true,
	"winlog.qualifiers": true, "winlog.api": true, "winlog.event_source_name": true, "winlog.time_created": true,
	"event.created": true, "event.dataset": true, "event.ingested": true, "process.args": true,
}

// knownGaps are event data that Winlogbeat 7's sysmon module removes
// without an ECS copy Vigil could restore them from.
var knownGaps = map[string]bool{"winlog.event_data.Hashes": true, "winlog.event_data.UtcTime": true}

func project(e *event.Event) map[string]string {
	m := map[string]string{"@timestamp(s)": e.Time.UTC().Truncate(time.Second).Format(time.RFC3339)}
	for _, f := range e.Fields {
		if formDependent[f.Name] {
			continue
		}
		for _, p := range comparedPrefixes {
			if strings.HasPrefix(f.Name, p) {
				m[f.Name] = f.Value
				break
			}
		}
	}
	return m
}

// sameValue compares values, ignoring the case of GUIDs (evtx_dump prints
// them upper case, Sysmon renders them lower case) and host names.
func sameValue(name, a, b string) bool {
	if a == b {
		return true
	}
	if name == "host.name" || strings.HasPrefix(a, "{") && len(a) == 38 {
		return strings.EqualFold(a, b)
	}
	return false
}

func diffForms(t *testing.T, what, nameA string, a map[string]string, nameB string, b map[string]string, gaps map[string]bool) {
	t.Helper()
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if gaps[k] && (!oka || !okb) {
			continue
		}
		if oka != okb || !sameValue(k, va, vb) {
			t.Errorf("%s: %s: %s=%q (present %v) but %s=%q (present %v)", what, k, nameA, va, oka, nameB, vb, okb)
		}
	}
}

// TestForms normalises the hand-written samples in testdata/forms/<event>/,
// one file per form, checks each against its golden file and checks that
// all forms of an event agree.
func TestForms(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "forms", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			var refName string
			var ref map[string]string
			n := 0
			for _, f := range files {
				if !strings.HasSuffix(f, ".xml") && !strings.HasSuffix(f, ".json") {
					continue
				}
				n++
				e, form := load(t, f)
				checkGolden(t, strings.TrimSuffix(f, filepath.Ext(f))+"."+strings.TrimPrefix(filepath.Ext(f), ".")+".golden", goldenJSON(&e))
				if want := map[string]Form{".xml": FormXML}[filepath.Ext(f)]; want != 0 && form != want {
					t.Errorf("%s: form %v", f, form)
				}
				p := project(&e)
				if ref == nil {
					refName, ref = filepath.Base(f), p
					continue
				}
				gaps := map[string]bool{}
				if strings.Contains(f, "winlogbeat7") {
					gaps = knownGaps
				}
				diffForms(t, filepath.Base(dir), refName, ref, filepath.Base(f), p, gaps)
			}
			if n < 2 {
				t.Fatalf("%s: %d forms, want at least 2", dir, n)
			}
		})
	}
}

func TestFormsECS(t *testing.T) {
	// Spot checks of the normalised Security 4624 and Sysmon 1.
	e, _ := load(t, filepath.Join("testdata", "forms", "security_4624", "evtx.json"))
	f := func(name, want string) {
		t.Helper()
		if got := e.Value(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	f("winlog.event_id", "4624")
	f("event.code", "4624")
	f("winlog.channel", "Security")
	f("winlog.provider_guid", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
	f("winlog.task", "Logon")
	f("winlog.opcode", "Info")
	f("winlog.keywords", `["Audit Success"]`)
	f("log.level", "information")
	f("event.category", "authentication")
	f("event.type", "start")
	f("event.action", "logged-in")
	f("event.outcome", "success")
	f("user.name", "dr.house")
	f("user.domain", "CLINIC")
	f("source.ip", "10.20.30.40")
	f("source.port", "53120")
	f("process.pid", "460")
	f("process.name", "svchost.exe")
	f("winlog.logon.type", "RemoteInteractive")
	f("winlog.event_data.LogonGuid", "{00000000-0000-0000-0000-000000000000}")
	f("winlog.event_data.TransmittedServices", "-")
	if want := time.Date(2024, 3, 5, 14, 22, 1, 123456000, time.UTC); !e.Time.Equal(want) {
		t.Errorf("time: got %v, want %v", e.Time, want)
	}
	for _, fl := range e.Fields {
		if strings.HasPrefix(fl.Name, "Event.") {
			t.Errorf("original field %s kept", fl.Name)
		}
	}

	e, _ = load(t, filepath.Join("testdata", "forms", "sysmon_1", "winlogbeat7.json"))
	f("winlog.event_data.Image", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)
	f("winlog.event_data.CommandLine", "powershell.exe -nop -w hidden -enc SQBFAFgA")
	f("winlog.event_data.User", `CLINIC\dr.house`)
	f("winlog.event_data.ParentImage", `C:\Windows\explorer.exe`)
	f("event.module", "windows")
	f("event.type", "start")
	f("agent.version", "7.17.9")

	e, _ = load(t, filepath.Join("testdata", "forms", "system_7045", "nxlog.json"))
	f("winlog.event_data.AccountName", "LocalSystem")
	f("winlog.user.domain", "CLINIC")
	f("service.name", "PSEXESVC")
	f("winlog.keywords", `["Classic"]`)
	f("nxlog.source_module_type", "im_msvistalog")
	f("event.created", "2024-03-06 03:00:01")
}

func TestDetect(t *testing.T) {
	f := func(doc string, want Form) {
		t.Helper()
		e := flatten(t, []byte(doc))
		if got := Detect(&e); got != want {
			t.Errorf("Detect(%s) = %v, want %v", doc, got, want)
		}
	}
	f(`{"Event":{"System":{"EventID":1}}}`, FormEvtxJSON)
	f(`{"winlog":{"event_id":"4624"}}`, FormECS)
	f(`{"event_id":4624,"log_name":"Security","event_data":{"A":"b"}}`, FormECS)
	f(`{"EventID":4624,"Channel":"Security"}`, FormFlat)
	f(`{"EventID":4624}`, FormUnknown)
	f(`{"message":"hello"}`, FormUnknown)
}

func TestNormalizeErrors(t *testing.T) {
	e := flatten(t, []byte(`{"message":"hello"}`))
	if err := Normalize(&e); !errors.Is(err, ErrNotWindows) {
		t.Fatalf("got %v, want ErrNotWindows", err)
	}
	e = flatten(t, []byte(`{"Event":{"System":{"Channel":"Security"}}}`))
	err := Normalize(&e)
	if err == nil || err.Error() != "windows: evtx_json event without an event id (Event.System.EventID)" {
		t.Fatalf("got %v", err)
	}
	if !e.Has("Event.System.Channel") {
		t.Fatalf("event changed on error: %v", e.Fields)
	}
}

func TestVariants(t *testing.T) {
	f := func(doc string, want ...string) {
		t.Helper()
		e := flatten(t, []byte(doc))
		if err := Normalize(&e); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		for i := 0; i+1 < len(want); i += 2 {
			if got := e.Value(want[i]); got != want[i+1] {
				t.Errorf("%s: %s: got %q, want %q\n%v", doc, want[i], got, want[i+1], e.Fields)
			}
		}
	}
	// evtx_dump --separate-json-attributes, EventID with Qualifiers.
	f(`{"Event":{"System":{"Provider_attributes":{"Name":"Service Control Manager"},"EventID":{"#text":7045},"EventID_attributes":{"Qualifiers":16384},"Channel":"System","TimeCreated_attributes":{"SystemTime":"2024-01-02T03:04:05Z"}},"EventData":{"ServiceName":"x"}}}`,
		"winlog.event_id", "7045", "winlog.qualifiers", "16384", "winlog.provider_name", "Service Control Manager", "service.name", "x")
	// Unnamed Data elements become param1, param2 …; empty values are dropped.
	f(`{"Event":{"System":{"EventID":1000,"Channel":"Application","Provider":{"#attributes":{"Name":"App"}}},"EventData":{"Data":{"#text":["a","",3]},"Binary":"00FF"}}}`,
		"winlog.event_data.param1", "a", "winlog.event_data.param2", "", "winlog.event_data.param3", "3", "winlog.event_data.Binary", "00FF")
	// Winlogbeat 6.
	f(`{"event_id":4624,"log_name":"Security","source_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC1","record_number":"7","event_data":{"TargetUserName":"bob"},"level":"Information","keywords":["Audit Success"]}`,
		"winlog.event_id", "4624", "winlog.channel", "Security", "winlog.computer_name", "DC1", "user.name", "bob", "event.outcome", "success", "log.level", "information")
	// Elastic Agent with event.code only and unparsable time kept.
	f(`{"event":{"code":"4104","provider":"Microsoft-Windows-PowerShell"},"winlog":{"channel":"Microsoft-Windows-PowerShell/Operational","time_created":"yesterday","event_data":{"ScriptBlockText":"iex (iwr http://x)","ScriptBlockId":"b1"}}}`,
		"winlog.event_id", "4104", "winlog.provider_name", "Microsoft-Windows-PowerShell", "powershell.file.script_block_text", "iex (iwr http://x)", "event.action", "Execute a Remote Command", "winlog.time_created", "yesterday")
	// Security-Datasets style with Logstash metadata kept aside.
	f(`{"@version":"1","host":"wec01","port":60737,"tags":["mordor"],"EventID":4688,"Channel":"Security","SourceName":"Microsoft-Windows-Security-Auditing","Hostname":"WORKSTATION5","EventTime":"2020-09-21 14:40:27","NewProcessId":"0x1a2b","NewProcessName":"C:\\Windows\\System32\\cmd.exe","ProcessId":"0x3e8","CommandLine":"cmd /c whoami","Keywords":-9214364837600034816}`,
		"process.pid", "6699", "process.parent.pid", "1000", "process.name", "cmd.exe", "process.command_line", "cmd /c whoami", "host", "wec01", "@version", "1", "winlog.event_data.CommandLine", "cmd /c whoami", "event.outcome", "success")
	// Sysmon network and registry events.
	f(`{"Event":{"System":{"EventID":3,"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Protocol":"tcp","Initiated":true,"SourceIp":"10.0.0.5","SourcePort":50123,"DestinationIp":"::ffff:93.184.216.34","DestinationPort":443,"Image":"C:\\x\\a.exe","User":"CORP\\bob"}}}`,
		"network.direction", "egress", "destination.ip", "93.184.216.34", "destination.port", "443", "user.name", "bob", "user.domain", "CORP", "winlog.task", "Network connection detected (rule: NetworkConnect)")
	f(`{"Event":{"System":{"EventID":13,"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}}},"EventData":{"TargetObject":"HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil","Details":"C:\\evil.exe"}}}`,
		"registry.hive", "HKLM", "registry.key", `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, "registry.value", "evil", "registry.data.strings", `["C:\\evil.exe"]`)
	f(`{"Event":{"System":{"EventID":22,"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}}},"EventData":{"QueryName":"evil.example"}}}`,
		"dns.question.name", "evil.example", "event.category", "network")
}

func TestXML(t *testing.T) {
	e, err := ParseXML([]byte(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="App"/><EventID Qualifiers="0">1000</EventID><Channel>Application</Channel><TimeCreated SystemTime="2024-01-02T03:04:05.1234567Z"/></System><EventData><Data>first</Data><Data>&lt;second&gt;</Data><Binary>00FF</Binary></EventData></Event>`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"winlog.event_data.param1": "first", "winlog.event_data.param2": "<second>", "winlog.event_data.Binary": "00FF", "winlog.qualifiers": "0"} {
		if got := e.Value(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	if !e.Time.Equal(time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC)) {
		t.Errorf("time %v", e.Time)
	}
}

func TestXMLErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := ParseXML([]byte(in))
		var xe *XMLError
		if !errors.As(err, &xe) {
			t.Fatalf("ParseXML(%q): got %v, want *XMLError", in, err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("ParseXML(%q):\ngot  %s\nwant %s", in, got, want)
		}
	}
	f(``, "windows: event xml at byte 0: unexpected end of input: <Event> not closed")
	f(`<Events/>`, "windows: event xml at byte 0: root element <Events>, want <Event>")
	f(`<Event><System><EventID>1</EventID></System>`, "windows: event xml at byte 44: unexpected end of input: <Event> not closed")
	f(`<Event><System><EventID>1</Event>`, "windows: event xml at byte 25: element <EventID> closed by </Event>")
	f(`<Event><System/></Event>`, "windows: event xml at byte 24: no Event/System/EventID")
	f(`<Event><System><EventID>1</EventID></System></Event><Event/>`, "windows: event xml at byte 52: more than one root element")
	f(strings.Repeat("<Event>", 40), "windows: event xml at byte 224: elements nested deeper than 32")
	f(`<!DOCTYPE x [<!ENTITY a "b">]><Event/>`, "windows: event xml at byte 0: document type declarations are not accepted")
	f(`<Event a=1/>`, "windows: event xml at byte 9: attribute a of <Event>: value not quoted")
	f(`<Event a="1"b="2"/>`, "windows: event xml at byte 12: want space before attribute in <Event>")
	f(`<Event>&bogus;</Event>`, "windows: event xml at byte 7: unknown entity &bogus;")
	f(`<Event><System><EventID>1&#0;</EventID></System></Event>`, "windows: event xml at byte 25: bad character reference &#0;")
	f(`x<Event/>`, "windows: event xml at byte 0: text outside the <Event> element")
	f(`<Event><!-- open`, "windows: event xml at byte 16: unterminated comment")
	f(`<Event><System`, "windows: event xml at byte 14: unterminated start tag <System>")
	f(strings.Repeat("x", MaxXMLSize+1), "windows: event xml at byte 1048576: record of 1048577 bytes exceeds the limit of 1048576")
}

func TestXMLSyntax(t *testing.T) {
	// Comments, CDATA, processing instructions, namespace prefixes, single
	// quotes, character references and self-closing elements.
	e, err := ParseXML([]byte("\ufeff<?xml version='1.0' encoding='utf-16'?>\n<!-- c --><e:Event xmlns:e='x'><e:System><e:EventID>4688</e:EventID>" +
		"<Provider Name='Microsoft-Windows-Security-Auditing' /><Channel>Security</Channel></e:System>" +
		"<EventData><Data Name=\"CommandLine\"><![CDATA[cmd /c \"a<b\"]]> &amp; &#x41;&#66;</Data><Data Name='Empty'/></EventData></e:Event>\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Value("winlog.event_data.CommandLine"), `cmd /c "a<b" & AB`; got != want {
		t.Fatalf("CommandLine: got %q, want %q", got, want)
	}
	if got := e.Value("process.command_line"); got != `cmd /c "a<b" & AB` {
		t.Fatalf("process.command_line: got %q", got)
	}
	if e.Has("winlog.event_data.Empty") {
		t.Fatalf("empty data kept")
	}
}

func TestIsXML(t *testing.T) {
	for in, want := range map[string]bool{
		`<Event xmlns="x">`: true, "\ufeff <?xml version=\"1.0\"?>\n<Event>": true,
		`<Events>`: false, `{"Event":1}`: false, `<?xml`: false,
	} {
		if got := IsXML([]byte(in)); got != want {
			t.Errorf("IsXML(%q) = %v, want %v", in, got, want)
		}
	}
}

// corpusDir finds ../shared/corpora/sigmahq/regression_data from the
// repository root (the directory holding go.mod).
func corpusDir(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "corpora", "sigmahq", "regression_data")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus not found at %s", c)
	}
	return c
}

// corpusRecords returns every evtx_dump JSON record of the regression data.
func corpusRecords(t testing.TB) (names []string, recs [][]byte) {
	dir := corpusDir(t)
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			rel, _ := filepath.Rel(dir, path)
			names = append(names, fmt.Sprintf("%s#%d", rel, i))
			recs = append(recs, raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names, recs
}

// TestCorpusForms takes every event of the SigmaHQ regression data
// (evtx_dump JSON), writes it as rendered XML, NXLog flat JSON and a
// Winlogbeat document the way those shippers do, and checks that all four
// normalise to the same fields, with the evtx event data intact.
func TestCorpusForms(t *testing.T) {
	names, recs := corpusRecords(t)
	if len(recs) < 100 {
		t.Fatalf("only %d corpus records", len(recs))
	}
	var withUserData int
	for i, raw := range recs {
		src := flatten(t, raw)
		evtx := src.Clone()
		if err := Normalize(&evtx); err != nil {
			t.Errorf("%s: evtx: %v", names[i], err)
			continue
		}
		for _, f := range src.Fields {
			if k, ok := strings.CutPrefix(f.Name, "Event.EventData."); ok && f.Value != "" && !strings.HasPrefix(k, "#") {
				if got := evtx.Value("winlog.event_data." + k); got != braceDataGUID(f.Value) {
					t.Errorf("%s: event data %s: got %q, want %q", names[i], k, got, f.Value)
				}
			}
		}
		for _, k := range []string{"winlog.event_id", "winlog.channel", "winlog.provider_name", "winlog.computer_name", "winlog.record_id"} {
			if !evtx.Has(k) {
				t.Errorf("%s: %s missing", names[i], k)
			}
		}
		ref := project(&evtx)

		x, err := ParseXML(toXML(&src))
		if err != nil {
			t.Errorf("%s: xml: %v\n%s", names[i], err, toXML(&src))
			continue
		}
		diffForms(t, names[i], "evtx", ref, "xml", project(&x), nil)

		ecs := flatten(t, toWinlogbeat(&src))
		if err := Normalize(&ecs); err != nil {
			t.Errorf("%s: ecs: %v", names[i], err)
			continue
		}
		diffForms(t, names[i], "evtx", ref, "winlogbeat", project(&ecs), nil)

		if hasPrefix(&src, "Event.UserData.") {
			withUserData++
			continue // NXLog flattens UserData differently; covered by XML and Winlogbeat
		}
		flat := flatten(t, toNXLog(&src))
		if err := Normalize(&flat); err != nil {
			t.Errorf("%s: flat: %v", names[i], err)
			continue
		}
		diffForms(t, names[i], "evtx", ref, "nxlog", project(&flat), nil)
	}
	t.Logf("%d corpus records in four forms (%d with UserData in three)", len(recs), withUserData)
}

func hasPrefix(e *event.Event, p string) bool {
	for _, f := range e.Fields {
		if strings.HasPrefix(f.Name, p) {
			return true
		}
	}
	return false
}

// sys returns the flattened evtx System field.
func sys(e *event.Event, k string) string {
	if v, ok := e.Get("Event.System." + k); ok {
		return v
	}
	return ""
}

func eventID(e *event.Event) string {
	if v := sys(e, "EventID"); v != "" {
		return v
	}
	return sys(e, "EventID.#text")
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// toXML writes the record as Windows renders it (no RenderingInfo).
func toXML(e *event.Event) []byte {
	var b strings.Builder
	attr := func(name, k string) {
		if v := sys(e, k); v != "" {
			fmt.Fprintf(&b, ` %s="%s"`, name, xmlText(v))
		}
	}
	elem := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "<%s>%s</%s>", name, xmlText(v), name)
		}
	}
	b.WriteString(`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider`)
	attr("Name", "Provider.#attributes.Name")
	attr("Guid", "Provider.#attributes.Guid")
	b.WriteString("/><EventID")
	attr("Qualifiers", "EventID.#attributes.Qualifiers")
	fmt.Fprintf(&b, ">%s</EventID>", eventID(e))
	for _, k := range []string{"Version", "Level", "Task", "Opcode", "Keywords"} {
		elem(k, sys(e, k))
	}
	b.WriteString("<TimeCreated")
	attr("SystemTime", "TimeCreated.#attributes.SystemTime")
	b.WriteString("/>")
	elem("EventRecordID", sys(e, "EventRecordID"))
	b.WriteString("<Correlation")
	attr("ActivityID", "Correlation.#attributes.ActivityID")
	attr("RelatedActivityID", "Correlation.#attributes.RelatedActivityID")
	b.WriteString("/><Execution")
	attr("ProcessID", "Execution.#attributes.ProcessID")
	attr("ThreadID", "Execution.#attributes.ThreadID")
	b.WriteString("/>")
	elem("Channel", sys(e, "Channel"))
	elem("Computer", sys(e, "Computer"))
	b.WriteString("<Security")
	attr("UserID", "Security.#attributes.UserID")
	b.WriteString("/></System>")
	var ud string
	for _, f := range e.Fields {
		if k, ok := strings.CutPrefix(f.Name, "Event.UserData."); ok {
			el, name, _ := strings.Cut(k, ".")
			if strings.HasPrefix(name, "#") {
				continue
			}
			if ud == "" {
				ud = el
				fmt.Fprintf(&b, "<UserData><%s>", el)
			}
			elem(name, f.Value)
		}
	}
	if ud != "" {
		fmt.Fprintf(&b, "</%s></UserData>", ud)
	}
	b.WriteString("<EventData>")
	for _, f := range e.Fields {
		if k, ok := strings.CutPrefix(f.Name, "Event.EventData."); ok && !strings.HasPrefix(k, "#") {
			fmt.Fprintf(&b, `<Data Name="%s">%s</Data>`, xmlText(k), xmlText(f.Value))
		}
	}
	b.WriteString("</EventData></Event>")
	return []byte(b.String())
}

func jsonField(b *bytes.Buffer, first *bool, k, v string) {
	if !*first {
		b.WriteByte(',')
	}
	*first = false
	b.Write(event.AppendJSONString(nil, k))
	b.WriteByte(':')
	b.Write(event.AppendJSONString(nil, v))
}

// toNXLog writes the record as NXLog im_msvistalog + to_json does.
func toNXLog(e *event.Event) []byte {
	var b bytes.Buffer
	first := true
	b.WriteByte('{')
	put := func(k, v string) {
		if v != "" {
			jsonField(&b, &first, k, v)
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, sys(e, "TimeCreated.#attributes.SystemTime")); err == nil {
		put("EventTime", t.UTC().Format("2006-01-02 15:04:05"))
	}
	put("Hostname", sys(e, "Computer"))
	if m, ok := parseMask(sys(e, "Keywords")); ok {
		b.WriteString(fmt.Sprintf(`,"Keywords":%d`, int64(m)))
	}
	put("EventID", eventID(e))
	put("SourceName", sys(e, "Provider.#attributes.Name"))
	if g := sys(e, "Provider.#attributes.Guid"); g != "" {
		put("ProviderGuid", "{"+g+"}")
	}
	put("Version", sys(e, "Version"))
	put("Level", sys(e, "Level"))
	put("Task", sys(e, "Task"))
	put("OpcodeValue", sys(e, "Opcode"))
	put("RecordNumber", sys(e, "EventRecordID"))
	put("ActivityID", sys(e, "Correlation.#attributes.ActivityID"))
	put("ProcessID", sys(e, "Execution.#attributes.ProcessID"))
	put("ThreadID", sys(e, "Execution.#attributes.ThreadID"))
	put("Channel", sys(e, "Channel"))
	put("UserID", sys(e, "Security.#attributes.UserID"))
	for _, f := range e.Fields {
		if k, ok := strings.CutPrefix(f.Name, "Event.EventData."); ok && !strings.HasPrefix(k, "#") {
			put(k, f.Value)
		}
	}
	put("SourceModuleType", "im_msvistalog")
	b.WriteByte('}')
	return b.Bytes()
}

// toWinlogbeat writes the record as a Winlogbeat 8 document, with numbers
// where Winlogbeat would render names it cannot know here.
func toWinlogbeat(e *event.Event) []byte {
	var b bytes.Buffer
	first := true
	b.WriteByte('{')
	put := func(k, v string) {
		if v != "" {
			jsonField(&b, &first, k, v)
		}
	}
	put("@timestamp", sys(e, "TimeCreated.#attributes.SystemTime"))
	put("agent.type", "winlogbeat")
	put("event.code", eventID(e))
	put("event.kind", "event")
	put("event.provider", sys(e, "Provider.#attributes.Name"))
	put("host.name", sys(e, "Computer"))
	put("log.level", map[string]string{"0": "information", "1": "critical", "2": "error", "3": "warning", "4": "information", "5": "verbose"}[sys(e, "Level")])
	put("winlog.channel", sys(e, "Channel"))
	put("winlog.event_id", eventID(e))
	put("winlog.provider_name", sys(e, "Provider.#attributes.Name"))
	if g := sys(e, "Provider.#attributes.Guid"); g != "" {
		put("winlog.provider_guid", "{"+g+"}")
	}
	put("winlog.computer_name", sys(e, "Computer"))
	put("winlog.record_id", sys(e, "EventRecordID"))
	put("winlog.task", sys(e, "Task"))
	put("winlog.opcode", sys(e, "Opcode"))
	put("winlog.version", sys(e, "Version"))
	put("winlog.process.pid", sys(e, "Execution.#attributes.ProcessID"))
	put("winlog.process.thread.id", sys(e, "Execution.#attributes.ThreadID"))
	put("winlog.user.identifier", sys(e, "Security.#attributes.UserID"))
	if a := sys(e, "Correlation.#attributes.ActivityID"); a != "" {
		put("winlog.activity_id", "{"+a+"}")
	}
	if m, ok := parseMask(sys(e, "Keywords")); ok {
		var names []string
		for _, k := range keywordBits {
			if m&k.bit != 0 {
				names = append(names, `"`+k.name+`"`)
			}
		}
		if len(names) > 0 {
			b.WriteString(`,"winlog.keywords":[` + strings.Join(names, ",") + `]`)
		}
	}
	for _, f := range e.Fields {
		if k, ok := strings.CutPrefix(f.Name, "Event.EventData."); ok && !strings.HasPrefix(k, "#") {
			put("winlog.event_data."+k, f.Value)
		}
		if k, ok := strings.CutPrefix(f.Name, "Event.UserData."); ok {
			el, name, _ := strings.Cut(k, ".")
			if !strings.HasPrefix(name, "#") {
				if first2 := !strings.Contains(b.String(), `"winlog.user_data.xml_name"`); first2 {
					put("winlog.user_data.xml_name", el)
				}
				put("winlog.user_data."+name, f.Value)
			}
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

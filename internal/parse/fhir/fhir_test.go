package fhir

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

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 10 {
		t.Fatalf("found %d samples, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			req, err := ParseRequest(data, Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, en := range req.Entries {
				if en.Err != nil {
					out.WriteString("error: ")
					out.Write(en.Err.Outcome())
					out.WriteByte('\n')
					continue
				}
				var e event.Event
				MapEvent(&e, en.Event, en.Raw, Options{})
				e.SortFields()
				out.Write(event.AppendJSON(nil, &e))
				out.WriteByte('\n')
			}
			got := out.Bytes()
			gf := strings.TrimSuffix(f, ".json") + ".golden"
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

// minimal valid resources to derive broken ones from.
const (
	r4min = `{"resourceType":"AuditEvent","type":{"code":"rest"},"recorded":"2024-01-01T00:00:00Z","agent":[{"who":{"display":"u"},"requestor":true}],"source":{"observer":{"display":"o"}}}`
	r5min = `{"resourceType":"AuditEvent","code":{"coding":[{"code":"read"}]},"recorded":"2024-01-01T00:00:00Z","agent":[{"who":{"display":"u"}}],"source":{"observer":{"display":"o"}}}`
)

func TestValidationIssues(t *testing.T) {
	for _, ok := range []string{r4min, r5min} {
		if _, err := ParseAuditEvent([]byte(ok), Limits{}); err != nil {
			t.Fatalf("valid resource: %v", err)
		}
	}
	f := func(name, in, wantExpr, wantCode string) {
		t.Helper()
		_, err := ParseAuditEvent([]byte(in), Limits{})
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: got %v, want *ValidationError", name, err)
		}
		is := ve.Issues[0]
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		if expr != wantExpr || is.Code != wantCode {
			t.Errorf("%s: got %s %q (%s), want %s %q", name, is.Code, expr, is.Diagnostics, wantCode, wantExpr)
		}
		// The OperationOutcome is valid JSON naming the element.
		var oo struct {
			ResourceType string
			Issue        []Issue
		}
		if err := json.Unmarshal(ve.Outcome(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Errorf("%s: bad OperationOutcome %s", name, ve.Outcome())
		}
	}
	r4 := func(old, new string) string { return strings.Replace(r4min, old, new, 1) }
	r5 := func(old, new string) string { return strings.Replace(r5min, old, new, 1) }
	f("r5 agent without who", r5(`{"who":{"display":"u"}}`, `{"requestor":true}`), "AuditEvent.agent[0].who", "required")
	f("r5 second agent without who", r5(`{"who":{"display":"u"}}`, `{"who":{"display":"u"}},{"name":"x"}`), "AuditEvent.agent[1].who", "required")
	f("empty who", r4(`"who":{"display":"u"}`, `"who":{}`), "AuditEvent.agent[0].who", "invalid")
	f("r4 requestor missing", r4(`,"requestor":true`, ``), "AuditEvent.agent[0].requestor", "required")
	f("r4 type missing", r4(`"type":{"code":"rest"},`, ``), "AuditEvent.type", "required")
	f("r5 code missing", r5(`"code":{"coding":[{"code":"read"}]},`, `"category":[{"text":"x"}],`), "AuditEvent.code", "required")
	f("recorded missing", r4(`"recorded":"2024-01-01T00:00:00Z",`, ``), "AuditEvent.recorded", "required")
	f("recorded not instant", r4(`2024-01-01T00:00:00Z`, `2024-01-01`), "AuditEvent.recorded", "value")
	f("no agent", r4(`"agent":[{"who":{"display":"u"},"requestor":true}],`, ``), "AuditEvent.agent", "required")
	f("no source", r4(`,"source":{"observer":{"display":"o"}}`, ``), "AuditEvent.source", "required")
	f("no observer", r4(`"source":{"observer":{"display":"o"}}`, `"source":{"site":"x"}`), "AuditEvent.source.observer", "required")
	f("bad action", r4(`"recorded"`, `"action":"X","recorded"`), "AuditEvent.action", "value")
	f("r4 bad outcome", r4(`"recorded"`, `"outcome":"3","recorded"`), "AuditEvent.outcome", "value")
	f("r5 outcome without code", r5(`"recorded"`, `"outcome":{"detail":[{"text":"x"}]},"recorded"`), "AuditEvent.outcome.code", "required")
	f("bad network type", r4(`"requestor":true`, `"requestor":true,"network":{"address":"x","type":"9"}`), "AuditEvent.agent[0].network.type", "value")
	f("bad query", r4(`"source"`, `"entity":[{"what":{"display":"a"}},{"query":"not base64!"}],"source"`), "AuditEvent.entity[1].query", "value")
	f("mixed versions", r4(`"recorded"`, `"occurredDateTime":"2024","recorded"`), "AuditEvent", "structure")
	f("bad occurred", r5(`"recorded"`, `"occurredDateTime":"yesterday","recorded"`), "AuditEvent.occurredDateTime", "value")
	f("bad severity", r5(`"recorded"`, `"severity":"loud","recorded"`), "AuditEvent.severity", "value")
	f("bad period", r4(`"recorded"`, `"period":{"start":"soon"},"recorded"`), "AuditEvent.period.start", "value")
	// JSON type errors name the element with its indices.
	f("requestor not boolean", r4(`"requestor":true`, `"requestor":"yes"`), "AuditEvent.agent[0].requestor", "structure")
	f("who not object", r5(`"agent":[{"who":{"display":"u"}}]`, `"agent":[{"who":{"display":"u"}},{"who":"Practitioner/1"}]`), "AuditEvent.agent[1].who", "structure")
	f("agent not array", r4(`"agent":[{"who":{"display":"u"},"requestor":true}]`, `"agent":{"who":{"display":"u"}}`), "AuditEvent.agent", "structure")
	f("nested type error", r4(`"source"`, `"entity":[{},{"detail":[{"type":"a","valueString":1}]}],"source"`), "AuditEvent.entity[1].detail[0].valueString", "structure")
	f("concept not object", r4(`"source"`, `"entity":[{"role":{"code":"1"}},{"role":[{"code":"4"}]}],"source"`), "AuditEvent.entity[1].role", "structure")
	f("coding code not string", r4(`"type":{"code":"rest"}`, `"type":{"code":"rest"},"subtype":[{"code":"read"},{"code":7}]`), "AuditEvent.subtype[1].code", "structure")
	f("too large", r4min+strings.Repeat(" ", 300<<10), "AuditEvent", "too-long")
}

func TestRequestErrors(t *testing.T) {
	f := func(name, in, wantExpr, wantCode string) {
		t.Helper()
		_, err := ParseRequest([]byte(in), Limits{MaxBundleEntries: 2})
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s: got %v, want *ValidationError", name, err)
		}
		is := ve.Issues[0]
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		if expr != wantExpr || is.Code != wantCode {
			t.Errorf("%s: got %s %q (%s), want %s %q", name, is.Code, expr, is.Diagnostics, wantCode, wantExpr)
		}
	}
	f("not json", `{"resourceType":`, "", "structure")
	f("no resourceType", `{}`, "Resource.resourceType", "required")
	f("patient", `{"resourceType":"Patient"}`, "Resource.resourceType", "not-supported")
	f("history bundle", `{"resourceType":"Bundle","type":"history"}`, "Bundle.type", "not-supported")
	f("too many entries", `{"resourceType":"Bundle","type":"batch","entry":[{},{},{}]}`, "Bundle.entry", "too-long")
	f("entry not array", `{"resourceType":"Bundle","type":"batch","entry":{}}`, "Bundle.entry", "structure")

	req, err := ParseRequest([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+r4min+`},{"resource":{"resourceType":"Patient"}},{"resource":`+r4min+`,"request":{"method":"DELETE"}},{}]}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Valid() || len(req.Entries) != 4 || req.Entries[0].Err != nil {
		t.Fatalf("got %+v", req.Entries)
	}
	var exprs []string
	for _, is := range req.Issues() {
		exprs = append(exprs, is.Expression[0])
	}
	want := "Bundle.entry[1].resource.resourceType Bundle.entry[2].request.method Bundle.entry[3].resource"
	if got := strings.Join(exprs, " "); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestBundleEntryPath(t *testing.T) {
	in := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + r4min + `},{"resource":` + strings.Replace(r4min, `"requestor":true`, `"requestor":1`, 1) + `}]}`
	req, err := ParseRequest([]byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e := req.Entries[1].Err
	if e == nil || e.Issues[0].Expression[0] != "Bundle.entry[1].resource.agent[0].requestor" {
		t.Fatalf("got %v", e)
	}
}

func TestCapabilityAndBundleResponse(t *testing.T) {
	cs := CapabilityStatement(CapabilityOptions{SoftwareVersion: "0.1", BaseURL: "https://v.example/fhir", Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	var m map[string]any
	if err := json.Unmarshal(cs, &m); err != nil || m["resourceType"] != "CapabilityStatement" || m["fhirVersion"] != "4.0.1" {
		t.Fatalf("got %s", cs)
	}
	if !bytes.Contains(cs, []byte(`"type":"AuditEvent"`)) || !bytes.Contains(cs, []byte(`"code":"transaction"`)) {
		t.Fatalf("capability statement lacks AuditEvent or transaction: %s", cs)
	}
	br := BundleResponse("batch", []EntryResponse{{Status: "201 Created", Location: "AuditEvent/1"}, {Status: "400 Bad Request", Outcome: []Issue{issue("required", "AuditEvent.agent[0].who", "who (1..1) is missing")}}})
	want := `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201 Created","location":"AuditEvent/1"}},{"response":{"status":"400 Bad Request","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required","diagnostics":"who (1..1) is missing","expression":["AuditEvent.agent[0].who"]}]}}}]}`
	if string(br) != want {
		t.Errorf("got %s, want %s", br, want)
	}
}

func TestKeepOriginalAndMessage(t *testing.T) {
	data, _ := os.ReadFile("testdata/r4_balp_patient_read.json")
	ae, err := ParseAuditEvent(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var e event.Event
	MapEvent(&e, ae, data, Options{})
	if e.Has(event.FieldOriginal) || strings.Contains(e.Value("message"), "ex-patient") {
		t.Fatalf("PHI in message or original kept: %v", e.Fields)
	}
	MapEvent(&e, ae, data, Options{KeepOriginal: true})
	if e.Value(event.FieldOriginal) != string(data) {
		t.Fatal("event.original missing with KeepOriginal")
	}
}

func FuzzParseRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(r4min))
	f.Add([]byte(r5min))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data, Limits{MaxBundleEntries: 50})
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Issues) == 0 || !json.Valid(ve.Outcome()) {
				t.Fatalf("error %v is not a ValidationError with a valid OperationOutcome", err)
			}
			return
		}
		for _, en := range req.Entries {
			if en.Err != nil {
				if !json.Valid(en.Err.Outcome()) {
					t.Fatalf("invalid OperationOutcome %s", en.Err.Outcome())
				}
				continue
			}
			var e event.Event
			MapEvent(&e, en.Event, en.Raw, Options{})
		}
	})
}

func BenchmarkParseMap(b *testing.B) {
	data, err := os.ReadFile("testdata/r4_balp_patient_read.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var e event.Event
	for i := 0; i < b.N; i++ {
		req, err := ParseRequest(data, Limits{})
		if err != nil || req.Entries[0].Err != nil {
			b.Fatal(err, req.Entries[0].Err)
		}
		e.Reset()
		MapEvent(&e, req.Entries[0].Event, data, Options{})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

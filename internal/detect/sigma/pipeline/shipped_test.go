package pipeline

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/detect/sigma"
)

func TestShippedParse(t *testing.T) {
	for _, name := range ShippedNames() {
		p, err := Shipped(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p.Routes) == 0 {
			t.Errorf("%s: no routes", name)
		}
	}
}

func TestApplyMapping(t *testing.T) {
	f := func(pipe, product, field string, want ...string) {
		t.Helper()
		p, err := Shipped(pipe)
		if err != nil {
			t.Fatal(err)
		}
		r := &sigma.Rule{LogSource: sigma.LogSource{Product: product}}
		got := MapField([]*Pipeline{p}, r, field)
		if len(got) != len(want) {
			t.Fatalf("%s %s: got %v, want %v", pipe, field, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s %s: got %v, want %v", pipe, field, got, want)
			}
		}
	}
	f("vigil", "windows", "EventID", "winlog.event_id")
	f("vigil", "windows", "Image", "winlog.event_data.Image")
	f("vigil", "linux", "Image", "Image")
	f("evtx_dump", "windows", "Provider_Name", "Event.System.Provider.#attributes.Name")
	f("evtx_dump", "windows", "CommandLine", "Event.EventData.CommandLine")
	f("ecs_windows", "windows", "Image", "process.executable", "winlog.event_data.Image")
	f("ecs_windows", "windows", "Hashes", "winlog.event_data.Hashes")
	f("windows_flat", "windows", "Image", "Image")
	f("windows_flat", "windows", "Computer", "Computer", "Hostname")
}

func TestAddCondition(t *testing.T) {
	p, err := Parse("t.yml", []byte(`
name: t
transformations:
  - id: cond
    type: add_condition
    conditions:
      source: sec
    rule_conditions:
      - type: logsource
        product: windows
  - id: drop
    type: drop_detection_item
    field_name_conditions:
      - type: include_fields
        fields: [Noise]
  - id: fail
    type: rule_failure
    message: no macos here
    rule_conditions:
      - type: logsource
        product: macos
`))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`
title: t
logsource: {product: windows}
detection:
  sel:
    A: 1
    Noise: 2
  condition: sel
`)
	parsed := sigma.ParseFile("r.yml", data, sigma.ParseOptions{})
	if len(parsed.Rules) != 1 {
		t.Fatalf("rules: %+v", parsed.Rejected)
	}
	r, err := Apply([]*Pipeline{p}, parsed.Rules[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Detection.Conditions[0].String(); got != "(_cond_cond_1 and sel)" {
		t.Errorf("condition: got %s", got)
	}
	if n := len(r.Detection.Searches[0].Root.Kids); n != 1 {
		t.Errorf("drop_detection_item: got %d items, want 1", n)
	}
	if len(parsed.Rules[0].Detection.Searches[0].Root.Kids) != 2 {
		t.Errorf("Apply changed the original rule")
	}
	mac := sigma.CloneRule(parsed.Rules[0])
	mac.LogSource.Product = "macos"
	if _, err := Apply([]*Pipeline{p}, mac); err == nil {
		t.Errorf("rule_failure: got no error")
	}
}

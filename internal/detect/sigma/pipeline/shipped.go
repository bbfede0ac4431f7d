package pipeline

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed shipped/*.yml
var shippedFS embed.FS

// ShippedNames lists the pipelines Vigil ships:
//
//   - vigil: events as Vigil stores them (Winlogbeat-style winlog.* for
//     Windows, normalised syslog for Linux); the default.
//   - evtx_dump: evtx_dump JSON (Event.System.*, Event.EventData.*).
//   - windows_flat: NXLog / Security-Datasets style flat Windows JSON.
//   - ecs_windows: Winlogbeat / Elastic Agent events with ECS fields.
//   - linux: Linux syslog and auditd only.
func ShippedNames() []string {
	ents, _ := shippedFS.ReadDir("shipped")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yml"))
	}
	sort.Strings(out)
	return out
}

// Shipped returns a shipped pipeline by name.
func Shipped(name string) (*Pipeline, error) {
	data, err := shippedFS.ReadFile("shipped/" + name + ".yml")
	if err != nil {
		return nil, fmt.Errorf("no shipped pipeline %q (have %s)", name, strings.Join(ShippedNames(), ", "))
	}
	return Parse("shipped/"+name+".yml", data)
}

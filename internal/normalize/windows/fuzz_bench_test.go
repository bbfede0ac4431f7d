package windows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
)

func FuzzParseXML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "forms", "*", "*.xml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`<Event><System><EventID>1</EventID></System><UserData><A><B><C>x</C></B></A></UserData></Event>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseXML(data)
		if err != nil {
			var xe *XMLError
			if !errors.As(err, &xe) || xe.Offset < 0 || xe.Offset > int64(len(data)) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if !e.Has("winlog.event_id") {
			t.Fatalf("no winlog.event_id: %v", e.Fields)
		}
	})
}

func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "forms", "*", "*.json"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e event.Event
		if jsonflat.AppendObject(&e, data, jsonflat.Options{}) != nil {
			return
		}
		before := e.Clone()
		if err := Normalize(&e); err != nil {
			if len(e.Fields) != len(before.Fields) {
				t.Fatalf("event changed on error %v", err)
			}
			return
		}
		// No field name more often than the input had it (inputs may
		// repeat keys; those pass through).
		in := map[string]int{}
		for _, fl := range before.Fields {
			in[fl.Name]++
		}
		out := map[string]int{}
		for _, fl := range e.Fields {
			if out[fl.Name]++; out[fl.Name] > max(in[fl.Name], 1) {
				t.Fatalf("duplicate field %s", fl.Name)
			}
		}
		if !e.Has("winlog.event_id") {
			t.Fatalf("no winlog.event_id")
		}
	})
}

func benchForm(b *testing.B, file string) {
	data, err := os.ReadFile(filepath.Join("testdata", "forms", file))
	if err != nil {
		b.Fatal(err)
	}
	n := NewNormalizer()
	var e event.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	if strings.HasSuffix(file, ".xml") {
		for b.Loop() {
			e.Reset()
			if err := n.AppendXML(&e, data); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		var tmpl event.Event
		if err := jsonflat.AppendObject(&tmpl, data, jsonflat.Options{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			e.Fields = append(e.Fields[:0], tmpl.Fields...)
			if err := n.Normalize(&e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// Normalisation only (the JSON forms arrive flattened by jsonflat).
func BenchmarkNormalizeEvtx4624(b *testing.B)       { benchForm(b, "security_4624/evtx.json") }
func BenchmarkNormalizeWinlogbeat4624(b *testing.B) { benchForm(b, "security_4624/winlogbeat.json") }
func BenchmarkNormalizeNXLog4624(b *testing.B)      { benchForm(b, "security_4624/nxlog.json") }
func BenchmarkNormalizeEvtxSysmon1(b *testing.B)    { benchForm(b, "sysmon_1/evtx.json") }

// XML: parsing and normalisation.
func BenchmarkParseXML4624(b *testing.B)    { benchForm(b, "security_4624/event.xml") }
func BenchmarkParseXMLSysmon1(b *testing.B) { benchForm(b, "sysmon_1/event.xml") }

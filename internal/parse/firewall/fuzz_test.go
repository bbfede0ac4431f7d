package firewall

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

// FuzzParse: every dialect parser on any input: no panic, an error leaves
// the event unchanged, no field twice. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("ASA-6-302013", "Built inbound TCP connection 1 for outside:192.0.2.1/1 (192.0.2.1/1) to inside:10.0.0.1/2 (198.51.100.1/2)")
	f.Add("", `date=2024-11-28 time=10:15:00 devname="F" logid="0000000013" type="traffic" srcip=10.0.0.1 action="deny"`)
	f.Add("", "1,2024/11/28 10:21:00,0128,TRAFFIC,end,1,2024/11/28 10:20:59,10.0.0.1,10.0.0.2,,,r,,,app,vsys1,a,b,e1,e2,lf,,1,1,1,2,0,0,0x0,tcp,allow,1")
	f.Add("", "5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,192.0.2.1,192.0.2.2,1,2,0,S,1,,1,,x")
	f.Fuzz(func(t *testing.T, msgid, msg string) {
		for _, d := range []Dialect{Fortinet, PANOS, ASA, Filterlog} {
			e := event.Event{Fields: []event.Field{{Name: "host.name", Value: "h"}}}
			err := Parse(&e, d, msgid, msg, Options{})
			if err != nil {
				if len(e.Fields) != 1 || !e.Time.IsZero() {
					t.Fatalf("%s %q %q: error %v but event changed", d, msgid, msg, err)
				}
				continue
			}
			seen := map[string]bool{}
			for _, fl := range e.Fields {
				if seen[fl.Name] || fl.Name == "" {
					t.Fatalf("%s %q: field %q twice or empty", d, msg, fl.Name)
				}
				seen[fl.Name] = true
			}
		}
		_ = Detect("filterlog", msgid, msg)
	})
}

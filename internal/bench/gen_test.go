package bench

import (
	"encoding/json"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// Every generated event must be valid for both transports, or the
// benchmark would measure the error paths.
func TestGeneratedEventsParse(t *testing.T) {
	for _, w := range []string{WorkloadMix, WorkloadOpenSSH} {
		testWorkload(t, w)
	}
}

func testWorkload(t *testing.T, w string) {
	g := NewWorkload(w, 1)
	p := &syslog.Parser{}
	for i := range 2000 {
		ev := g.Next()
		var e event.Event
		if err := p.Parse(ev.Syslog, &e); err != nil {
			t.Fatalf("event %d: %s: %v", i, ev.Syslog, err)
		}
		var m map[string]string
		if err := json.Unmarshal(ev.JSON, &m); err != nil || m["message"] == "" {
			t.Fatalf("event %d JSON %s: %v", i, ev.JSON, err)
		}
	}
}

package mllpin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
)

// TestFutureTimesDoNotKeepCareTeamsOpen: an A03 dated 2030 (MSH-7, EVN-2,
// PV1-45) would have made the stay end in 2030, keeping its care team
// "on the team" — and every access by it unremarkable — for years. The
// times are taken as the arrival, the event says so.
func TestFutureTimesDoNotKeepCareTeamsOpen(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	e := setup(t, bus.Config{}, func(c *Config) { c.Now = func() time.Time { return now } })
	c := dial(t, e.srv.Addr().String())
	c.send(msg("ADT^A01^ADT_A01", "MSG1", evnA01, pidDoe, pv1Doe))
	c.expect("AA", "MSG1")
	future := strings.NewReplacer("20240312084500-0500", "20300101000000")
	c.send(future.Replace(msg("ADT^A03^ADT_A03", "MSG2", "EVN|A03|20300101000000", pidDoe, pv1Doe+"|20300101000000")))
	c.expect("AA", "MSG2")
	ctx := context.Background()
	if on, err := e.dir.OnCareTeam(ctx, "D1001", "MRN10001", time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), 0); err != nil || on {
		t.Fatalf("attending still on the care team in 2027 after a discharge dated 2030 (err %v)", err)
	}
	if on, _ := e.dir.OnCareTeam(ctx, "D1001", "MRN10001", now.Add(-time.Hour), 0); !on {
		t.Fatal("attending not on the care team before the discharge")
	}
	evs := e.events(t, 2)
	var dis *event.Event
	for i := range evs {
		if evs[i].Value("healthcare.hl7.control_id") == "MSG2" {
			dis = &evs[i]
		}
	}
	if dis == nil || !dis.Time.Equal(now) || dis.Value(event.FieldTimeSkew) == "" || !strings.Contains(dis.Value("healthcare.hl7.clamped_times"), "PV1-45") {
		t.Fatalf("A03 event: %+v, want the arrival time, vigil.time_skew and the clamped fields named", dis)
	}
}

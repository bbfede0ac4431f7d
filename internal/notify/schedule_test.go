package notify

import (
	"testing"
	"time"
)

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"mon-fri 08:00-18:00", "18:00-08:00; sat-sun", "sat,sun", "daily 00:00-24:00", "fri-mon 22:00-06:00", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseSchedule(s, time.UTC)
		if err != nil {
			return
		}
		base := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		for h := 0; h < 7*24; h += 5 {
			sch.Active(base.Add(time.Duration(h) * time.Hour))
		}
		_ = sch.String()
	})
}

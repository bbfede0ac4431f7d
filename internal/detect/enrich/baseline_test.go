package enrich

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func shiftDays(b *baseline, user string, days int, from, to int) {
	for d := 0; d < days; d++ {
		for h := from; h < to; h++ {
			b.observe(user, time.Date(2024, 3, 1+d, h, 20, 0, 0, time.UTC))
		}
	}
}

func TestBaselineVerdicts(t *testing.T) {
	b := newBaseline(BaselineConfig{MinEvents: 20, MinSpan: 12 * time.Hour, Window: 1, Threshold: 0.02}, time.UTC)
	at := func(day, h int) time.Time { return time.Date(2024, 3, day, h, 40, 0, 0, time.UTC) }
	// Learning: first day, however many events.
	for i := 0; i < 40; i++ {
		if v := b.observe("ann", at(1, 9)); v != hoursLearning {
			t.Fatalf("event %d judged %d while the span is short", i, v)
		}
	}
	// Span reached (13h later), enough events: judged.
	if v := b.observe("ann", at(1, 22)); v != hoursOutside {
		t.Fatalf("22:40 after a 09:xx history: %d", v)
	}
	if v := b.observe("ann", at(2, 10)); v != hoursUsual {
		t.Fatalf("10:40: %d", v)
	}
	if v := b.observe("ann", at(2, 8)); v != hoursUsual { // neighbour hour
		t.Fatalf("08:40: %d", v)
	}
	// Night shift across midnight: 23:00 and 00:00 are neighbours.
	n := newBaseline(BaselineConfig{MinEvents: 10, MinSpan: time.Hour, Window: 1}, time.UTC)
	for d := 1; d <= 3; d++ {
		for _, h := range []int{21, 22, 23, 0, 1, 2, 3, 4, 5} {
			n.observe("nina", time.Date(2024, 3, d, h, 0, 0, 0, time.UTC))
		}
	}
	if v := n.observe("nina", at(4, 6)); v != hoursUsual {
		t.Fatalf("06:40 after a shift ending at 05:xx: %d", v)
	}
	if v := n.observe("nina", at(4, 14)); v != hoursOutside {
		t.Fatalf("14:40 for a night worker: %d", v)
	}
}

// With the defaults (three hours either side, 1%), a user whose work comes
// in bursts within office hours is not flagged between the bursts, and
// the first day is only learnt.
func TestBaselineDefaults(t *testing.T) {
	b := newBaseline(BaselineConfig{}, time.UTC)
	for d := 1; d <= 2; d++ {
		for _, h := range []int{9, 10, 15, 16} {
			for m := 0; m < 60; m += 6 {
				if v := b.observe("bill", time.Date(2024, 3, d, h, m, 0, 0, time.UTC)); d == 1 && v != hoursLearning {
					t.Fatalf("judged on the first day: %d", v)
				}
			}
		}
	}
	if v := b.observe("bill", time.Date(2024, 3, 3, 12, 30, 0, 0, time.UTC)); v != hoursUsual {
		t.Fatalf("12:30 between bursts at 10 and 15: %d", v)
	}
	if v := b.observe("bill", time.Date(2024, 3, 3, 20, 30, 0, 0, time.UTC)); v != hoursOutside {
		t.Fatalf("20:30: %d", v)
	}
}

func TestBaselineTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("time zone data not available:", err)
	}
	b := newBaseline(BaselineConfig{MinEvents: 10, MinSpan: time.Hour, Window: 1}, ny)
	// 09:00-17:00 New York is 13:00-21:00 UTC in March (EST: 14-22).
	for d := 1; d <= 3; d++ {
		for h := 9; h < 17; h++ {
			b.observe("ann", time.Date(2024, 3, d, h, 0, 0, 0, ny))
		}
	}
	if v := b.observe("ann", time.Date(2024, 3, 4, 15, 0, 0, 0, time.UTC)); v != hoursUsual { // 10:00 EST
		t.Fatalf("10:00 local: %d", v)
	}
	if v := b.observe("ann", time.Date(2024, 3, 4, 8, 0, 0, 0, time.UTC)); v != hoursOutside { // 03:00 EST
		t.Fatalf("03:00 local: %d", v)
	}
}

func TestBaselineBoundedAndPersisted(t *testing.T) {
	b := newBaseline(BaselineConfig{MaxUsers: 3, MinEvents: 5, MinSpan: time.Hour}, time.UTC)
	for i, u := range []string{"a", "b", "c", "d"} {
		shiftDays(b, u, 1, 8, 8+i+1)
	}
	if got := b.userNames(); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("after eviction: %v", got)
	}
	var buf bytes.Buffer
	if err := b.write(&buf); err != nil {
		t.Fatal(err)
	}
	c := newBaseline(BaselineConfig{MaxUsers: 3, MinEvents: 5, MinSpan: time.Hour}, time.UTC)
	if skipped, err := c.read(bytes.NewReader(buf.Bytes())); err != nil || skipped != 0 {
		t.Fatalf("read: %v, %d skipped", err, skipped)
	}
	var again bytes.Buffer
	c.write(&again)
	if again.String() != buf.String() {
		t.Fatalf("round trip differs:\n%s\n%s", buf.String(), again.String())
	}
	// LRU order survives: the least recent ("b") goes first.
	c.observe("e", time.Date(2024, 3, 2, 8, 0, 0, 0, time.UTC))
	if got := c.userNames(); !slices.Equal(got, []string{"c", "d", "e"}) {
		t.Fatalf("eviction after restore: %v", got)
	}
	// A smaller MaxUsers keeps the most recent.
	d := newBaseline(BaselineConfig{MaxUsers: 2}, time.UTC)
	d.read(bytes.NewReader(buf.Bytes()))
	if got := d.userNames(); !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("restore into a smaller baseline: %v", got)
	}
	// Another zone: refused (hours would mean something else).
	ny, _ := time.LoadLocation("America/New_York")
	if ny != nil {
		z := newBaseline(BaselineConfig{}, ny)
		if _, err := z.read(bytes.NewReader(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "time zone") {
			t.Fatalf("zone mismatch: %v", err)
		}
	}
}

func TestBaselineReadBad(t *testing.T) {
	f := func(in, wantErr string, wantSkipped int) {
		t.Helper()
		b := newBaseline(BaselineConfig{}, time.UTC)
		skipped, err := b.read(strings.NewReader(in))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("read(%q): error %v, want %q", in, err, wantErr)
			}
			return
		}
		if err != nil || skipped != wantSkipped {
			t.Errorf("read(%q): %v, %d skipped, want %d", in, err, skipped, wantSkipped)
		}
	}
	f(``, "baseline state: EOF", 0)
	f(`{"version":2}`, "version 2 not supported", 0)
	f(`{"version":1,"users":[{"u":"a","h":[1],"t":1,"f":1,"l":1}]}`, "", 0)
	f(`{"version":1,"users":[{"u":"","t":0}]}`, "", 1)
	f(`{"version":1,"users":[{"u":"a","h":[-1],"t":-1}]}`, "", 1)
	f(`{"version":1,"users":[{"u":"a","h":[5],"t":1}]}`, "", 1) // total does not add up
	f(`{"version":1,"users":[{"u":"a","f":9,"l":1}]}`, "", 1)
	f(`{"version":1,"users":"x"}`, "cannot unmarshal", 0)
}

func FuzzBaselineRead(f *testing.F) {
	b := newBaseline(BaselineConfig{MinEvents: 1, MinSpan: time.Second}, time.UTC)
	shiftDays(b, "ann", 2, 7, 19)
	var buf bytes.Buffer
	b.write(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1,"users":[{"u":"a","h":[1e308,1e308],"t":1e308}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newBaseline(BaselineConfig{MinEvents: 1, MinSpan: time.Second, MaxUsers: 5}, time.UTC)
		if _, err := c.read(bytes.NewReader(data)); err != nil {
			return
		}
		if c.size() > 5 {
			t.Fatalf("%d users kept, max 5", c.size())
		}
		c.observe("ann", time.Date(2024, 3, 1, 3, 0, 0, 0, time.UTC))
		var out bytes.Buffer
		if err := c.write(&out); err != nil {
			t.Fatal(err)
		}
	})
}

// The enricher keeps the baseline across restarts through its state file.
func TestEnricherSavesBaseline(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "enrich-baseline.json")
	mk := func() *Enricher {
		return newEnricher(t, f.dir, func(c *Config) {
			c.StatePath, c.SaveEvery = path, 10*time.Millisecond
			c.Baseline = BaselineConfig{MinEvents: 10, MinSpan: time.Hour}
		})
	}
	e := mk()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	for h := 8; h < 18; h++ {
		for m := 0; m < 60; m += 20 {
			e.Enrich(context.Background(), access("ehr", "nurse.ann", "MRN1", fmt.Sprintf("2024-03-12T%02d:%02d:00Z", h, m)))
		}
	}
	cancel()
	<-done
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	e2 := mk()
	if e2.Stats().BaselineUsers != 1 {
		t.Fatalf("restored %d users", e2.Stats().BaselineUsers)
	}
	ev := access("ehr", "nurse.ann", "MRN1", "2024-03-13T02:00:00Z")
	e2.Enrich(context.Background(), ev)
	want(t, "after restart", ev, FieldOutsideHour, "true")
	// A corrupt state file: logged, learnt afresh, not fatal.
	os.WriteFile(path, []byte("{garbage"), 0o600)
	if e3 := mk(); e3.Stats().BaselineUsers != 0 {
		t.Fatal("corrupt state restored")
	}
}

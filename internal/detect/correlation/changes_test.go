package correlation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/event"
)

// groupsOf is a snapshot's groups, in key order (recency aside).
func groupsOf(t *testing.T, c *Engine) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	var f snapFile
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range f.Groups {
		b, _ := json.Marshal(g)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// TestChangesRebuildTheState: a snapshot followed by the changes since,
// applied in order, rebuild the state (grown, new and removed groups),
// and the changes hold only the groups that changed.
func TestChangesRebuildTheState(t *testing.T) {
	const groups = 1000
	eng, a := setup(t, sizeCorr, Options{MaxGroups: groups + 5})
	fail := func(user string, sec int) {
		e := event.Event{Time: t0.Add(time.Duration(sec) * time.Second)}
		e.Add("event.module", "test")
		e.Add("outcome", "failure")
		e.Add("user", user)
		e.Add(event.FieldID, fmt.Sprintf("%s-%d", user, sec))
		eng.Match(&e, func(m *engine.Match) { a.Observe(m) })
	}
	for g := range groups {
		fail(fmt.Sprintf("user-%04d", g), 0)
	}
	var base bytes.Buffer
	if err := a.Snapshot(&base); err != nil {
		t.Fatal(err)
	}
	// Three groups grow; ten new ones evict the ten least recent.
	var changes []bytes.Buffer
	for round := range 2 {
		for _, u := range []string{"user-0500", "user-0600", "user-0999"} {
			fail(u, 10+round)
		}
		for i := range 5 {
			fail(fmt.Sprintf("new-%d-%d", round, i), 20)
		}
		var buf bytes.Buffer
		if err := a.SnapshotChanges(&buf); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n > 13 || n < 8 {
			t.Errorf("round %d: %d changed groups written, want 3 grown, 5 new and the evicted: %s", round, n, buf.String())
		}
		changes = append(changes, buf)
	}
	if s := a.Stats(); s.Evictions == 0 {
		t.Fatalf("no group evicted: %+v", s)
	}
	_, b := setup(t, sizeCorr, Options{MaxGroups: groups + 5})
	if _, err := b.Restore(&base); err != nil {
		t.Fatal(err)
	}
	for i := range changes {
		if skipped, err := b.RestoreChanges(&changes[i]); err != nil || skipped != 0 {
			t.Fatalf("changes %d: %v, skipped %d", i, err, skipped)
		}
	}
	got, want := groupsOf(t, b), groupsOf(t, a)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rebuilt state differs: %d groups, want %d", len(got), len(want))
	}
	if sb, sa := b.Stats(), a.Stats(); sb.Groups != sa.Groups || sb.Bytes != sa.Bytes {
		t.Errorf("rebuilt stats %+v, want %+v", sb, sa)
	}
}

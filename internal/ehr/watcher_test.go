package ehr

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/logbuf"
)

type watchEnv struct {
	dir     string
	w       *Watcher
	m       *Mapping
	st      *State
	cons    *bus.Consumer
	metrics *ingest.Metrics
	logs    *logbuf.Buffer
}

func newWatchEnv(t *testing.T, busCfg bus.Config) *watchEnv {
	t.Helper()
	b, cons := bustest.Open(t, busCfg)
	e := &watchEnv{dir: t.TempDir(), cons: cons, metrics: ingest.NewMetrics(prometheus.NewRegistry()), logs: &logbuf.Buffer{}}
	e.m, _ = Preset("epic")
	e.w = &Watcher{Dir: e.dir, Mapping: e.m, Pub: b, Metrics: e.metrics, StatePath: filepath.Join(t.TempDir(), "state.json"),
		Log: slog.New(slog.NewTextHandler(e.logs, nil)), Now: func() time.Time { return testNow }, BatchEvents: 3, Patterns: []string{"*.csv"}}
	e.reload(t)
	return e
}

// reload starts over as a restarted process would: state from disk.
func (e *watchEnv) reload(t *testing.T) {
	t.Helper()
	st, err := LoadState(e.w.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	e.w.reported = map[string]string{}
	e.w.Log = slog.New(slog.NewTextHandler(e.logs, nil))
}

func (e *watchEnv) scan() { e.w.Scan(context.Background(), e.m, e.st) }

// users returns the user.name of the events published since the last call.
func (e *watchEnv) users(t *testing.T) []string {
	t.Helper()
	var out []string
	for {
		msgs, err := e.cons.Fetch(context.Background(), 100, 150*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if m.Source != Source {
				t.Fatalf("source %q", m.Source)
			}
			evs, err := event.DecodeBatch(nil, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				out = append(out, ev.Value("user.name"))
			}
			_ = m.Ack()
		}
	}
}

const epicHeader = "ACCESS_INSTANT,USER_ID,PAT_MRN_ID,METRIC_NAME\n"

func row(user string) string { return "2024-03-12 10:00:00," + user + ",MRN1,CHART OPENED\n" }

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func expectUsers(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("users %q, want %q", got, want)
	}
}

func TestWatcherAppendsRestartsAndReplacements(t *testing.T) {
	e := newWatchEnv(t, bus.Config{})
	a := filepath.Join(e.dir, "access.csv")
	appendFile(t, a, epicHeader+row("u1")+row("u2"))
	appendFile(t, filepath.Join(e.dir, "notes.md"), "ignored")
	e.scan()
	expectUsers(t, e.users(t), "u1", "u2")

	// Appended: one complete line and one still being written.
	appendFile(t, a, row("u3")+"2024-03-12 10:00:00,u4,MR")
	e.scan()
	expectUsers(t, e.users(t), "u3")
	appendFile(t, a, "N1,CHART OPENED\n")
	e.scan()
	expectUsers(t, e.users(t), "u4")
	e.scan()
	expectUsers(t, e.users(t))

	// A restart continues where the state says.
	e.reload(t)
	appendFile(t, a, row("u5"))
	e.scan()
	expectUsers(t, e.users(t), "u5")

	// Many rows: published in batches of BatchEvents.
	var many strings.Builder
	for i := range 7 {
		many.WriteString(row(fmt.Sprintf("m%d", i)))
	}
	appendFile(t, a, many.String())
	e.scan()
	expectUsers(t, e.users(t), "m0", "m1", "m2", "m3", "m4", "m5", "m6")

	// Replaced by another file (log rotation): read from the start.
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	appendFile(t, a, "USER_ID,ACCESS_INSTANT,PAT_MRN_ID\nr1,2024-03-12 11:00:00,MRN2\n")
	e.scan()
	expectUsers(t, e.users(t), "r1")
	// Truncated and rewritten with the same beginning.
	if err := os.WriteFile(a, []byte("USER_ID,ACCESS_INSTANT,PAT_MRN_ID\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.scan()
	appendFile(t, a, "t1,2024-03-12 12:00:00,MRN3\n")
	e.scan()
	expectUsers(t, e.users(t), "t1")

	// A second file; the state knows both.
	b := filepath.Join(e.dir, "b.csv")
	appendFile(t, b, epicHeader+row("b1"))
	e.scan()
	expectUsers(t, e.users(t), "b1")
	if len(e.st.Files) != 2 {
		t.Fatalf("state files %v", e.st.Files)
	}
	// Gone files leave the state.
	os.Remove(b)
	e.scan()
	if len(e.st.Files) != 1 {
		t.Fatalf("state files after removal %v", e.st.Files)
	}
	if got := testutil.ToFloat64(e.metrics.Received.WithLabelValues(Source)); got != 15 {
		t.Fatalf("received %v, want 15", got)
	}
}

func TestWatcherBadFileAndRows(t *testing.T) {
	e := newWatchEnv(t, bus.Config{})
	bad := filepath.Join(e.dir, "bad.csv")
	appendFile(t, bad, "WHO,WHAT\nDOE JOHN,MRN10001\n")
	e.scan()
	e.scan()
	expectUsers(t, e.users(t))
	if n := strings.Count(e.logs.String(), "cannot be imported"); n != 1 {
		t.Fatalf("file problem logged %d times:\n%s", n, e.logs.String())
	}
	good := filepath.Join(e.dir, "good.csv")
	appendFile(t, good, epicHeader+"2024-03-12 99:00:00,u1,MRN10001,VIEW\n"+row("u2"))
	e.scan()
	expectUsers(t, e.users(t), "u1", "u2")
	logs := e.logs.String()
	if !strings.Contains(logs, "line=2") || strings.Contains(logs, "MRN10001") || strings.Contains(logs, "DOE") || strings.Contains(logs, "99:00") {
		t.Fatalf("log:\n%s", logs)
	}
	if got := testutil.ToFloat64(e.metrics.Failed.WithLabelValues(Source)); got != 1 {
		t.Fatalf("failed %v", got)
	}
}

func TestWatcherBusFullLosesNothing(t *testing.T) {
	e := newWatchEnv(t, bus.Config{MaxBytes: 16 << 10, MaxBatchBytes: 4 << 10})
	e.w.BatchEvents = 5
	a := filepath.Join(e.dir, "a.csv")
	var want []string
	var b strings.Builder
	b.WriteString(epicHeader)
	for i := range 120 {
		u := fmt.Sprintf("user%03d-%s", i, strings.Repeat("x", 40))
		want = append(want, u)
		b.WriteString(row(u))
	}
	appendFile(t, a, b.String())
	var got []string
	for range 100 {
		e.scan()
		got = append(got, e.users(t)...) // consuming frees the bus
		if len(got) >= len(want) {
			break
		}
	}
	sort.Strings(got)
	expectUsers(t, got, want...)
	if !strings.Contains(e.logs.String(), "bus refused") {
		t.Fatal("the bus never refused: the test proves nothing")
	}
}

func TestWatcherRun(t *testing.T) {
	e := newWatchEnv(t, bus.Config{})
	e.w.Mapping = nil
	e.w.Preset = "epic"
	e.w.Interval = 50 * time.Millisecond
	appendFile(t, filepath.Join(e.dir, "a.csv"), epicHeader+row("u1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for len(got) == 0 && time.Now().Before(deadline) {
		got = append(got, e.users(t)...)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expectUsers(t, got, "u1")
	for _, bad := range []*Watcher{
		{Dir: e.dir, Preset: "nope", Pub: e.w.Pub, Metrics: e.metrics, StatePath: e.w.StatePath},
		{Dir: filepath.Join(e.dir, "missing"), Preset: "epic", Pub: e.w.Pub, Metrics: e.metrics, StatePath: e.w.StatePath},
		{Dir: e.dir, Preset: "epic", Metrics: e.metrics, StatePath: e.w.StatePath},
	} {
		if err := bad.Run(context.Background()); err == nil {
			t.Errorf("Run(%+v) started", bad)
		}
	}
}

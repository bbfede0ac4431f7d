package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/web/webtest"
)

var t0 = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ev is an event as the pipeline stores it: arrived (event.ingested) at
// the clock's time.
func ev(host, dataset, module string, at time.Time) *event.Event {
	e := &event.Event{Time: at.Add(-2 * time.Second)}
	if host != "" {
		e.Add("host.name", host)
	}
	if dataset != "" {
		e.Add("event.dataset", dataset)
	}
	if module != "" {
		e.Add("event.module", module)
	}
	e.Add("message", "x")
	ingest.Stamp(e, at)
	return e
}

func newTracker(t *testing.T, cfg Config, c *clock, dbPath string) (*Tracker, *alerts.Store, func()) {
	t.Helper()
	d, err := db.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := alerts.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(context.Background(), cfg, Options{DB: d, Alerts: st, Now: c.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return tr, st, func() { d.Close() }
}

func alertKeys(t *testing.T, st *alerts.Store) []string {
	t.Helper()
	as, err := st.List(context.Background(), alerts.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := len(as) - 1; i >= 0; i-- { // oldest first
		keys = append(keys, as[i].Kind+" "+as[i].Level+" "+as[i].Key)
	}
	return keys
}

func TestObserveAndList(t *testing.T) {
	c := &clock{t: t0}
	tr, err := New(context.Background(), Config{}, Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		tr.Observe(ev("EHR-1", "ehr.audit", "", c.Now().Add(time.Duration(i)*time.Second)))
	}
	tr.Observe(ev("fw1", "", "cef", c.Now()))
	tr.Observe(ev("", "", "", c.Now()))
	c.Add(time.Minute)
	list, total := tr.List(Filter{})
	if total != 3 || len(list) != 3 {
		t.Fatalf("%d sources: %+v", total, list)
	}
	// Ordered by host: "", "EHR-1", "fw1".
	ehr := list[1]
	if ehr.Host != "EHR-1" || ehr.Dataset != "ehr.audit" || ehr.Count != 30 || !ehr.FirstSeen.Equal(t0) || !ehr.LastSeen.Equal(t0.Add(29*time.Second)) ||
		!ehr.LastEvent.Equal(t0.Add(27*time.Second)) || ehr.RatePerMinute != 3 || !ehr.Watched || ehr.Window != "1h0m0s" {
		t.Fatalf("EHR source %+v", ehr)
	}
	if list[2].Dataset != "cef" || list[2].Watched {
		t.Fatalf("module as dataset, unwatched with 1 event: %+v", list[2])
	}
	if l, n := tr.List(Filter{Host: "ehr-*"}); n != 1 || l[0].Host != "EHR-1" {
		t.Fatalf("host glob: %+v", l)
	}
	if _, n := tr.List(Filter{Dataset: "c?f"}); n != 1 {
		t.Fatal("dataset glob")
	}
	no := false
	if l, n := tr.List(Filter{Silent: &no, Limit: 1}); n != 3 || len(l) != 1 {
		t.Fatalf("limit: %d %d", n, len(l))
	}
	// The rate window is ten minutes.
	c.Add(20 * time.Minute)
	if l, _ := tr.List(Filter{Host: "EHR-1"}); l[0].RatePerMinute != 0 {
		t.Fatalf("rate after 20 quiet minutes: %v", l[0].RatePerMinute)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	tr, err := New(context.Background(), Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := ev("ehr-db-1", "postgresql.log", "", t0)
	tr.Observe(e)
	if n := testing.AllocsPerRun(1000, func() { tr.Observe(e) }); n != 0 {
		t.Fatalf("Observe allocates %v times per event", n)
	}
}

func TestParseUTC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		tm := time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
		if r.IntN(4) == 0 {
			tm = tm.Truncate(time.Second)
		}
		s := tm.Format(time.RFC3339Nano)
		got, ok := parseUTC(s)
		if !ok || got != tm.UnixNano() {
			t.Fatalf("parseUTC(%q) = %d %v, want %d", s, got, ok, tm.UnixNano())
		}
	}
	for _, bad := range []string{"", "2026-11-28T08:00:00+01:00", "2026-13-28T08:00:00Z", "2026-11-28T08:00:00.Z", "2026-11-28 08:00:00Z", "x026-11-28T08:00:00Z", "2026-11-28T08:00:00.1234567890Z"} {
		if _, ok := parseUTC(bad); ok {
			t.Errorf("parseUTC(%q) accepted", bad)
		}
	}
}

func TestSilenceAndRecovery(t *testing.T) {
	c := &clock{t: t0}
	cfg := Config{Window: time.Hour, Grace: 10 * time.Minute, MinEvents: 3, RecoveryAlerts: true, Level: "high",
		Overrides: []Override{{Host: "laptop-*", Disabled: true}, {Dataset: "backup.*", Window: 26 * time.Hour}}}
	tr, st, done := newTracker(t, cfg, c, filepath.Join(t.TempDir(), "v.db"))
	defer done()
	ctx := context.Background()
	for i := range 5 {
		at := c.Now().Add(time.Duration(i) * time.Second)
		tr.Observe(ev("ehr-1", "ehr.audit", "", at))
		tr.Observe(ev("laptop-7", "windows.security", "", at))
		tr.Observe(ev("nas", "backup.job", "", at))
	}
	tr.Observe(ev("once", "test", "", c.Now())) // fewer than MinEvents
	check := func() {
		t.Helper()
		if err := tr.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Add(59 * time.Minute)
	check()
	if k := alertKeys(t, st); len(k) != 0 {
		t.Fatalf("alerts within the window: %v", k)
	}
	c.Add(2 * time.Minute)
	check()
	check() // idempotent
	lastSeen := t0.Add(4 * time.Second).Unix()
	want := []string{fmt.Sprintf("source_silent high source_silent/ehr-1/ehr.audit/%d", lastSeen)}
	if k := alertKeys(t, st); fmt.Sprint(k) != fmt.Sprint(want) {
		t.Fatalf("alerts %v, want %v", k, want)
	}
	yes := true
	if l, n := tr.List(Filter{Silent: &yes}); n != 1 || l[0].Host != "ehr-1" || l[0].SilentSince == nil {
		t.Fatalf("silent list %+v", l)
	}
	as, _ := st.List(ctx, alerts.Filter{Kind: "source_silent"})
	if a := as[0]; a.Fields["host.name"] != "ehr-1" || a.Fields["event.dataset"] != "ehr.audit" || a.RuleID != "vigil.source_silent" ||
		!a.Time.Equal(t0.Add(time.Hour+4*time.Second)) || a.Tags[0] != "vigil.source_health" {
		t.Fatalf("alert %+v", a)
	}
	// It sends again: recovered, one informational alert.
	tr.Observe(ev("ehr-1", "ehr.audit", "", c.Now()))
	check()
	check()
	want = append(want, fmt.Sprintf("source_recovered informational source_recovered/ehr-1/ehr.audit/%d", lastSeen))
	if k := alertKeys(t, st); fmt.Sprint(k) != fmt.Sprint(want) {
		t.Fatalf("alerts %v, want %v", k, want)
	}
	// Silent again: a new episode, a new alert.
	c.Add(2 * time.Hour)
	check()
	want = append(want, fmt.Sprintf("source_silent high source_silent/ehr-1/ehr.audit/%d", c.Now().Add(-2*time.Hour).Unix()))
	if k := alertKeys(t, st); fmt.Sprint(k) != fmt.Sprint(want) {
		t.Fatalf("alerts %v, want %v", k, want)
	}
	// The backup job has its own 26h window; the laptop never alerts.
	c.Add(24 * time.Hour)
	check()
	want = append(want, fmt.Sprintf("source_silent high source_silent/nas/backup.job/%d", lastSeen))
	if k := alertKeys(t, st); fmt.Sprint(k) != fmt.Sprint(want) {
		t.Fatalf("alerts %v, want %v", k, want)
	}
	if l, _ := tr.List(Filter{Host: "laptop-7"}); l[0].Window != "disabled" || l[0].Watched {
		t.Fatalf("disabled source %+v", l[0])
	}
}

// After a restart, sources persisted as sending are judged from Vigil's
// start, after the grace period, not from their last arrival.
func TestRestartDoesNotAlertForDowntime(t *testing.T) {
	c := &clock{t: t0}
	dbPath := filepath.Join(t.TempDir(), "v.db")
	cfg := Config{Window: time.Hour, Grace: 15 * time.Minute, MinEvents: 1}
	tr, st, done := newTracker(t, cfg, c, dbPath)
	for i := range 20 {
		tr.Observe(ev(fmt.Sprintf("host-%d", i), "syslog", "", c.Now()))
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	done()

	c.Add(3 * time.Hour) // Vigil was down for three hours.
	tr, st, done = newTracker(t, cfg, c, dbPath)
	defer done()
	if l, n := tr.List(Filter{}); n != 20 || l[0].Count != 1 {
		t.Fatalf("loaded %d sources: %+v", n, l)
	}
	ctx := context.Background()
	tr.Check(ctx)
	c.Add(20 * time.Minute) // past the grace period, within a window of the start
	tr.Observe(ev("host-3", "syslog", "", c.Now()))
	tr.Check(ctx)
	if k := alertKeys(t, st); len(k) != 0 {
		t.Fatalf("alerts right after a restart: %v", k)
	}
	c.Add(41 * time.Minute) // a window after the start: the others are silent
	tr.Check(ctx)
	if k := alertKeys(t, st); len(k) != 19 {
		t.Fatalf("%d alerts, want 19 (all but host-3): %v", len(k), k)
	}
}

func TestBehindRaisesNothing(t *testing.T) {
	c := &clock{t: t0}
	d, err := db.Open(filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, _ := alerts.Open(context.Background(), d)
	behind := true
	tr, err := New(context.Background(), Config{MinEvents: 1, Grace: time.Minute}, Options{DB: d, Alerts: st, Now: c.Now, Behind: func() bool { return behind }})
	if err != nil {
		t.Fatal(err)
	}
	tr.Observe(ev("h", "d", "", c.Now()))
	c.Add(5 * time.Hour)
	tr.Check(context.Background())
	if k := alertKeys(t, st); len(k) != 0 {
		t.Fatalf("alerts while behind: %v", k)
	}
	behind = false
	tr.Check(context.Background())
	if k := alertKeys(t, st); len(k) != 1 {
		t.Fatalf("alerts once caught up: %v", k)
	}
}

func TestPersistenceAndEviction(t *testing.T) {
	c := &clock{t: t0}
	dbPath := filepath.Join(t.TempDir(), "v.db")
	tr, _, done := newTracker(t, Config{MaxSources: 100}, c, dbPath)
	for i := range 150 {
		tr.Observe(ev(fmt.Sprintf("h%03d", i), "d", "", c.Now().Add(time.Duration(i)*time.Second)))
	}
	tracked, evicted := tr.Stats()
	if tracked > 100 || evicted != 50 {
		t.Fatalf("tracked %d evicted %d", tracked, evicted)
	}
	if _, n := tr.List(Filter{Host: "h000"}); n != 0 {
		t.Fatal("the oldest source was not evicted")
	}
	if _, n := tr.List(Filter{Host: "h149"}); n != 1 {
		t.Fatal("the newest source was evicted")
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	done()
	tr, _, done = newTracker(t, Config{MaxSources: 100}, c, dbPath)
	defer done()
	if l, n := tr.List(Filter{Host: "h149"}); n != 1 || l[0].Count != 1 || !l[0].LastSeen.Equal(t0.Add(149*time.Second)) {
		t.Fatalf("reloaded %+v", l)
	}
	if n, _ := tr.Stats(); n != 100 {
		t.Fatalf("reloaded %d sources, want 100", n)
	}
}

func TestRunFlushesOnStop(t *testing.T) {
	c := &clock{t: t0}
	dbPath := filepath.Join(t.TempDir(), "v.db")
	tr, _, done := newTracker(t, Config{CheckInterval: time.Hour, FlushInterval: time.Hour}, c, dbPath)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { tr.Run(ctx); close(stopped) }()
	tr.Observe(ev("h", "d", "", c.Now()))
	cancel()
	<-stopped
	done()
	tr, _, done = newTracker(t, Config{}, c, dbPath)
	defer done()
	if _, n := tr.List(Filter{}); n != 1 {
		t.Fatal("source not flushed when Run ended")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Level: "severe"},
		{Overrides: []Override{{Host: "[a-"}}},
		{Overrides: []Override{{Host: "x"}}},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Overrides: []Override{{Host: "a*", Window: time.Minute}, {Dataset: "b", Disabled: true}}}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestConcurrentObserve(t *testing.T) {
	tr, _ := New(context.Background(), Config{MaxSources: 50}, Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				tr.Observe(ev(fmt.Sprintf("h%d", (i+g)%80), "d", "", t0.Add(time.Duration(i)*time.Millisecond)))
				if i%100 == 0 {
					tr.List(Filter{})
					tr.Check(context.Background())
				}
			}
		}()
	}
	wg.Wait()
	if n, _ := tr.Stats(); n > 50 {
		t.Fatalf("%d sources over the bound", n)
	}
}

func TestHandler(t *testing.T) {
	c := &clock{t: t0}
	tr, _ := New(context.Background(), Config{}, Options{Now: c.Now})
	tr.Observe(ev("pacs", "dicom.audit", "", c.Now()))
	tr.Observe(ev("ehr", "ehr.audit", "", c.Now()))
	h := &Handler{Tracker: tr}
	w := webtest.New(t, webtest.Options{}, h.Routes()...)
	get := func(q string) (int, listResponse) {
		req, _ := http.NewRequest("GET", w.URL+"/api/v1/sources"+q, nil)
		req.Header.Set("Authorization", "Bearer "+w.Tokens["analyst"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r listResponse
		json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	if code, r := get(""); code != 200 || r.Total != 2 || r.Tracked != 2 || r.Sources[0].Host != "ehr" {
		t.Fatalf("%d %+v", code, r)
	}
	if code, r := get("?dataset=dicom*&silent=false"); code != 200 || r.Total != 1 || r.Sources[0].Host != "pacs" {
		t.Fatalf("%d %+v", code, r)
	}
	if code, r := get("?silent=true"); code != 200 || r.Total != 0 || r.Sources == nil {
		t.Fatalf("%d %+v", code, r)
	}
	for _, q := range []string{"?silent=maybe", "?host=[", "?limit=0"} {
		if code, _ := get(q); code != 400 {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	resp, err := http.Get(w.URL + "/api/v1/sources")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("without token: %d", resp.StatusCode)
	}
}

// BenchmarkObserve measures the cost the detector pays per stored event.
func BenchmarkObserve(b *testing.B) {
	tr, _ := New(context.Background(), Config{}, Options{})
	var evs []*event.Event
	for i := range 1000 {
		evs = append(evs, ev(fmt.Sprintf("host-%d", i%200), fmt.Sprintf("ds-%d", i%5), "", t0.Add(time.Duration(i)*time.Second)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Observe(evs[i%len(evs)])
	}
}

// FuzzParseUTC: the fast parser agrees with the time package on what it
// accepts, and never panics.
func FuzzParseUTC(f *testing.F) {
	f.Add("2026-11-28T08:00:00.123456789Z")
	f.Add("2026-11-28T08:00:00Z")
	f.Add("1970-01-01T00:00:00.1Z")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseUTC(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			// parseUTC does not check days per month or leap seconds:
			// event.ingested is Vigil's own stamp.
			return
		}
		if got != want.UnixNano() {
			t.Fatalf("parseUTC(%q) = %d, want %d", s, got, want.UnixNano())
		}
	})
}

func TestMetrics(t *testing.T) {
	c := &clock{t: t0}
	tr, _ := New(context.Background(), Config{MinEvents: 1, Grace: time.Minute, MaxSources: 1}, Options{Now: c.Now})
	reg := prometheus.NewRegistry()
	tr.RegisterMetrics(reg)
	tr.Observe(ev("a", "d", "", c.Now()))
	tr.Observe(ev("b", "d", "", c.Now()))
	c.Add(2 * time.Hour)
	tr.Check(context.Background())
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
	}
	want := map[string]float64{"vigil_sources_tracked": 1, "vigil_sources_silent": 1, "vigil_sources_evicted_total": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("metrics %v, want %v", got, want)
	}
}

// TestParseErrorsPerSource: events kept with vigil.parse_error are counted
// per source, shown by the API and kept across a restart.
func TestParseErrorsPerSource(t *testing.T) {
	c := &clock{t: t0}
	dbPath := filepath.Join(t.TempDir(), "v.db")
	tr, _, done := newTracker(t, Config{}, c, dbPath)
	for i := range 5 {
		e := ev("fw01", "syslog", "", c.Now().Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			e.Add(event.FieldParseError, "rfc3164: invalid timestamp")
		}
		tr.Observe(e)
	}
	tr.Observe(ev("web01", "syslog", "", c.Now()))
	l, _ := tr.List(Filter{Host: "fw01"})
	if len(l) != 1 || l[0].ParseErrors != 3 || l[0].LastParseError == nil || !l[0].LastParseError.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("fw01: %+v", l)
	}
	if l, _ := tr.List(Filter{Host: "web01"}); l[0].ParseErrors != 0 || l[0].LastParseError != nil {
		t.Fatalf("web01: %+v", l[0])
	}
	rec := httptest.NewRecorder()
	(&Handler{Tracker: tr}).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/sources?host=fw01", nil))
	var resp struct {
		Sources []map[string]any `json:"sources"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Sources) != 1 || resp.Sources[0]["parse_errors"] != 3.0 {
		t.Fatalf("API: %v %s", err, rec.Body.String())
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	done()
	tr, _, done = newTracker(t, Config{}, c, dbPath)
	defer done()
	if l, _ := tr.List(Filter{Host: "fw01"}); l[0].ParseErrors != 3 || l[0].LastParseError == nil {
		t.Fatalf("reloaded %+v", l[0])
	}
}

// TestClockSkewAlert: a source whose events are dated hours after they
// arrive (a wrong clock, or someone blinding the correlations) raises one
// clock-skew alert per day naming its address; a restart does not raise
// it again; historical imports are not tracked as sources.
func TestClockSkewAlert(t *testing.T) {
	c := &clock{t: t0}
	dbPath := filepath.Join(t.TempDir(), "v.db")
	tr, st, done := newTracker(t, Config{}, c, dbPath)
	ctx := context.Background()
	for i := range 3 {
		e := &event.Event{Time: c.Now().Add(3 * time.Hour)}
		e.Add("host.name", "pump-3")
		e.Add("event.dataset", "syslog")
		e.Add("log.source.address", "10.1.2.3:514")
		ingest.Stamp(e, c.Now().Add(time.Duration(i)*time.Second))
		tr.Observe(e)
		tr.Observe(ev("ehr-1", "ehr.audit", "", c.Now())) // on time
	}
	old := ev("dc-old", "windows.security", "", c.Now().AddDate(0, -1, 0))
	old.Add(event.FieldImport, "true")
	tr.Observe(old)
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	as, err := st.List(ctx, alerts.Filter{Kind: "source_clock_skew"})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Fields["host.name"] != "pump-3" || as[0].Fields["max_time_skew_seconds"] != "10800" ||
		as[0].Fields["log.source.address"] != "10.1.2.3:514" || as[0].Fields["time_skew_events"] != "3" {
		t.Fatalf("clock-skew alerts %+v, want one for pump-3, 3 events, 10800s, from 10.1.2.3:514", as)
	}
	if l, n := tr.List(Filter{}); n != 2 || l[1].Host != "pump-3" || l[1].TimeSkewEvents != 3 || l[0].TimeSkewEvents != 0 {
		t.Fatalf("sources %+v: want ehr-1 and pump-3 (3 skewed events), not the import", l)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	done()
	// Restarted the same day: nothing new; the next day, nothing until
	// the source sends skewed events again.
	tr, st, done = newTracker(t, Config{}, c, dbPath)
	defer done()
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if as, _ := st.List(ctx, alerts.Filter{Kind: "source_clock_skew"}); len(as) != 1 {
		t.Fatalf("after a restart: %d clock-skew alerts, want still 1", len(as))
	}
	c.Add(24 * time.Hour)
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if as, _ := st.List(ctx, alerts.Filter{Kind: "source_clock_skew"}); len(as) != 1 {
		t.Fatalf("next day, no skewed event: %d clock-skew alerts, want still 1", len(as))
	}
	e := &event.Event{Time: c.Now().Add(time.Hour)}
	e.Add("host.name", "pump-3")
	e.Add("event.dataset", "syslog")
	ingest.Stamp(e, c.Now())
	tr.Observe(e)
	if err := tr.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if as, _ := st.List(ctx, alerts.Filter{Kind: "source_clock_skew"}); len(as) != 2 {
		t.Fatalf("next day, skewed again: %d clock-skew alerts, want 2", len(as))
	}
}

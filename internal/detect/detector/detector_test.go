package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/exceptions"
	"github.com/vigil-siem/vigil/rules"
)

// scripted delivers prepared fetch results, like the bus does when batches
// come again (after a restart, or out of order).
type scripted struct {
	mu     sync.Mutex
	fetchs [][]bus.Message
}

func (s *scripted) Fetch(_ context.Context, _ int, wait time.Duration) ([]dispatch.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fetchs) == 0 {
		time.Sleep(wait)
		return nil, nil
	}
	f := s.fetchs[0]
	s.fetchs = s.fetchs[1:]
	return dispatch.Items(f...), nil
}

func (s *scripted) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fetchs) == 0
}

// failures returns a batch of n failed SSH logins from ip at t0, t0+1s, …
func failures(seq uint64, ip string, t0 time.Time, n int) bus.Message {
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: t0.Add(time.Duration(i) * time.Second)}
		for _, kv := range [][2]string{{"message", "Failed password for root from " + ip + " port 22 ssh2"}, {"event.module", "syslog"},
			{"event.dataset", "syslog"}, {"process.name", "sshd"}, {"host.name", "ehr-db-01"}, {"event.category", "authentication"},
			{"event.action", "ssh_login"}, {"event.outcome", "failure"}, {"user.name", "root"}, {"source.ip", ip}} {
			e.Add(kv[0], kv[1])
		}
		evs = append(evs, e)
	}
	return bus.NewMessage(seq, "syslog-tcp", event.AppendBatch(nil, evs), t0, nil)
}

type rig struct {
	dir    string
	alerts *alerts.Store
	rules  *Rules
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	as, err := alerts.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	rdir, err := rules.Extract(filepath.Join(dir, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(context.Background(), LoadOptions{Dirs: []string{rdir}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rejected) > 0 {
		t.Fatalf("built-in rules rejected: %v", r.Rejected)
	}
	return &rig{dir: dir, alerts: as, rules: r}
}

// run runs a detector over src until it has delivered everything.
func (r *rig) run(t *testing.T, src *scripted) {
	t.Helper()
	d, err := New(Config{Source: src, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"),
		CheckpointEvery: 20 * time.Millisecond, AlertsEvery: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry())}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	for !src.empty() {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func (r *rig) list(t *testing.T, f alerts.Filter) []alerts.Alert {
	t.Helper()
	as, err := r.alerts.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestAlertsAndCorrelationsSurviveRestartAndRedelivery(t *testing.T) {
	r := newRig(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	// Six failures, then a restart, then four more within five minutes:
	// ten from one address is the brute-force correlation.
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(1, "10.6.6.6", t0, 6)}}})
	if got := r.list(t, alerts.Filter{Kind: "correlation"}); len(got) != 0 {
		t.Fatalf("correlation raised after 6 failures: %+v", got)
	}
	// The failure rule only feeds the correlations (generate: false):
	// its matches are not alerts of their own.
	if got := r.list(t, alerts.Filter{}); len(got) != 0 {
		t.Fatalf("alerts after 6 failures: %+v", got)
	}
	// The restarted detector gets batch 1 again (its ack was lost) and
	// batch 2 twice.
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(1, "10.6.6.6", t0, 6), failures(2, "10.6.6.6", t0.Add(time.Minute), 4)}, {failures(2, "10.6.6.6", t0.Add(time.Minute), 4)}}})
	corr := r.list(t, alerts.Filter{Kind: "correlation"})
	if len(corr) != 1 || corr[0].RuleID != "a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53" || corr[0].GroupBy["source.ip"] != "10.6.6.6" || len(corr[0].EventIDs) < 10 {
		t.Fatalf("brute force correlation: %+v", corr)
	}
	ids := map[string]bool{}
	for _, id := range corr[0].EventIDs {
		if ids[id] {
			t.Errorf("event %s counted twice in %v", id, corr[0].EventIDs)
		}
		ids[id] = true
	}
	for _, want := range []string{"1-0", "1-5", "2-0", "2-3"} {
		if !ids[want] {
			t.Errorf("event %s not in the correlation: %v", want, corr[0].EventIDs)
		}
	}
}

// A rule that generates alerts of its own raises once per matching event,
// whatever the redeliveries, and the matches of one user roll into one
// alert.
func TestSigmaAlertsOncePerEvent(t *testing.T) {
	r := newRig(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	locked := func(seq uint64) bus.Message {
		var evs []event.Event
		for i := range 2 {
			e := event.Event{Time: t0.Add(time.Duration(i) * time.Second)}
			for _, kv := range [][2]string{{"message", "User bob from 10.2.2.2 not allowed because account is locked"}, {"event.module", "syslog"},
				{"process.name", "sshd"}, {"host.name", "ehr-db-01"}, {"event.category", "authentication"}, {"event.action", "ssh_login_denied"},
				{"event.outcome", "failure"}, {"event.reason", "account_locked"}, {"user.name", "bob"}, {"source.ip", "10.2.2.2"}} {
				e.Add(kv[0], kv[1])
			}
			evs = append(evs, e)
		}
		return bus.NewMessage(seq, "syslog-tcp", event.AppendBatch(nil, evs), t0, nil)
	}
	r.run(t, &scripted{fetchs: [][]bus.Message{{locked(7)}, {locked(7)}}})
	r.run(t, &scripted{fetchs: [][]bus.Message{{locked(7)}}})
	sig := r.list(t, alerts.Filter{Kind: "sigma"})
	if len(sig) != 1 || sig[0].Fields["user.name"] != "bob" || sig[0].Level == "" || sig[0].Count != 2 || strings.Join(sig[0].EventIDs, ",") != "7-0,7-1" {
		t.Fatalf("sigma alerts %+v", sig)
	}
}

func TestReloadKeepsStreaming(t *testing.T) {
	r := newRig(t)
	src := &scripted{}
	d, err := New(Config{Source: src, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"),
		CheckpointEvery: 20 * time.Millisecond, AlertsEvery: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry())}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	src.mu.Lock()
	src.fetchs = append(src.fetchs, []bus.Message{failures(1, "10.1.1.1", t0, 5)})
	src.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	// Reload the same rules: the five failures of the correlation window
	// carry over, five more complete it.
	r2, err := Load(context.Background(), LoadOptions{Dirs: []string{filepath.Join(r.dir, "rules")}})
	if err != nil {
		t.Fatal(err)
	}
	d.Reload(r2)
	time.Sleep(100 * time.Millisecond)
	if d.Rules() != r2 {
		t.Fatal("reload not taken")
	}
	src.mu.Lock()
	src.fetchs = append(src.fetchs, []bus.Message{failures(2, "10.1.1.1", t0.Add(time.Minute), 5)})
	src.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(r.list(t, alerts.Filter{Kind: "correlation"})) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if got := r.list(t, alerts.Filter{Kind: "correlation"}); len(got) != 1 {
		t.Fatalf("correlation across reload: %d alerts; %d events evaluated, correlation state %+v",
			len(got), int(testutil.ToFloat64(d.cfg.Metrics.Events)), d.corr.Stats())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = fmt.Sprint()
}

// A tuning exception on the brute-force correlation for one source keeps
// that source's failures out of it: no alert, and the hits counted; another
// source still raises one.
func TestExceptionsKeepMatchesOut(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ex, err := exceptions.Open(ctx, r.alerts.DB(), exceptions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Create(ctx, exceptions.Exception{Rule: "a3f75c2e-91d4-4b68-bc0e-7d2a4e6f8b53", Reason: "our scanner",
		Conditions: []exceptions.Condition{{Field: "source.ip", Op: "cidr", Value: "10.7.0.0/16"}}}, "alice"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	src := &scripted{fetchs: [][]bus.Message{{failures(1, "10.7.7.7", t0, 12), failures(2, "10.8.8.8", t0, 12)}}}
	d, err := New(Config{Source: src, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"),
		CheckpointEvery: 20 * time.Millisecond, AlertsEvery: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:  NewMetrics(prometheus.NewRegistry()),
		Suppress: func(id, name string, tags []string, ev *event.Event) bool { return ex.Suppress(id, name, tags, ev) }}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(runCtx) }()
	for !src.empty() {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	corr := r.list(t, alerts.Filter{Kind: "correlation"})
	if len(corr) != 1 || corr[0].GroupBy["source.ip"] != "10.8.8.8" {
		t.Fatalf("correlations %+v", corr)
	}
	xs, _ := ex.List(ctx)
	if len(xs) != 1 || xs[0].Hits != 12 {
		t.Fatalf("exception hits %+v", xs)
	}
}

// A brute force that goes on is one alert stating its true size, updated
// as it grows, across batches and a restart.
func TestGrowingBurstIsOneAlert(t *testing.T) {
	r := newRig(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(1, "10.5.5.5", t0, 25)}}})
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(2, "10.5.5.5", t0.Add(30*time.Second), 15)}}})
	corr := r.list(t, alerts.Filter{Kind: "correlation"})
	if len(corr) != 1 || corr[0].Count != 40 || corr[0].Value != 40 || len(corr[0].EventIDs) != 40 {
		t.Fatalf("growing brute force: %d alerts %+v", len(corr), corr)
	}
}

// TestDisabledRulesRaiseNothing: a Sigma rule an operator turned off
// raises no alert; a disabled correlation is not evaluated.
func TestDisabledRulesRaiseNothing(t *testing.T) {
	r := newRig(t)
	all := map[string]bool{}
	for _, ri := range r.rules.Engine.Rules() {
		all[ri.ID] = true
	}
	for _, c := range r.rules.Correlations {
		all[c.ID] = true
	}
	rules, err := Load(context.Background(), LoadOptions{Dirs: []string{filepath.Join(r.dir, "rules")}, Disabled: func(id string) bool { return all[id] }})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Correlations) != 0 || len(rules.Off) != len(r.rules.Correlations) {
		t.Fatalf("%d correlations left with every rule disabled, %d listed off", len(rules.Correlations), len(rules.Off))
	}
	for _, ri := range rules.Engine.Rules() {
		if ri.Alert {
			t.Fatalf("disabled rule %s still alerts", ri.ID)
		}
	}
	r.rules = rules
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(1, "10.9.9.9", t0, 30)}}})
	if as := r.list(t, alerts.Filter{}); len(as) != 0 {
		t.Fatalf("%d alerts from disabled rules: %+v", len(as), as[0])
	}
}

// TestBurstSizeExactAfterKill: a burst's growth raised after the last
// checkpoint and then lost with the process (kill -9) is raised again
// from the batches that come again, and counted once.
func TestBurstSizeExactAfterKill(t *testing.T) {
	r := newRig(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(1, "10.5.5.5", t0, 25)}}})
	// Batches 2 and 3 evaluated in one fetch, their alert stored, no
	// checkpoint since; then the process dies.
	d, err := New(Config{Source: &scripted{fetchs: [][]bus.Message{{failures(2, "10.5.5.5", t0.Add(30*time.Second), 15),
		failures(3, "10.5.5.5", t0.Add(50*time.Second), 15)}}}, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"),
		CheckpointEvery: time.Hour, AlertsEvery: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: NewMetrics(prometheus.NewRegistry())}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- d.Run(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c := r.list(t, alerts.Filter{Kind: "correlation"}); len(c) == 1 && c[0].Count == 55 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the burst never reached 55: %+v", r.list(t, alerts.Filter{Kind: "correlation"}))
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.killed.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The restarted process: a new store on the same database, and
	// batches 2 and 3 again, stored apart (here: batch 3 after another
	// restart). Had the size of 55 been written without the state that
	// counted it, batch 2 would set the burst's key back to 40 and batch
	// 3 add its 15 again.
	as, err := alerts.Open(context.Background(), r.alerts.DB())
	if err != nil {
		t.Fatal(err)
	}
	r.alerts = as
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(2, "10.5.5.5", t0.Add(30*time.Second), 15)}}})
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(3, "10.5.5.5", t0.Add(50*time.Second), 15)}}})
	corr := r.list(t, alerts.Filter{Kind: "correlation"})
	if len(corr) != 1 || corr[0].Count != 55 || corr[0].Value != 55 || len(corr[0].EventIDs) != 55 {
		t.Fatalf("burst after kill and replay: %d alerts %+v", len(corr), corr)
	}
}

// TestCheckpointWritesTheChangedGroups: after the first checkpoint, one
// writes the correlation groups that changed, not the whole state, and a
// restart rebuilds the whole state from both.
func TestCheckpointWritesTheChangedGroups(t *testing.T) {
	r := newRig(t)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	var batch []bus.Message
	for i := range 200 {
		batch = append(batch, failures(uint64(i+1), fmt.Sprintf("10.9.%d.%d", i/200, i%200+1), t0, 2))
	}
	r.run(t, &scripted{fetchs: [][]bus.Message{batch}})
	read := func() (state, []byte, []byte) {
		data, err := os.ReadFile(filepath.Join(r.dir, "detector.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st state
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		base, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("detector.json.corr.%d", st.CorrelationGen)))
		if err != nil {
			t.Fatal(err)
		}
		log, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("detector.json.corr.%d.log", st.CorrelationGen)))
		if err != nil {
			t.Fatal(err)
		}
		return st, base, log[:st.CorrelationLog]
	}
	st1, base1, _ := read()
	if n := strings.Count(string(base1), "10.9.0."); n < 200 {
		t.Fatalf("first checkpoint holds %d of the 200 groups: %s", n, base1)
	}
	r.run(t, &scripted{fetchs: [][]bus.Message{{failures(500, "10.9.0.1", t0.Add(time.Minute), 3)}}})
	st2, base2, log := read()
	if st2.CorrelationGen != st1.CorrelationGen || !bytes.Equal(base1, base2) {
		t.Fatalf("the whole state was written again (generation %d, then %d)", st1.CorrelationGen, st2.CorrelationGen)
	}
	if n := strings.Count(string(log), "\n"); n == 0 || n > 5 || strings.Contains(string(log), "10.9.0.2\"") {
		t.Fatalf("changes written: %d groups, want the few of 10.9.0.1:\n%s", n, log)
	}
	d, err := New(Config{Source: &scripted{}, Alerts: r.alerts, StatePath: filepath.Join(r.dir, "detector.json"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(prometheus.NewRegistry())}, r.rules)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := d.corr.Snapshot(&got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.String(), `"ids":["500-2"]`) || strings.Count(got.String(), "10.9.0.") < 200 {
		t.Errorf("restored state lacks the groups or the change: %s", got.String())
	}
}

// Package detector evaluates Vigil's Sigma rules on the live stream: it
// consumes the event batches of the bus, gives each event its id, enriches
// it, matches it against the compiled rules and the correlation rules, and
// keeps the resulting alerts. Alerts are stored before the batches that
// raised them are acknowledged, and keyed so that a batch seen again after a
// restart raises nothing twice; the correlation state is checkpointed
// together with the batches it has seen, so it survives a restart exactly.
package detector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/event"
)

// Source is where batches come from, decoded (a dispatch subscription).
// Fetch returns dispatch.ErrClosed when no more will come.
type Source interface {
	Fetch(ctx context.Context, max int, wait time.Duration) ([]dispatch.Item, error)
}

// AlertSink keeps alerts, ignoring keys it already has. It may hold the
// updates of growing bursts in memory until Flush (alerts.Store does):
// the detector flushes at each checkpoint, before the batches behind them
// are acknowledged.
type AlertSink interface {
	Add(ctx context.Context, as []alerts.Alert) ([]alerts.Alert, error)
	Flush(ctx context.Context) error
}

// Config configures a Detector.
type Config struct {
	Source Source
	Alerts AlertSink
	// StatePath is the checkpoint file (batches seen, correlation state).
	StatePath string
	// Enrich, when set, adds context to each event before matching (e.g.
	// directory lookups).
	Enrich      func(ctx context.Context, e *event.Event)
	Correlation correlation.Options
	// Suppress, when set, keeps a rule's match on an event out of the
	// alerts (a tuning exception applies): a Sigma rule raises nothing,
	// and a correlation does not count the event.
	Suppress func(ruleID, ruleName string, tags []string, ev *event.Event) bool
	// MaxSkew is how far ahead of its arrival (event.ingested) an event's
	// time is believed (default event.DefaultMaxSkew); later times are
	// clamped to the arrival before anything looks at the event (see
	// event.ClampFuture). It is also the correlations' MaxSkew unless
	// that is set.
	MaxSkew time.Duration
	// AlertsEvery bounds how long alerts wait before being stored
	// (default 2s).
	AlertsEvery time.Duration
	// CheckpointEvery is how often the correlation state is written and
	// the batches it covers acknowledged (default 30s): writing the state
	// costs in proportion to its size, and after a crash the batches since
	// the last checkpoint are evaluated again. The consumer's ack wait must
	// be longer.
	CheckpointEvery time.Duration
	// BusFull, when set, says the bus refuses batches for lack of space
	// (bus.Bus.Full). The bus frees a batch only once every consumer
	// acknowledged it, so while it is full the detector checkpoints as
	// soon as it has evaluated every batch delivered (or, when it is the
	// one behind, once the last checkpoint's cost is a fifth of the time
	// since), instead of holding the senders until CheckpointEvery.
	BusFull func() bool
	// Analyzer, when set, sees every event after the rules and raises
	// alerts of its own (the privacy rules); its state is part of the
	// checkpoint.
	Analyzer Analyzer
	Log      *slog.Logger
	Metrics  *Metrics
}

// Analyzer judges events with rules of its own, some of them later than
// the event (Tick), keeping a state the checkpoint saves.
type Analyzer interface {
	Observe(ctx context.Context, ev *event.Event) []alerts.Alert
	// Tick returns what became due since.
	Tick(ctx context.Context) []alerts.Alert
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// Metrics are the detector's Prometheus metrics.
type Metrics struct {
	Events   prometheus.Counter
	Matches  prometheus.Counter
	Raised   *prometheus.CounterVec
	Reloads  *prometheus.CounterVec
	Duration prometheus.Histogram
	// Suppressed counts rule matches a tuning exception kept out of the
	// alerts.
	Suppressed prometheus.Counter
	// Clamped counts events whose time the detector found beyond their
	// arrival plus MaxSkew (sources clamp at ingest already: these come
	// from an external bus or an older version).
	Clamped prometheus.Counter
}

// NewMetrics registers the detector's metrics with reg; d, when given, also
// exports rule and correlation gauges.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_detect_events_total", Help: "Events evaluated against the rules."}),
		Matches: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_detect_matches_total", Help: "Rule matches (before deduplication into alerts)."}),
		Raised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_alerts_raised_total", Help: "New alerts stored, by kind and level."},
			[]string{"kind", "level"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_rules_reloads_total", Help: "Rule reloads, by result."}, []string{"result"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vigil_detect_batch_seconds", Help: "Time to evaluate one bus batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		Clamped: prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_detect_time_clamped_total",
			Help: "Events the detector found dated after their arrival plus the allowed skew and evaluated at their arrival (not clamped at ingest)."}),
	}
	m.Suppressed = prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_detect_suppressed_total", Help: "Rule matches kept out of the alerts by a tuning exception."})
	reg.MustRegister(m.Events, m.Matches, m.Raised, m.Reloads, m.Duration, m.Clamped, m.Suppressed)
	return m
}

// RegisterGauges exports the current rule set's size and the correlation
// state's counters.
func (d *Detector) RegisterGauges(reg prometheus.Registerer) {
	rules := func(f func(engine.Stats) int) func() float64 {
		return func() float64 { return float64(f(d.Rules().Engine.Stats())) }
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_rules_loaded", Help: "Sigma rules compiled and evaluated."}, rules(func(s engine.Stats) int { return s.RulesLoaded })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_rules_rejected", Help: "Sigma rules rejected at load or compile (see GET /api/v1/rules)."},
			func() float64 { return float64(len(d.Rules().Rejected)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_rules_unrouted", Help: "Loaded rules whose log source no event produces."}, rules(func(s engine.Stats) int { return s.RulesUnrouted })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_detect_prefilter_skips_total", Help: "Routed rule evaluations the prefilter ruled out."},
			func() float64 { return float64(d.Rules().Engine.Stats().PrefilterSkips) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_correlation_groups", Help: "Correlation groups held in memory."},
			func() float64 { return float64(d.corrStats.Load().Groups) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_correlation_state_bytes", Help: "Estimated memory of the correlation state (bounded by detect.correlation_memory)."},
			func() float64 { return float64(d.corrStats.Load().Bytes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_correlation_evictions_total", Help: "Correlation groups evicted because the state was full."},
			func() float64 { return float64(d.corrStats.Load().Evictions) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_correlation_dropped_total", Help: "Correlation entries dropped because their group was full."},
			func() float64 { return float64(d.corrStats.Load().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_correlation_late_total",
			Help: "Correlation entries that arrived later than the allowed lateness behind their own group (evaluated apart, not dropped)."},
			func() float64 { return float64(d.corrStats.Load().Late) }),
	)
}

// Detector is the live detection consumer.
type Detector struct {
	cfg       Config
	current   atomic.Pointer[Rules]
	reload    chan *Rules
	progress  *bus.Progress
	corr      *correlation.Engine
	corrStats atomic.Pointer[correlation.Stats]
	// killed stands, in tests, for kill -9: Run returns at once, without
	// its final checkpoint.
	killed atomic.Bool
	// The correlation state on disk (see saveState): generation gen's
	// whole state (baseSize bytes) and the changes since, logSize bytes
	// of its log; compact asks for a whole state at the next checkpoint.
	gen               uint64
	baseSize, logSize int64
	compact           bool
}

// state is the checkpoint file. The correlation state is beside it:
// CorrelationGen names the files StatePath.corr.GEN (the whole state) and
// StatePath.corr.GEN.log (the changes since, of which the first
// CorrelationLog bytes count). Correlation is where versions before kept
// the whole state, read at start.
type state struct {
	Done           uint64          `json:"done"`
	Above          []uint64        `json:"above,omitempty"`
	CorrelationGen uint64          `json:"correlation_gen,omitempty"`
	CorrelationLog int64           `json:"correlation_log,omitempty"`
	Correlation    json.RawMessage `json:"correlation,omitempty"`
	Analyzer       json.RawMessage `json:"analyzer,omitempty"`
}

// New prepares a detector with a compiled rule set, restoring the
// checkpoint.
func New(cfg Config, r *Rules) (*Detector, error) {
	if cfg.AlertsEvery <= 0 {
		cfg.AlertsEvery = 2 * time.Second
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 30 * time.Second
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = event.DefaultMaxSkew
	}
	if cfg.Correlation.MaxSkew <= 0 {
		cfg.Correlation.MaxSkew = cfg.MaxSkew
	}
	if cfg.Suppress != nil && cfg.Correlation.Skip == nil {
		sup := cfg.Suppress
		cfg.Correlation.Skip = func(c *sigma.Correlation, ev *event.Event) bool { return sup(c.ID, c.Name, c.Tags, ev) }
	}
	// Live detection reports a growing correlation as one alert, updated
	// (at most once per fetch: Run ticks the engine after each, before any
	// checkpoint).
	cfg.Correlation.Bursts = true
	cfg.Correlation.BurstUpdatesOnTick = true
	d := &Detector{cfg: cfg, reload: make(chan *Rules, 1)}
	d.current.Store(r)
	d.corr = r.newCorrelations(cfg.Correlation)
	d.corrStats.Store(&correlation.Stats{})
	var st state
	data, err := os.ReadFile(cfg.StatePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read detector checkpoint: %w", err)
	default:
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("detector checkpoint %s is corrupt: %w", cfg.StatePath, err)
		}
	}
	d.progress = bus.NewProgress(st.Done)
	for _, s := range st.Above {
		d.progress.Mark(s)
	}
	skipped, err := d.restoreCorrelation(&st)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		cfg.Log.Info("correlation state skipped at restore: removed rules, or times beyond the clock", "entries", skipped)
	}
	if len(st.Analyzer) > 0 && cfg.Analyzer != nil {
		if err := cfg.Analyzer.Restore(st.Analyzer); err != nil {
			return nil, fmt.Errorf("detector checkpoint %s: %w", cfg.StatePath, err)
		}
	}
	return d, nil
}

// Rules is the rule set in use.
func (d *Detector) Rules() *Rules { return d.current.Load() }

// Reload hands a newly compiled rule set to the running detector, which
// switches to it between batches, keeping the correlation state of the
// correlations that still exist. The stream does not stop.
func (d *Detector) Reload(r *Rules) {
	for {
		select {
		case d.reload <- r:
			return
		default:
			select { // replace a rule set not yet taken
			case <-d.reload:
			default:
			}
		}
	}
}

func (d *Detector) swap(r *Rules) {
	var snap bytes.Buffer
	if err := d.corr.Snapshot(&snap); err != nil {
		d.cfg.Log.Error("rule reload: correlation snapshot", "err", err)
	}
	corr := r.newCorrelations(d.cfg.Correlation)
	if skipped, err := corr.Restore(&snap); err != nil {
		d.cfg.Log.Error("rule reload: correlation state not carried over", "err", err)
	} else if skipped > 0 {
		d.cfg.Log.Info("rule reload: correlation state of removed rules skipped", "entries", skipped)
	}
	d.corr = corr
	d.compact = true // the new engine knows no changes since the last state written
	d.current.Store(r)
	st := r.Engine.Stats()
	d.cfg.Log.Info("rules reloaded", "rules", st.RulesLoaded, "correlations", len(r.Correlations), "rejected", len(r.Rejected))
}

// Run evaluates batches until ctx is cancelled, then stores what it found
// and acknowledges the batches before returning.
func (d *Detector) Run(ctx context.Context) error {
	var (
		toAck      []dispatch.Receipt
		pending    []alerts.Alert
		last       = time.Now()  // last checkpoint
		lastCost   time.Duration // how long it took
		lastAlerts = time.Now()
		scratch    event.Event // the event being evaluated
		evaluated  bool        // any batch evaluated since the last checkpoint
		// latest event time and when it arrived: the watermark of a quiet
		// live stream
		latest, latestAt time.Time
	)
	worker := d.Rules().Engine.NewWorker()
	checkpoint := func() error {
		if !evaluated && !latest.IsZero() && time.Since(latestAt) < time.Hour {
			// A quiet live stream: event time does not advance without
			// events, so advance it by the time that passed since the
			// last one, closing the correlation windows that ended. Not
			// for streams of old events (a backfill that paused).
			pending = append(pending, d.correlationAlerts(d.corr.Flush(latest.Add(time.Since(latestAt))))...)
		}
		if len(toAck) == 0 && len(pending) == 0 {
			last, evaluated = time.Now(), false
			return nil
		}
		start := time.Now()
		if err := d.store(ctx, pending); err != nil {
			return err
		}
		pending, lastAlerts = pending[:0], time.Now()
		// Burst sizes the sink held since the last checkpoint are written
		// with the state that counted them: after a crash the batches
		// since come again and raise them again against these sizes.
		if err := d.cfg.Alerts.Flush(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("store alerts: %w", err)
		}
		if err := d.saveState(); err != nil {
			return err
		}
		for i := range toAck {
			toAck[i].Done() // a lost ack is a redelivery, which progress recognises
		}
		clear(toAck)
		lastCost = time.Since(start)
		toAck, last, evaluated = toAck[:0], time.Now(), false
		worker.Flush()
		s := d.corr.Stats()
		d.corrStats.Store(&s)
		return nil
	}
	for {
		select {
		case r := <-d.reload:
			if err := checkpoint(); err != nil {
				d.cfg.Log.Error("detector checkpoint before reload", "err", err)
			}
			d.swap(r)
			worker = r.Engine.NewWorker()
		default:
		}
		if d.killed.Load() {
			return nil
		}
		if ctx.Err() != nil {
			return d.finish(checkpoint)
		}
		wait := min(200*time.Millisecond, max(d.cfg.AlertsEvery-time.Since(lastAlerts), 10*time.Millisecond))
		msgs, err := d.cfg.Source.Fetch(ctx, 256, wait)
		if errors.Is(err, dispatch.ErrClosed) {
			return d.finish(checkpoint)
		}
		if err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("detector fetch from bus", "err", err)
			time.Sleep(100 * time.Millisecond)
		}
		for i := range msgs {
			m := &msgs[i]
			if !d.progress.Seen(m.Seq) {
				start := time.Now()
				if m.Err != nil {
					d.cfg.Log.Error("undecodable bus batch not evaluated", "seq", m.Seq, "err", m.Err)
				}
				for j := range m.Events {
					// The batch's events are shared with the store writer:
					// clamping and enrichment change a copy.
					src := &m.Events[j]
					scratch.Time, scratch.Arrived = src.Time, src.Arrived
					scratch.Fields = append(scratch.Fields[:0], src.Fields...)
					ev := &scratch
					if d.clamp(ev) {
						d.cfg.Metrics.Clamped.Inc()
					}
					if d.cfg.Enrich != nil {
						d.cfg.Enrich(ctx, ev)
					}
					if d.cfg.Analyzer != nil {
						pending = append(pending, d.cfg.Analyzer.Observe(ctx, ev)...)
					}
					worker.Match(ev, func(mt *engine.Match) {
						d.cfg.Metrics.Matches.Inc()
						if d.cfg.Suppress != nil && d.cfg.Suppress(mt.Rule.ID, mt.Rule.Name, mt.Rule.Tags, mt.Event) {
							d.cfg.Metrics.Suppressed.Inc()
							return
						}
						if mt.Rule.Alert {
							pending = append(pending, sigmaAlert(mt.Rule, mt.Event))
						}
						if mt.Rule.Correlated {
							// The correlation engine copies the values it keeps
							// out of the batch's memory.
							pending = append(pending, d.correlationAlerts(d.corr.Observe(mt))...)
						}
					})
				}
				d.cfg.Metrics.Events.Add(float64(len(m.Events)))
				d.cfg.Metrics.Duration.Observe(time.Since(start).Seconds())
				d.progress.Mark(m.Seq)
				evaluated = true
			}
			toAck = append(toAck, m.Receipt)
		}
		// Windows of quiet groups close on their own clocks.
		pending = append(pending, d.correlationAlerts(d.corr.Tick())...)
		if d.cfg.Analyzer != nil {
			pending = append(pending, d.cfg.Analyzer.Tick(ctx)...)
		}
		if len(pending) >= maxPendingAlerts {
			// A burst's alert is updated with every event it counts: only
			// the latest update of each matters.
			pending = coalesce(pending)
		}
		switch {
		case time.Since(last) >= d.cfg.CheckpointEvery || len(toAck) >= maxUnacked ||
			len(toAck) > 0 && d.cfg.BusFull != nil && (len(msgs) == 0 || time.Since(last) >= 4*lastCost) && d.cfg.BusFull():
			if err := checkpoint(); err != nil {
				// The batches stay unacknowledged and come again; the
				// alert keys make that harmless.
				d.cfg.Log.Error("detector checkpoint", "err", err)
				time.Sleep(time.Second)
			}
		case len(pending) > 0 && (time.Since(lastAlerts) >= d.cfg.AlertsEvery || len(pending) >= maxPendingAlerts):
			// Alerts need not wait for the checkpoint: their keys make
			// storing them again after a crash harmless.
			if err := d.store(ctx, pending); err != nil {
				d.cfg.Log.Error("store alerts", "err", err)
			} else {
				pending = pending[:0]
			}
			lastAlerts = time.Now()
		}
	}
}

// clamp applies event.ClampFuture against the event's arrival
// (event.Arrived, set by the source that received it), or the detector's
// own clock for an event without one.
func (d *Detector) clamp(ev *event.Event) bool {
	now := time.Now()
	arrival := now
	if !ev.Arrived.IsZero() && ev.Arrived.Before(now) {
		arrival = ev.Arrived
	}
	return event.ClampFuture(ev, arrival, d.cfg.MaxSkew)
}

func (d *Detector) finish(checkpoint func() error) error {
	for attempt := 0; attempt < 5; attempt++ {
		err := checkpoint()
		if err == nil {
			return nil
		}
		d.cfg.Log.Error("detector final checkpoint", "err", err)
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("detector stopped without its final checkpoint; batches since the last one will be evaluated again")
}

func (d *Detector) store(ctx context.Context, as []alerts.Alert) error {
	if len(as) == 0 {
		return nil
	}
	as = coalesce(as)
	added, err := d.cfg.Alerts.Add(context.WithoutCancel(ctx), as)
	if err != nil {
		return fmt.Errorf("store alerts: %w", err)
	}
	for _, a := range added {
		d.cfg.Metrics.Raised.WithLabelValues(a.Kind, a.Level).Inc()
	}
	return nil
}

func (d *Detector) saveState() error {
	st := state{Done: d.progress.Done()}
	for s := d.progress.Done() + 1; len(st.Above) < d.progress.Pending(); s++ {
		if d.progress.Seen(s) {
			st.Above = append(st.Above, s)
		}
	}
	if d.cfg.Analyzer != nil {
		a, err := d.cfg.Analyzer.Snapshot()
		if err != nil {
			return err
		}
		st.Analyzer = a
	}
	if err := d.saveCorrelation(&st); err != nil {
		d.compact = true // the changes written may be lost with the error
		return fmt.Errorf("write detector checkpoint: %w", err)
	}
	data, err := json.Marshal(st)
	if err == nil {
		err = atomicfile.Write(d.cfg.StatePath, data)
	}
	if err != nil {
		d.compact = true
		return fmt.Errorf("write detector checkpoint: %w", err)
	}
	if st.CorrelationGen != d.gen {
		// The state written whole replaces the previous generation.
		old := d.corrPath(d.gen)
		d.gen, d.logSize = st.CorrelationGen, 0
		if st.CorrelationGen > 1 {
			os.Remove(old)
			os.Remove(old + ".log")
		}
	}
	d.logSize = st.CorrelationLog
	return nil
}

func (d *Detector) corrPath(gen uint64) string {
	return d.cfg.StatePath + ".corr." + strconv.FormatUint(gen, 10)
}

// saveCorrelation writes the correlation state for a checkpoint st: the
// groups changed since the last checkpoint, appended to the log of the
// current generation, or — at the first checkpoint, after a rule reload or
// an error, and when the log has grown past the whole state — the whole
// state as a new generation. The state is tens of MB under a brute-force
// flood while most groups (addresses seen once) sit unchanged: writing it
// whole every 30 s cost 4 % of the CPU.
func (d *Detector) saveCorrelation(st *state) error {
	if d.gen == 0 || d.compact || d.logSize > max(d.baseSize, 1<<20) {
		gen := d.gen + 1
		var size int64
		err := atomicfile.WriteFunc(d.corrPath(gen), 0o600, func(w io.Writer) error {
			cw := &counter{w: w}
			err := d.corr.Snapshot(cw) // streamed group by group
			size = cw.n
			return err
		})
		if err != nil {
			return err
		}
		if err := os.WriteFile(d.corrPath(gen)+".log", nil, 0o600); err != nil {
			return err
		}
		st.CorrelationGen, st.CorrelationLog = gen, 0
		d.baseSize, d.compact = size, false
		return nil
	}
	f, err := os.OpenFile(d.corrPath(d.gen)+".log", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// What a checkpoint that failed, or a crash, left beyond the last
	// checkpoint's length is not part of the state.
	if err := f.Truncate(d.logSize); err != nil {
		return err
	}
	if _, err := f.Seek(d.logSize, io.SeekStart); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	cw := &counter{w: bw}
	if err := d.corr.SnapshotChanges(cw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	st.CorrelationGen, st.CorrelationLog = d.gen, d.logSize+cw.n
	return f.Close()
}

// restoreCorrelation reads the correlation state of a checkpoint. A
// generation whose files are missing (a backup copied while the detector
// replaced them) starts the correlation state empty, said in the log: the
// windows open then are counted again from the events that come.
func (d *Detector) restoreCorrelation(st *state) (int, error) {
	if st.CorrelationGen == 0 {
		if len(st.Correlation) == 0 {
			return 0, nil
		}
		return d.corr.Restore(bytes.NewReader(st.Correlation))
	}
	base, err := os.Open(d.corrPath(st.CorrelationGen))
	if errors.Is(err, os.ErrNotExist) {
		d.cfg.Log.Error("detector checkpoint: correlation state file missing; correlation windows start empty", "file", d.corrPath(st.CorrelationGen))
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("detector checkpoint: %w", err)
	}
	defer base.Close()
	skipped, err := d.corr.Restore(bufio.NewReaderSize(base, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("detector checkpoint %s: %w", d.corrPath(st.CorrelationGen), err)
	}
	if fi, err := base.Stat(); err == nil {
		d.baseSize = fi.Size()
	}
	d.gen, d.logSize = st.CorrelationGen, st.CorrelationLog
	if st.CorrelationLog > 0 {
		log, err := os.Open(d.corrPath(st.CorrelationGen) + ".log")
		if err != nil {
			return 0, fmt.Errorf("detector checkpoint: %w", err)
		}
		defer log.Close()
		n, err := d.corr.RestoreChanges(bufio.NewReaderSize(io.LimitReader(log, st.CorrelationLog), 64<<10))
		if err != nil {
			return 0, fmt.Errorf("detector checkpoint %s.log: %w", d.corrPath(st.CorrelationGen), err)
		}
		skipped += n
	}
	return skipped, nil
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// keyFields are kept in every alert, when the event has them, besides the
// fields the rule lists.
var keyFields = []string{
	"host.name", "user.name", "user.domain", "source.ip", "destination.ip", "destination.port",
	"process.name", "process.executable", "process.command_line", "event.action", "event.outcome",
	"event.code", "event.module", "winlog.channel", "winlog.event_id", "file.path",
	"healthcare.patient.id", "healthcare.break_glass", "healthcare.audit.type.code",
}

func sigmaAlert(r *engine.RuleInfo, ev *event.Event) alerts.Alert {
	id := ev.Value(event.FieldID)
	rk := r.ID
	if rk == "" {
		rk = r.Name
	}
	fields := map[string]string{}
	for _, list := range [][]string{keyFields, r.Fields} {
		for _, f := range list {
			if v, ok := ev.Get(f); ok && v != "" {
				fields[f] = clip(v)
			}
		}
	}
	return alerts.Alert{
		Key: "sigma/" + rk + "/" + id, Kind: "sigma", RuleID: rk, RuleTitle: r.Title, Level: r.Level,
		Tags: r.Tags, Time: ev.Time, EventIDs: []string{id}, Fields: fields, GroupKey: entityGroup(rk, ev),
	}
}

// entityGroup groups the matches of a rule by the entity of the event:
// its user, else host, else patient, else source address.
func entityGroup(rule string, ev *event.Event) string {
	for _, f := range alerts.EntityFields {
		if v, ok := ev.Get(f); ok && v != "" {
			return alerts.GroupKey(rule, [2]string{f, v})
		}
	}
	return alerts.GroupKey(rule)
}

func (d *Detector) correlationAlerts(cas []correlation.Alert) []alerts.Alert {
	var out []alerts.Alert
	for _, a := range cas {
		if !a.Standalone {
			continue
		}
		rk := a.RuleID
		if rk == "" {
			rk = a.Name
		}
		gb := map[string]string{}
		var parts []string
		var group [][2]string
		for _, f := range a.GroupBy {
			gb[f.Name] = f.Value
			parts = append(parts, f.Name+"="+f.Value)
			group = append(group, [2]string{f.Name, f.Value})
		}
		sort.Strings(parts)
		out = append(out, alerts.Alert{
			Key:  "correlation/" + rk + "/" + strings.Join(parts, ",") + "/" + strconv.FormatInt(a.First.UnixNano(), 10),
			Kind: "correlation", RuleID: rk, RuleTitle: a.Title, Level: a.Level, Tags: a.Tags, Time: a.Last,
			EventIDs: a.EventIDs, GroupBy: gb, GroupKey: alerts.GroupKey(rk, group...), FirstSeen: a.First, Value: a.Value,
			Count: a.Count, Update: a.Update,
			Fields: map[string]string{"correlation.type": a.Type, "correlation.value": strconv.FormatFloat(a.Value, 'f', -1, 64),
				"correlation.first": a.First.UTC().Format(time.RFC3339Nano)},
		})
	}
	return out
}

// coalesce keeps, of the updates of one growing burst (same key), the
// last: it states the burst's size at the end of the batch.
func coalesce(as []alerts.Alert) []alerts.Alert {
	last := map[string]int{}
	for i, a := range as {
		if a.Update {
			last[a.Key] = i
		}
	}
	if len(last) == 0 {
		return as
	}
	out := make([]alerts.Alert, 0, len(as))
	for i, a := range as {
		if j, ok := last[a.Key]; ok && j != i && a.Update {
			continue
		}
		out = append(out, a)
	}
	return out
}

// maxPendingAlerts bounds the alerts waiting to be stored, counted after
// coalescing a burst's updates: storing earlier than every AlertsEvery
// costs a transaction of lookups and updates per open burst, so a brute
// force against many hosts (thousands of open bursts, each updated by
// every event, with batches coming a few at a time) stored its alerts
// every few batches at a lower bound of 1,000: 4x the CPU per event.
const maxPendingAlerts = 20_000

// maxUnacked bounds the batches held unacknowledged between checkpoints
// (the consumer's MaxAckPending is larger).
const maxUnacked = 20_000

func clip(s string) string {
	if len(s) > 1024 {
		return s[:1024] + "…"
	}
	return s
}

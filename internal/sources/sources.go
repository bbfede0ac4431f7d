// Package sources tracks the health of log sources: every event that
// Vigil stores is observed, and each source — (host.name, event.dataset or
// else event.module) — keeps its first and last arrival, first and last
// event time, count and recent rate. Sources that were sending and go
// silent for longer than their window raise an alert (kind
// "source_silent"); a silent source that sends again is marked recovered
// (optionally with an informational "source_recovered" alert).
//
// The tracker is bounded (the sources silent the longest are evicted,
// and counted), persisted to the control-plane database (periodically and
// when Run ends) so that it survives restarts, and served at
// GET /api/v1/sources.
//
// Silence is judged on arrival time (event.ingested, set by Vigil when the
// event arrived), not on the event's own time, so that sender clocks and
// late batches do not matter. After a restart nothing alerts until a grace
// period has passed, and a source is silent only once it has sent nothing
// for a whole window counted from the later of its last arrival and
// Vigil's start: Vigil being down is not the sources' silence. While the
// consumer feeding Observe is behind the bus (Options.Behind), no alert is
// raised either.
//
// Clocks: an event whose own time was ahead of its arrival by more than
// the allowed skew (flagged vigil.time_skew by ingest) counts against its
// source, and a source sending such events raises a "source_clock_skew"
// alert (once per source and day), naming the sender's address: a device
// whose clock is wrong, or someone dating events in the future.
//
// Events of historical imports (vigil.import, set by `vigil ingest` of a
// file and `vigil ehr import`) are not live sources and are not tracked.
package sources

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
)

// Config is the source-health configuration.
type Config struct {
	// Window is how long a source may send nothing before it is silent
	// (default 1h).
	Window time.Duration
	// Overrides set the window of the sources they match; the first match
	// wins.
	Overrides []Override
	// Grace is how long after start no silence alert is raised (default
	// 15m), so that shippers reconnect and deliver their backlog.
	Grace time.Duration
	// MinEvents is how many events a source must have sent to be watched
	// (default 10): one-off test messages do not become sources that alert.
	MinEvents int64
	// MaxSources bounds the sources tracked (default 10000).
	MaxSources int
	// ForgetAfter drops sources silent for this long (default 30 days).
	ForgetAfter time.Duration
	// Level is the level of silence alerts (default "medium").
	Level string
	// RecoveryAlerts raises an informational "source_recovered" alert when
	// a silent source sends again.
	RecoveryAlerts bool
	// CheckInterval is the period of the silence check (default 30s);
	// FlushInterval of writing to the database (default 30s).
	CheckInterval time.Duration
	FlushInterval time.Duration
}

// Override sets the window of matching sources. Host and Dataset are
// globs (path.Match syntax: *, ?, [a-z]), matched case-insensitively; an
// empty one matches anything.
type Override struct {
	Host    string `json:"host,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// Window replaces the default window; Disabled never alerts.
	Window   time.Duration `json:"window,omitempty"`
	Disabled bool          `json:"disabled,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = time.Hour
	}
	if c.Grace <= 0 {
		c.Grace = 15 * time.Minute
	}
	if c.MinEvents <= 0 {
		c.MinEvents = 10
	}
	if c.MaxSources <= 0 {
		c.MaxSources = 10000
	}
	if c.ForgetAfter <= 0 {
		c.ForgetAfter = 30 * 24 * time.Hour
	}
	if c.Level == "" {
		c.Level = "medium"
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 30 * time.Second
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 30 * time.Second
	}
	return c
}

// Validate checks the configuration: levels, globs, windows.
func (c Config) Validate() error {
	switch c.Level {
	case "", "informational", "low", "medium", "high", "critical":
	default:
		return fmt.Errorf("sources: level %q: want informational, low, medium, high or critical", c.Level)
	}
	for i, o := range c.Overrides {
		for _, g := range []string{o.Host, o.Dataset} {
			if _, err := path.Match(g, ""); err != nil {
				return fmt.Errorf("sources: override %d: bad glob %q: %w", i+1, g, err)
			}
		}
		if o.Window < 0 || (o.Window == 0 && !o.Disabled) {
			return fmt.Errorf("sources: override %d (host %q, dataset %q): want a positive window or disabled", i+1, o.Host, o.Dataset)
		}
	}
	return nil
}

// AlertSink stores alerts (alerts.Store), idempotent on Key.
type AlertSink interface {
	Add(ctx context.Context, as []alerts.Alert) ([]alerts.Alert, error)
}

var _ AlertSink = (*alerts.Store)(nil)

// Options are the tracker's dependencies.
type Options struct {
	// DB is the control-plane database (db.Open); nil keeps sources in
	// memory only.
	DB *sql.DB
	// Alerts receives silence and recovery alerts; nil raises none.
	Alerts AlertSink
	Log    *slog.Logger
	Now    func() time.Time
	// Behind, when set, reports whether the consumer calling Observe is
	// behind the bus; no silence is judged then.
	Behind func() bool
}

// rateBuckets one-minute buckets make the rate window.
const rateBuckets = 10

type key struct{ host, dataset string }

type bucket struct {
	minute int64
	n      int64
}

// source is the tracked state; times are Unix nanoseconds.
type source struct {
	key
	firstSeen, lastSeen   int64
	firstEvent, lastEvent int64
	count                 int64
	parseErrors           int64 // events kept with vigil.parse_error
	lastParseError        int64 // arrival of the last of them
	buckets               [rateBuckets]bucket
	window                time.Duration
	disabled              bool
	silent                bool
	silentSince           int64 // last arrival before the silence
	recovered             bool  // sent again since the silence; alert pending
	dirty                 bool
	// Events dated ahead of their arrival: how many, the largest skew
	// (seconds), the last one's arrival, the day (Unix days) of the last
	// skew alert, and the last one's sender address.
	skewed, maxSkew, skewLast, skewAlerted int64
	skewAddr                               string
}

// Tracker tracks sources. Observe is safe for concurrent use.
type Tracker struct {
	cfg     Config
	opt     Options
	log     *slog.Logger
	now     func() time.Time
	started int64

	mu      sync.Mutex
	sources map[key]*source
	deleted []key // to delete from the database
	evicted int64
}

var migrations = []string{`
CREATE TABLE sources (
	host         TEXT NOT NULL,
	dataset      TEXT NOT NULL,
	first_seen   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL,
	first_event  INTEGER NOT NULL,
	last_event   INTEGER NOT NULL,
	count        INTEGER NOT NULL,
	silent       INTEGER NOT NULL,
	silent_since INTEGER NOT NULL,
	PRIMARY KEY (host, dataset)
);`, `
ALTER TABLE sources ADD COLUMN parse_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN last_parse_error INTEGER NOT NULL DEFAULT 0;`, `
ALTER TABLE sources ADD COLUMN skewed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN max_skew INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN skew_last INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN skew_alerted INTEGER NOT NULL DEFAULT 0;`}

// New returns a tracker, loading the sources kept in opt.DB.
func New(ctx context.Context, cfg Config, opt Options) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t := &Tracker{cfg: cfg, opt: opt, log: opt.Log, now: opt.Now, sources: map[key]*source{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.started = t.now().UnixNano()
	if opt.DB != nil {
		if err := db.Migrate(ctx, opt.DB, "sources", migrations); err != nil {
			return nil, err
		}
		if err := t.load(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Tracker) load(ctx context.Context) error {
	rows, err := t.opt.DB.QueryContext(ctx, `SELECT host, dataset, first_seen, last_seen, first_event, last_event, count, silent, silent_since,
		parse_errors, last_parse_error, skewed, max_skew, skew_last, skew_alerted FROM sources ORDER BY last_seen DESC LIMIT ?`, t.cfg.MaxSources)
	if err != nil {
		return fmt.Errorf("load sources: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		s := &source{}
		var silent int
		if err := rows.Scan(&s.host, &s.dataset, &s.firstSeen, &s.lastSeen, &s.firstEvent, &s.lastEvent, &s.count, &silent, &s.silentSince,
			&s.parseErrors, &s.lastParseError, &s.skewed, &s.maxSkew, &s.skewLast, &s.skewAlerted); err != nil {
			return fmt.Errorf("load sources: %w", err)
		}
		s.silent = silent != 0
		s.window, s.disabled = t.windowOf(s.host, s.dataset)
		t.sources[s.key] = s
	}
	return rows.Err()
}

// windowOf is the window of a source and whether it never alerts.
func (t *Tracker) windowOf(host, dataset string) (time.Duration, bool) {
	h, d := strings.ToLower(host), strings.ToLower(dataset)
	for _, o := range t.cfg.Overrides {
		if globOK(o.Host, h) && globOK(o.Dataset, d) {
			if o.Disabled {
				return 0, true
			}
			return o.Window, false
		}
	}
	return t.cfg.Window, false
}

func globOK(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(strings.ToLower(pattern), s)
	return ok
}

// Observe records one stored event. It does not allocate for a source it
// already tracks.
func (t *Tracker) Observe(ev *event.Event) {
	var host, dataset, module, ingested, skew, addr string
	parseError := false
	for i := range ev.Fields {
		f := &ev.Fields[i]
		switch f.Name {
		case "host.name":
			host = f.Value
		case "event.dataset":
			dataset = f.Value
		case "event.module":
			module = f.Value
		case "event.ingested":
			ingested = f.Value
		case event.FieldParseError:
			parseError = true
		case event.FieldTimeSkew:
			skew = f.Value
		case "log.source.address":
			addr = f.Value
		case event.FieldImport:
			if f.Value == "true" {
				return
			}
		}
	}
	if dataset == "" {
		dataset = module
	}
	arrival, ok := ev.Arrived.UnixNano(), !ev.Arrived.IsZero()
	if !ok {
		// An event without its arrival in binary (stored before, or built
		// by hand) may still carry it as text.
		arrival, ok = parseUTC(ingested)
	}
	if !ok {
		arrival = t.now().UnixNano()
	}
	evTime := ev.Time.UnixNano()
	k := key{host, dataset}

	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sources[k]
	if s == nil {
		s = t.insert(k, arrival)
	}
	s.count++
	if parseError {
		s.parseErrors++
		s.lastParseError = max(s.lastParseError, arrival)
	}
	if arrival > s.lastSeen {
		s.lastSeen = arrival
	}
	if s.firstEvent == 0 || evTime < s.firstEvent {
		s.firstEvent = evTime
	}
	if evTime > s.lastEvent {
		s.lastEvent = evTime
	}
	minute := arrival / int64(time.Minute)
	b := &s.buckets[uint64(minute)%rateBuckets]
	if b.minute != minute {
		b.minute, b.n = minute, 0
	}
	b.n++
	if s.silent {
		s.silent, s.recovered = false, true
	}
	if skew != "" {
		if n, err := strconv.ParseInt(skew, 10, 64); err == nil {
			s.skewed++
			s.maxSkew = max(s.maxSkew, n)
			s.skewLast = max(s.skewLast, arrival)
			if addr != s.skewAddr {
				s.skewAddr = strings.Clone(addr)
			}
		}
	}
	s.dirty = true
}

// insert adds a source, evicting the longest-silent ones when full.
// t.mu is held.
func (t *Tracker) insert(k key, arrival int64) *source {
	if len(t.sources) >= t.cfg.MaxSources {
		t.evict(max(1, t.cfg.MaxSources/100))
	}
	// The key's strings may point into a large decoded batch: copy them.
	k = key{strings.Clone(k.host), strings.Clone(k.dataset)}
	s := &source{key: k, firstSeen: arrival}
	s.window, s.disabled = t.windowOf(k.host, k.dataset)
	t.sources[k] = s
	return s
}

// evict drops the n sources with the oldest last arrival. t.mu is held.
func (t *Tracker) evict(n int) {
	all := make([]*source, 0, len(t.sources))
	for _, s := range t.sources {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *source) int { return cmpInt(a.lastSeen, b.lastSeen) })
	for _, s := range all[:min(n, len(all))] {
		delete(t.sources, s.key)
		t.deleted = append(t.deleted, s.key)
		t.evicted++
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseUTC reads the "2006-01-02T15:04:05.999999999Z" form of
// event.ingested (events that carry their arrival only as text), without
// allocating; anything else (and years outside what
// Unix nanoseconds hold) is not ok.
func parseUTC(s string) (int64, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	num := func(a, b int) (int64, bool) {
		var v int64
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 {
		return 0, false
	}
	var ns int64
	if rest := s[19 : len(s)-1]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return 0, false
		}
		f, ok := num(20, len(s)-1)
		if !ok {
			return 0, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	// Days from civil (Howard Hinnant's algorithm).
	if mo <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	m := mo + 9
	if mo > 2 {
		m = mo - 3
	}
	doy := (153*m+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := era*146097 + doe - 719468
	return ((days*24+h)*60+mi)*60*int64(time.Second) + se*int64(time.Second) + ns, true
}

// Source is a tracked source as the API shows it.
type Source struct {
	Host          string    `json:"host"`
	Dataset       string    `json:"dataset"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
	FirstEvent    time.Time `json:"first_event"`
	LastEvent     time.Time `json:"last_event"`
	Count         int64     `json:"count"`
	RatePerMinute float64   `json:"rate_per_min"`
	// ParseErrors counts the events kept with vigil.parse_error (search
	// them with vigil.parse_error:* and the source's host and dataset).
	ParseErrors    int64      `json:"parse_errors"`
	LastParseError *time.Time `json:"last_parse_error,omitempty"`
	// Window is the silence window; Watched is false for sources that
	// never alert (disabled, or fewer than MinEvents events).
	Window        string     `json:"window"`
	WindowSeconds int64      `json:"window_seconds"`
	Watched       bool       `json:"watched"`
	Silent        bool       `json:"silent"`
	SilentSince   *time.Time `json:"silent_since,omitempty"`
	// TimeSkewEvents counts events dated ahead of their arrival by more
	// than the allowed skew; MaxTimeSkewSeconds is the largest.
	TimeSkewEvents     int64 `json:"time_skew_events,omitempty"`
	MaxTimeSkewSeconds int64 `json:"max_time_skew_seconds,omitempty"`
}

// Filter selects sources; zero fields match everything.
type Filter struct {
	// Silent selects silent (true) or sending (false) sources.
	Silent *bool
	// Host and Dataset are globs (path.Match syntax, case-insensitive).
	Host, Dataset string
	Limit         int
}

// List returns the matching sources ordered by host and dataset, and how
// many matched.
func (t *Tracker) List(f Filter) ([]Source, int) {
	now := t.now().UnixNano()
	host, ds := strings.ToLower(f.Host), strings.ToLower(f.Dataset)
	t.mu.Lock()
	var out []Source
	for _, s := range t.sources {
		if f.Silent != nil && s.silent != *f.Silent {
			continue
		}
		if !globOK(host, strings.ToLower(s.host)) || !globOK(ds, strings.ToLower(s.dataset)) {
			continue
		}
		out = append(out, t.view(s, now))
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Source) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return strings.Compare(a.Dataset, b.Dataset)
	})
	total := len(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, total
}

func ts(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// view renders a source. t.mu is held.
func (t *Tracker) view(s *source, now int64) Source {
	v := Source{
		Host: s.host, Dataset: s.dataset, FirstSeen: ts(s.firstSeen), LastSeen: ts(s.lastSeen),
		FirstEvent: ts(s.firstEvent), LastEvent: ts(s.lastEvent), Count: s.count, ParseErrors: s.parseErrors,
		Window: s.window.String(), WindowSeconds: int64(s.window / time.Second),
		Watched: !s.disabled && s.count >= t.cfg.MinEvents, Silent: s.silent,
		TimeSkewEvents: s.skewed, MaxTimeSkewSeconds: s.maxSkew,
	}
	if s.disabled {
		v.Window = "disabled"
	}
	if s.parseErrors > 0 {
		last := ts(s.lastParseError)
		v.LastParseError = &last
	}
	if s.silent {
		since := ts(s.silentSince)
		v.SilentSince = &since
	}
	nowMin := now / int64(time.Minute)
	var n int64
	for _, b := range s.buckets {
		if b.minute > nowMin-rateBuckets && b.minute <= nowMin {
			n += b.n
		}
	}
	v.RatePerMinute = float64(n) / rateBuckets
	return v
}

// Stats returns how many sources are tracked and how many were dropped
// because the tracker was full.
func (t *Tracker) Stats() (tracked int, evicted int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sources), t.evicted
}

// Run checks for silence every CheckInterval and flushes to the database
// every FlushInterval until ctx ends, then flushes once more (with a fresh
// 10-second context) and returns.
func (t *Tracker) Run(ctx context.Context) {
	check := time.NewTicker(t.cfg.CheckInterval)
	flush := time.NewTicker(t.cfg.FlushInterval)
	defer check.Stop()
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := t.Flush(fctx); err != nil {
				t.log.Error("sources: final flush failed", "err", err)
			}
			cancel()
			return
		case <-check.C:
			if err := t.Check(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("sources: silence check failed", "err", err)
			}
		case <-flush.C:
			if err := t.Flush(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("sources: flush failed", "err", err)
			}
		}
	}
}

// Flush writes changed sources to the database.
func (t *Tracker) Flush(ctx context.Context) error {
	if t.opt.DB == nil {
		return nil
	}
	type row struct {
		s       source
		deleted bool
	}
	t.mu.Lock()
	var rows []row
	for _, k := range t.deleted {
		rows = append(rows, row{s: source{key: k}, deleted: true})
	}
	t.deleted = nil
	for _, s := range t.sources {
		if s.dirty {
			rows = append(rows, row{s: *s})
			s.dirty = false
		}
	}
	t.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	err := func() error {
		tx, err := t.opt.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		up, err := tx.PrepareContext(ctx, `INSERT INTO sources (host, dataset, first_seen, last_seen, first_event, last_event, count, silent, silent_since,
			parse_errors, last_parse_error, skewed, max_skew, skew_last, skew_alerted)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (host, dataset) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
			first_event = excluded.first_event, last_event = excluded.last_event, count = excluded.count,
			silent = excluded.silent, silent_since = excluded.silent_since,
			parse_errors = excluded.parse_errors, last_parse_error = excluded.last_parse_error,
			skewed = excluded.skewed, max_skew = excluded.max_skew, skew_last = excluded.skew_last, skew_alerted = excluded.skew_alerted`)
		if err != nil {
			return err
		}
		defer up.Close()
		for _, r := range rows {
			s := &r.s
			if r.deleted {
				if _, err := tx.ExecContext(ctx, `DELETE FROM sources WHERE host = ? AND dataset = ?`, s.host, s.dataset); err != nil {
					return err
				}
				continue
			}
			silent := 0
			if s.silent {
				silent = 1
			}
			if _, err := up.ExecContext(ctx, s.host, s.dataset, s.firstSeen, s.lastSeen, s.firstEvent, s.lastEvent, s.count, silent, s.silentSince,
				s.parseErrors, s.lastParseError, s.skewed, s.maxSkew, s.skewLast, s.skewAlerted); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		// Write them again next time.
		t.mu.Lock()
		for _, r := range rows {
			if r.deleted {
				t.deleted = append(t.deleted, r.s.key)
			} else if s := t.sources[r.s.key]; s != nil {
				s.dirty = true
			}
		}
		t.mu.Unlock()
		return fmt.Errorf("flush sources: %w", err)
	}
	return nil
}

// Check raises alerts for sources that went silent, and for recovered
// ones when configured, and forgets sources silent beyond ForgetAfter.
func (t *Tracker) Check(ctx context.Context) error {
	now := t.now().UnixNano()
	judge := now-t.started >= int64(t.cfg.Grace) && (t.opt.Behind == nil || !t.opt.Behind())
	type pending struct {
		k        key
		lastSeen int64
		recovery bool
		skewDay  int64 // a clock-skew alert for this day
	}
	const day = int64(24 * time.Hour)
	skewAlerts := 0
	var (
		as   []alerts.Alert
		todo []pending
	)
	t.mu.Lock()
	for k, s := range t.sources {
		if now-s.lastSeen > int64(t.cfg.ForgetAfter) && now-t.started > int64(t.cfg.ForgetAfter) {
			delete(t.sources, k)
			t.deleted = append(t.deleted, k)
			continue
		}
		// One clock-skew alert per source and day with skewed events.
		if skewDay := s.skewLast / day; s.skewed > 0 && skewDay > s.skewAlerted && skewAlerts < maxSkewAlertsPerCheck && t.opt.Alerts != nil {
			skewAlerts++
			a := t.alert(s, "source_clock_skew", "Log source dates events in the future", t.cfg.Level, skewDay*day, ts(s.skewLast))
			a.Fields["time_skew_events"] = strconv.FormatInt(s.skewed, 10)
			a.Fields["max_time_skew_seconds"] = strconv.FormatInt(s.maxSkew, 10)
			if s.skewAddr != "" {
				a.Fields["log.source.address"] = s.skewAddr
			}
			as = append(as, a)
			todo = append(todo, pending{k: k, lastSeen: -1, skewDay: skewDay})
		}
		if s.recovered {
			if t.cfg.RecoveryAlerts && t.opt.Alerts != nil {
				as = append(as, t.alert(s, "source_recovered", "Log source sending again", "informational", s.silentSince, ts(s.lastSeen)))
				todo = append(todo, pending{k: k, lastSeen: s.lastSeen, recovery: true})
			} else {
				s.recovered = false
			}
			continue
		}
		if !judge || s.silent || s.disabled || s.count < t.cfg.MinEvents {
			continue
		}
		since := max(s.lastSeen, t.started)
		if now-since <= int64(s.window) {
			continue
		}
		if t.opt.Alerts == nil {
			s.silent, s.silentSince, s.dirty = true, s.lastSeen, true
			continue
		}
		as = append(as, t.alert(s, "source_silent", "Log source went silent", t.cfg.Level, s.lastSeen, ts(since).Add(s.window)))
		todo = append(todo, pending{k: k, lastSeen: s.lastSeen})
	}
	t.mu.Unlock()
	if len(as) == 0 {
		return nil
	}
	added, err := t.opt.Alerts.Add(ctx, as)
	if err != nil {
		return fmt.Errorf("raise source alerts: %w", err) // tried again next check
	}
	for _, a := range added {
		t.log.Warn("sources: "+a.RuleTitle, "host", a.Fields["host.name"], "dataset", a.Fields["event.dataset"], "last_seen", a.Fields["last_seen"])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range todo {
		s := t.sources[p.k]
		if s != nil && p.skewDay > 0 {
			s.skewAlerted, s.dirty = p.skewDay, true
			continue
		}
		if s == nil || s.lastSeen != p.lastSeen {
			continue // changed meanwhile: judged again next time
		}
		if p.recovery {
			s.recovered = false
		} else {
			s.silent, s.silentSince = true, s.lastSeen
		}
		s.dirty = true
	}
	return nil
}

// maxSkewAlertsPerCheck bounds the clock-skew alerts raised at once (a
// flood of spoofed senders waits for the next checks).
const maxSkewAlertsPerCheck = 20

// alert builds a source alert; episode (the last arrival before the
// silence) makes its key unique per source and silence.
func (t *Tracker) alert(s *source, kind, title, level string, episode int64, at time.Time) alerts.Alert {
	return alerts.Alert{
		Key:       kind + "/" + s.host + "/" + s.dataset + "/" + strconv.FormatInt(episode/int64(time.Second), 10),
		Kind:      kind,
		RuleID:    "vigil." + kind,
		RuleTitle: title,
		Level:     level,
		Tags:      []string{"vigil.source_health"},
		Time:      at,
		Fields: map[string]string{
			"host.name": s.host, "event.dataset": s.dataset,
			"last_seen": ts(s.lastSeen).Format(time.RFC3339), "window": s.window.String(),
			"count": strconv.FormatInt(s.count, 10),
		},
	}
}

// RegisterMetrics exposes the tracker's state to Prometheus:
// vigil_sources_tracked, vigil_sources_silent and
// vigil_sources_evicted_total.
func (t *Tracker) RegisterMetrics(reg prometheus.Registerer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_sources_tracked", Help: "Log sources (host, dataset) tracked."},
			func() float64 { n, _ := t.Stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_sources_silent", Help: "Log sources silent for longer than their window."},
			func() float64 {
				t.mu.Lock()
				defer t.mu.Unlock()
				n := 0
				for _, s := range t.sources {
					if s.silent {
						n++
					}
				}
				return float64(n)
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_sources_evicted_total", Help: "Log sources dropped because the tracker was full."},
			func() float64 { _, e := t.Stats(); return float64(e) }),
	)
}

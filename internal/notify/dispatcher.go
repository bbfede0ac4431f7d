package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
)

var migrations = []string{`
CREATE TABLE notify_deliveries (
	id         INTEGER PRIMARY KEY,
	channel    TEXT NOT NULL,
	alert_id   INTEGER NOT NULL,
	status     TEXT NOT NULL,   -- pending, sent, dead
	attempts   INTEGER NOT NULL,
	next_at    INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	updated    INTEGER NOT NULL,
	sent       INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	digest     INTEGER NOT NULL
);
CREATE INDEX notify_due ON notify_deliveries (status, next_at);
CREATE INDEX notify_alert ON notify_deliveries (alert_id);
CREATE INDEX notify_channel ON notify_deliveries (channel, status);`, `
CREATE TABLE notify_channels (
	name    TEXT PRIMARY KEY,
	spec    TEXT NOT NULL,     -- ChannelSpec as JSON, secrets included
	author  TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL
);`}

// Channel is one configured channel with its route.
type Channel struct {
	Name  string
	Kind  string // webhook, slack, teams, pagerduty, email, syslog
	Where string // file:line of its configuration, or "console"
	// Console: defined in the console (API), editable there; the others
	// come from the configuration file.
	Console bool
	Route   Route
	Digest  time.Duration
	// Entities: the messages name user, host and addresses.
	Entities bool
	sender   Sender
	// Target describes where it sends, with no secret (for the API).
	Target string
}

// Route selects the alerts of a channel.
type Route struct {
	MinLevel string
	Rules    []string // globs over rule ids or names
	Tags     []string // globs over tags
	Schedule *Schedule
}

// Matches reports whether the route takes an alert raised at t.
func (r Route) Matches(a alerts.Alert, t time.Time) bool {
	if r.MinLevel != "" && alerts.LevelRank(a.Level) < alerts.LevelRank(r.MinLevel) {
		return false
	}
	if len(r.Rules) > 0 && !anyGlob(r.Rules, []string{a.RuleID}) {
		return false
	}
	if len(r.Tags) > 0 && !anyGlob(r.Tags, a.Tags) {
		return false
	}
	return r.Schedule.Active(t)
}

func anyGlob(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(v)); ok {
				return true
			}
		}
	}
	return false
}

// Options configure the dispatcher.
type Options struct {
	Alerts interface {
		Get(ctx context.Context, id int64) (alerts.Alert, error)
	}
	ConsoleURL string
	SMTP       SMTP
	Location   *time.Location
	// MaxAttempts before a delivery goes to the dead-letter list
	// (default 8); BaseDelay is the first retry's delay, doubled each
	// time up to MaxDelay (defaults 10s and 1h).
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	// SendTimeout bounds one attempt (default 15s).
	SendTimeout time.Duration
	// MaxPending bounds the queue: beyond it new deliveries are dropped
	// and counted (default 100,000).
	MaxPending int
	// MaxDead bounds the dead-letter list: beyond it the oldest dead
	// deliveries are deleted and counted (default 10,000). Keep is how
	// long sent and dead deliveries are kept (default 365 days); pending
	// ones are kept until they are sent or die.
	MaxDead    int
	Keep       time.Duration
	HTTPClient *http.Client
	Log        *slog.Logger
	Registry   prometheus.Registerer
	Now        func() time.Time
}

// Dispatcher queues and sends deliveries.
type Dispatcher struct {
	db  *sql.DB
	opt Options
	// chMu guards channels and byName: the console adds and removes
	// channels while the dispatcher runs.
	chMu     sync.RWMutex
	entities bool // notify.include_entities
	channels []*Channel
	byName   map[string]*Channel
	wake     chan struct{}
	mu       sync.Mutex
	busy     map[string]bool
	wg       sync.WaitGroup
	m        metrics
}

type metrics struct {
	sent, failed, dead, dropped, pruned *prometheus.CounterVec
}

// New builds the channels of the configuration.
func New(ctx context.Context, d *sql.DB, cfg *config.Config, opt Options) (*Dispatcher, error) {
	if err := db.Migrate(ctx, d, "notify", migrations); err != nil {
		return nil, err
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = 10 * time.Second
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = time.Hour
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = 15 * time.Second
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = 100_000
	}
	if opt.MaxDead <= 0 {
		opt.MaxDead = 10_000
	}
	if opt.Keep <= 0 {
		opt.Keep = 365 * 24 * time.Hour
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: opt.SendTimeout}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	n := &Dispatcher{db: d, opt: opt, byName: map[string]*Channel{}, wake: make(chan struct{}, 1), busy: map[string]bool{}, entities: cfg.Notify.IncludeEntities}
	for _, cc := range cfg.Channels() {
		ch, err := n.build(cc, cfg.Notify.IncludeEntities)
		if err != nil {
			return nil, fmt.Errorf("%s: notify channel %q: %w", cc.Where, cc.Name, err)
		}
		n.channels = append(n.channels, ch)
		n.byName[ch.Name] = ch
	}
	n.m = metrics{
		sent:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_notify_sent_total", Help: "Notifications delivered, by channel."}, []string{"channel"}),
		failed:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_notify_failures_total", Help: "Failed delivery attempts (retried), by channel."}, []string{"channel"}),
		dead:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_notify_dead_total", Help: "Deliveries given up after every retry (dead-letter list), by channel."}, []string{"channel"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_notify_dropped_total", Help: "Deliveries not queued because the queue was full, by channel."}, []string{"channel"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_notify_pruned_total",
			Help: "Delivery records deleted: reason age (sent or dead, older than the retention) or dead_limit (the dead-letter list was full)."}, []string{"reason"}),
	}
	if opt.Registry != nil {
		opt.Registry.MustRegister(n.m.sent, n.m.failed, n.m.dead, n.m.dropped, n.m.pruned)
	}
	if err := n.loadConsoleChannels(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Dispatcher) build(cc config.Channel, entities bool) (*Channel, error) {
	ch := &Channel{Name: cc.Name, Kind: cc.Kind, Where: cc.Where, Entities: entities,
		Route: Route{MinLevel: cc.MinLevel, Rules: cc.Rules, Tags: cc.Tags}}
	if cc.IncludeEntities != nil {
		ch.Entities = *cc.IncludeEntities
	}
	sch, err := ParseSchedule(cc.Schedule, n.opt.Location)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	ch.Route.Schedule = sch
	if cc.Digest != "" {
		d, err := config.ParseDuration(cc.Digest)
		if err != nil {
			return nil, fmt.Errorf("digest: %w", err)
		}
		ch.Digest = d
	}
	hc := n.opt.HTTPClient
	switch cc.Kind {
	case "webhook":
		ch.sender, ch.Target = &webhook{url: cc.URL, secret: cc.Secret, client: hc}, hostOf(cc.URL)
	case "slack":
		ch.sender, ch.Target = &slack{url: cc.URL, client: hc}, hostOf(cc.URL)
	case "teams":
		ch.sender, ch.Target = &teams{url: cc.URL, client: hc}, hostOf(cc.URL)
	case "pagerduty":
		u := cc.URL
		if u == "" {
			u = DefaultPagerDutyURL
		}
		ch.sender, ch.Target = &pagerDuty{url: u, key: cc.RoutingKey, client: hc}, hostOf(u)
	case "email":
		if n.opt.SMTP.Host == "" {
			return nil, errors.New("no SMTP server (notify.smtp.host)")
		}
		ch.sender, ch.Target = &email{to: cc.To, smtp: n.opt.SMTP}, strings.Join(cc.To, ", ")
	case "syslog":
		proto := cc.Protocol
		if proto == "" {
			proto = "udp"
		}
		format := cc.Format
		if format == "" {
			format = "cef"
		}
		tc, err := loadCA(cc.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		host, _ := os.Hostname()
		ch.sender, ch.Target = &syslogSender{addr: cc.Address, proto: proto, format: format, tls: tc, hostname: host}, proto+"://"+cc.Address
	default:
		return nil, fmt.Errorf("unknown kind %q", cc.Kind)
	}
	return ch, nil
}

// hostOf is the scheme and host of a URL: where a channel sends, without
// the secret many webhook URLs carry in their path.
func hostOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			rest = rest[:j]
		}
		return u[:i+3] + rest
	}
	return u
}

// Channels lists the channels: the configuration file's, then the
// console's.
func (n *Dispatcher) Channels() []*Channel {
	n.chMu.RLock()
	defer n.chMu.RUnlock()
	return slices.Clone(n.channels)
}

// channel finds a channel by name, or nil.
func (n *Dispatcher) channel(name string) *Channel {
	n.chMu.RLock()
	defer n.chMu.RUnlock()
	return n.byName[name]
}

// OnChange queues the deliveries of new alerts (alerts.Store.OnChange):
// one insert per channel that takes the alert; never blocks on a channel.
func (n *Dispatcher) OnChange(ctx context.Context, cs []alerts.Change) {
	if len(n.Channels()) == 0 {
		return
	}
	var as []alerts.Alert
	for _, c := range cs {
		if c.What == "new" {
			as = append(as, c.Alert)
		}
	}
	if err := n.Enqueue(ctx, as); err != nil {
		n.opt.Log.Warn("notifications not queued", "err", err, "alerts", len(as))
	}
}

// Enqueue queues the deliveries of alerts to the channels whose routes
// take them.
func (n *Dispatcher) Enqueue(ctx context.Context, as []alerts.Alert) error {
	if len(as) == 0 {
		return nil
	}
	now := n.opt.Now()
	var pending int
	if err := n.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notify_deliveries WHERE status = 'pending'`).Scan(&pending); err != nil {
		return err
	}
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	queued := 0
	chs := n.Channels()
	for _, a := range as {
		for _, ch := range chs {
			if !ch.Route.Matches(a, now) {
				continue
			}
			if pending+queued >= n.opt.MaxPending {
				n.m.dropped.WithLabelValues(ch.Name).Inc()
				continue
			}
			next, digest := now, 0
			if ch.Digest > 0 {
				next, digest = now.Truncate(ch.Digest).Add(ch.Digest), 1
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO notify_deliveries (channel, alert_id, status, attempts, next_at, created, updated, sent, last_error, digest)
				VALUES (?, ?, 'pending', 0, ?, ?, ?, 0, '', ?)`, ch.Name, a.ID, next.UnixNano(), now.UnixNano(), now.UnixNano(), digest); err != nil {
				return err
			}
			queued++
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if queued > 0 {
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run sends due deliveries until ctx ends, then waits for the sends in
// flight (each bounded by SendTimeout).
func (n *Dispatcher) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var pruned time.Time
	for {
		if err := n.dispatch(ctx); err != nil && ctx.Err() == nil {
			n.opt.Log.Warn("notifications: read the queue", "err", err)
		}
		if now := n.opt.Now(); now.Sub(pruned) >= pruneEvery {
			pruned = now
			if _, err := n.Prune(ctx); err != nil && ctx.Err() == nil {
				n.opt.Log.Warn("notifications: prune the delivery records", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			n.wg.Wait()
			return
		case <-tick.C:
		case <-n.wake:
		}
	}
}

// pruneEvery is how often Run prunes the delivery records.
const pruneEvery = 10 * time.Minute

// Prune deletes the sent and dead deliveries older than Options.Keep and,
// beyond Options.MaxDead, the oldest dead ones, so that the records and the
// dead-letter list stay bounded whatever a channel does. It returns how many
// records it deleted.
func (n *Dispatcher) Prune(ctx context.Context) (int64, error) {
	cutoff := n.opt.Now().Add(-n.opt.Keep).UnixNano()
	res, err := n.db.ExecContext(ctx, `DELETE FROM notify_deliveries WHERE status IN ('sent', 'dead') AND updated < ?`, cutoff)
	if err != nil {
		return 0, err
	}
	old, _ := res.RowsAffected()
	res, err = n.db.ExecContext(ctx, `DELETE FROM notify_deliveries WHERE status = 'dead' AND id NOT IN
		(SELECT id FROM notify_deliveries WHERE status = 'dead' ORDER BY updated DESC, id DESC LIMIT ?)`, n.opt.MaxDead)
	if err != nil {
		return old, err
	}
	over, _ := res.RowsAffected()
	n.m.pruned.WithLabelValues("age").Add(float64(old))
	n.m.pruned.WithLabelValues("dead_limit").Add(float64(over))
	if over > 0 {
		n.opt.Log.Warn("notifications: the dead-letter list is full; the oldest dead deliveries were deleted", "deleted", over, "max_dead", n.opt.MaxDead)
	}
	return old + over, nil
}

type due struct {
	id, alert int64
	attempts  int
	digest    bool
}

// dispatch starts, for every channel not busy, the send of its due
// deliveries.
func (n *Dispatcher) dispatch(ctx context.Context) error {
	rows, err := n.db.QueryContext(ctx, `SELECT id, channel, alert_id, attempts, digest FROM notify_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT 1000`,
		n.opt.Now().UnixNano())
	if err != nil {
		return err
	}
	byChannel := map[string][]due{}
	for rows.Next() {
		var d due
		var ch string
		var dg int
		if err := rows.Scan(&d.id, &ch, &d.alert, &d.attempts, &dg); err != nil {
			rows.Close()
			return err
		}
		d.digest = dg == 1
		byChannel[ch] = append(byChannel[ch], d)
	}
	rows.Close()
	for name, ds := range byChannel {
		ch := n.channel(name)
		if ch == nil {
			// A channel removed from the configuration: its deliveries
			// cannot be sent.
			n.finish(ctx, ds, errors.New("channel no longer configured"), true)
			continue
		}
		n.mu.Lock()
		if n.busy[name] {
			n.mu.Unlock()
			continue
		}
		n.busy[name] = true
		n.mu.Unlock()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer func() { n.mu.Lock(); delete(n.busy, name); n.mu.Unlock() }()
			n.sendChannel(context.WithoutCancel(ctx), ch, ds)
		}()
	}
	return nil
}

// sendChannel sends a channel's due deliveries: a digest as one message,
// the others one by one.
func (n *Dispatcher) sendChannel(ctx context.Context, ch *Channel, ds []due) {
	var digest, single []due
	for _, d := range ds {
		if d.digest {
			digest = append(digest, d)
		} else {
			single = append(single, d)
		}
	}
	if len(digest) > 0 {
		n.send(ctx, ch, digest, true)
	}
	for _, d := range single {
		n.send(ctx, ch, []due{d}, false)
	}
}

func (n *Dispatcher) send(ctx context.Context, ch *Channel, ds []due, digest bool) {
	var msgs []Message
	var sendable []due
	for _, d := range ds {
		a, err := n.opt.Alerts.Get(ctx, d.alert)
		if err != nil {
			n.finish(ctx, []due{d}, fmt.Errorf("alert %d: %w", d.alert, err), true)
			continue
		}
		msgs = append(msgs, NewMessage(a, n.opt.ConsoleURL, ch.Entities))
		sendable = append(sendable, d)
	}
	if len(sendable) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, n.opt.SendTimeout)
	err := ch.sender.Send(sctx, Delivery{ID: sendable[0].id, Channel: ch.Name, Messages: msgs, Digest: digest, Now: n.opt.Now()})
	cancel()
	n.finish(ctx, sendable, err, false)
	if err != nil {
		n.opt.Log.Warn("notification not delivered", "channel", ch.Name, "kind", ch.Kind, "attempt", sendable[0].attempts+1, "err", err)
	}
}

// finish records the outcome of an attempt: sent, retried later with
// back-off, or dead.
func (n *Dispatcher) finish(ctx context.Context, ds []due, err error, final bool) {
	now := n.opt.Now()
	for _, d := range ds {
		var q string
		var args []any
		name := ""
		_ = n.db.QueryRowContext(ctx, `SELECT channel FROM notify_deliveries WHERE id = ?`, d.id).Scan(&name)
		switch {
		case err == nil:
			q, args = `UPDATE notify_deliveries SET status = 'sent', attempts = attempts + 1, sent = ?, updated = ?, last_error = '' WHERE id = ?`, []any{now.UnixNano(), now.UnixNano(), d.id}
			n.m.sent.WithLabelValues(name).Inc()
		case final || d.attempts+1 >= n.opt.MaxAttempts:
			q, args = `UPDATE notify_deliveries SET status = 'dead', attempts = attempts + 1, updated = ?, last_error = ? WHERE id = ?`, []any{now.UnixNano(), clip(err.Error(), 500), d.id}
			n.m.dead.WithLabelValues(name).Inc()
		default:
			q, args = `UPDATE notify_deliveries SET attempts = attempts + 1, next_at = ?, updated = ?, last_error = ? WHERE id = ?`,
				[]any{now.Add(n.backoff(d.attempts + 1)).UnixNano(), now.UnixNano(), clip(err.Error(), 500), d.id}
			n.m.failed.WithLabelValues(name).Inc()
		}
		if _, werr := n.db.ExecContext(ctx, q, args...); werr != nil {
			n.opt.Log.Warn("notification outcome not recorded", "err", werr)
		}
	}
}

// backoff is the delay before attempt n+1: BaseDelay doubled per attempt,
// at most MaxDelay, with ±20% jitter.
func (n *Dispatcher) backoff(attempts int) time.Duration {
	d := n.opt.BaseDelay << min(attempts-1, 20)
	if d > n.opt.MaxDelay || d <= 0 {
		d = n.opt.MaxDelay
	}
	// ±20% jitter, so that deliveries failed together do not retry
	// together; never beyond MaxDelay.
	return min(time.Duration(float64(d)*(0.8+0.4*rand.Float64())), n.opt.MaxDelay)
}

// DeliveryRecord is one delivery as the API lists it.
type DeliveryRecord struct {
	ID        int64      `json:"id"`
	Channel   string     `json:"channel"`
	AlertID   int64      `json:"alert_id"`
	Status    string     `json:"status"` // pending, sent, dead
	Attempts  int        `json:"attempts"`
	NextAt    *time.Time `json:"next_attempt,omitempty"`
	Created   time.Time  `json:"created"`
	Sent      *time.Time `json:"sent,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Digest    bool       `json:"digest"`
}

// Filter selects deliveries.
type Filter struct {
	Status  string
	Channel string
	AlertID int64
	Limit   int
}

// Deliveries lists deliveries, newest first.
func (n *Dispatcher) Deliveries(ctx context.Context, f Filter) ([]DeliveryRecord, error) {
	var where []string
	var args []any
	if f.Status != "" {
		if !slices.Contains([]string{"pending", "sent", "dead"}, f.Status) {
			return nil, fmt.Errorf("unknown status %q: want pending, sent or dead", f.Status)
		}
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Channel != "" {
		where, args = append(where, "channel = ?"), append(args, f.Channel)
	}
	if f.AlertID != 0 {
		where, args = append(where, "alert_id = ?"), append(args, f.AlertID)
	}
	q := `SELECT id, channel, alert_id, status, attempts, next_at, created, sent, last_error, digest FROM notify_deliveries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := n.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DeliveryRecord{}
	for rows.Next() {
		var r DeliveryRecord
		var next, created, sent int64
		var dg int
		if err := rows.Scan(&r.ID, &r.Channel, &r.AlertID, &r.Status, &r.Attempts, &next, &created, &sent, &r.LastError, &dg); err != nil {
			return nil, err
		}
		r.Created, r.Digest = time.Unix(0, created).UTC(), dg == 1
		if r.Status == "pending" {
			t := time.Unix(0, next).UTC()
			r.NextAt = &t
		}
		if sent != 0 {
			t := time.Unix(0, sent).UTC()
			r.Sent = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNotDead is a retry of a delivery that is not on the dead-letter list.
var ErrNotDead = apierr.Conflict("only dead deliveries are retried by hand")

// Retry puts a dead delivery back in the queue.
func (n *Dispatcher) Retry(ctx context.Context, id int64) error {
	now := n.opt.Now().UnixNano()
	res, err := n.db.ExecContext(ctx, `UPDATE notify_deliveries SET status = 'pending', attempts = 0, next_at = ?, updated = ? WHERE id = ? AND status = 'dead'`, now, now, id)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrNotDead
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return nil
}

// Test sends a test message on a channel now, outside the queue.
func (n *Dispatcher) Test(ctx context.Context, name string) error {
	ch := n.channel(name)
	if ch == nil {
		return fmt.Errorf("no channel %q", name)
	}
	now := n.opt.Now()
	m := Message{Title: "Vigil test notification", RuleID: "vigil.test", Level: "informational", Kind: "test", Tags: []string{}, Status: "new",
		Count: 1, FirstSeen: now, LastSeen: now, Raised: now}
	sctx, cancel := context.WithTimeout(ctx, n.opt.SendTimeout)
	defer cancel()
	return ch.sender.Send(sctx, Delivery{Channel: name, Messages: []Message{m}, Now: now})
}

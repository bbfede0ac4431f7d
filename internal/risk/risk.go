// Package risk keeps the risk of entities — users, hosts, source
// addresses, patients — from the alerts that name them, as risk-based
// alerting does (Splunk RBA): each new alert adds a score to each of its
// entities by its level and rule, scores decay with a half-life, and an
// entity whose sum crosses the threshold raises one alert of its own
// (grouped while it stays open), so that many small signals about one
// account add up to something a person looks at.
package risk

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/web"
)

var migrations = []string{`
CREATE TABLE risk_events (
	id          INTEGER PRIMARY KEY,
	entity_type TEXT NOT NULL,
	entity      TEXT NOT NULL,
	alert_id    INTEGER NOT NULL,
	rule_id     TEXT NOT NULL,
	score       REAL NOT NULL,
	time        INTEGER NOT NULL
);
CREATE INDEX risk_entity ON risk_events (entity_type, entity, time);
CREATE INDEX risk_time ON risk_events (time);`}

// EntityFields map alert fields to entity types.
var EntityFields = []struct{ Field, Type string }{
	{"user.name", "user"}, {"host.name", "host"}, {"source.ip", "ip"}, {"healthcare.patient.id", "patient"},
}

// LevelScores is the base score of an alert by level.
var LevelScores = map[string]float64{"informational": 1, "low": 5, "medium": 15, "high": 40, "critical": 80}

// Options configure the risk.
type Options struct {
	// HalfLife: a score counts half after this long (default 24h).
	HalfLife time.Duration
	// Threshold: an entity whose sum reaches it raises an alert (default
	// 100; 0 disables).
	Threshold float64
	// RuleFactors multiply the base score of rules matching a glob
	// ("vigil_hc_*=2", "noisy_rule=0.2").
	RuleFactors []Factor
	Alerts      *alerts.Store
	Log         *slog.Logger
	Now         func() time.Time
}

// Factor is one rule glob and its multiplier.
type Factor struct {
	Glob   string
	Factor float64
}

// ParseFactors reads "GLOB=FACTOR" items.
func ParseFactors(items []string) ([]Factor, error) {
	var out []Factor
	for _, it := range items {
		g, f, ok := strings.Cut(it, "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if !ok || err != nil || x < 0 || strings.TrimSpace(g) == "" {
			return nil, fmt.Errorf("invalid rule factor %q: want RULEGLOB=FACTOR, e.g. vigil_hc_*=2", it)
		}
		out = append(out, Factor{strings.TrimSpace(g), x})
	}
	return out, nil
}

// Engine scores entities.
type Engine struct {
	db  *sql.DB
	opt Options
}

// Open prepares the tables.
func Open(ctx context.Context, d *sql.DB, opt Options) (*Engine, error) {
	if err := db.Migrate(ctx, d, "risk", migrations); err != nil {
		return nil, err
	}
	if opt.HalfLife <= 0 {
		opt.HalfLife = 24 * time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{db: d, opt: opt}, nil
}

// Entity is one scored entity.
type Entity struct {
	Type  string  `json:"type"`
	Value string  `json:"value"`
	Score float64 `json:"score"`
	// Alerts is how many alerts added to it in the last ten half-lives.
	Alerts int       `json:"alerts"`
	Last   time.Time `json:"last"`
}

func (e *Engine) factor(rule string) float64 {
	for _, f := range e.opt.RuleFactors {
		if ok, _ := path.Match(strings.ToLower(f.Glob), strings.ToLower(rule)); ok {
			return f.Factor
		}
	}
	return 1
}

// entities names the entities of an alert (group-by values first).
func entities(a alerts.Alert) [][2]string {
	var out [][2]string
	for _, ef := range EntityFields {
		v, ok := a.GroupBy[ef.Field]
		if !ok {
			v, ok = a.Fields[ef.Field]
		}
		if ok && v != "" && v != "-" {
			out = append(out, [2]string{ef.Type, v})
		}
	}
	return out
}

// OnChange adds the risk of new detection alerts (alerts.Store.OnChange).
func (e *Engine) OnChange(ctx context.Context, cs []alerts.Change) {
	var as []alerts.Alert
	for _, c := range cs {
		if c.What == "new" && (c.Alert.Kind == "sigma" || c.Alert.Kind == "correlation") {
			as = append(as, c.Alert)
		}
	}
	if len(as) == 0 {
		return
	}
	if err := e.Add(ctx, as); err != nil {
		e.opt.Log.Warn("risk not added", "err", err)
	}
}

// Add scores alerts and raises the threshold alerts they cause. Each
// entity's score is read once per call and carried through its alerts,
// and the risk events are written in one transaction: reading the score
// for every alert made a burst of alerts about one host cost a read of
// all that host's recent risk events per alert.
func (e *Engine) Add(ctx context.Context, as []alerts.Alert) error {
	now := e.opt.Now()
	type scored struct {
		en    [2]string
		a     *alerts.Alert
		score float64
	}
	var todo []scored
	current := map[[2]string]float64{}
	for i := range as {
		a := &as[i]
		score := LevelScores[a.Level] * e.factor(a.RuleID)
		if score <= 0 {
			continue
		}
		for _, en := range entities(*a) {
			if _, ok := current[en]; !ok {
				s, err := e.score(ctx, en[0], en[1], now)
				if err != nil {
					return err
				}
				current[en] = s
			}
			todo = append(todo, scored{en, a, score})
		}
	}
	if len(todo) == 0 {
		return nil
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var raise []alerts.Alert
	for _, t := range todo {
		if _, err := tx.ExecContext(ctx, `INSERT INTO risk_events (entity_type, entity, alert_id, rule_id, score, time) VALUES (?, ?, ?, ?, ?, ?)`,
			t.en[0], t.en[1], t.a.ID, t.a.RuleID, t.score, now.UnixNano()); err != nil {
			return err
		}
		before := current[t.en]
		after := before + t.score
		current[t.en] = after
		if e.opt.Threshold > 0 && before < e.opt.Threshold && after >= e.opt.Threshold {
			raise = append(raise, e.thresholdAlert(t.en[0], t.en[1], after, now))
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if len(raise) > 0 && e.opt.Alerts != nil {
		_, err := e.opt.Alerts.Add(ctx, raise)
		return err
	}
	return nil
}

func (e *Engine) thresholdAlert(typ, value string, score float64, now time.Time) alerts.Alert {
	field := ""
	for _, ef := range EntityFields {
		if ef.Type == typ {
			field = ef.Field
		}
	}
	return alerts.Alert{
		Key:  "risk/" + typ + "/" + value + "/" + strconv.FormatInt(now.UnixNano(), 10),
		Kind: "risk", RuleID: "vigil.risk_threshold", RuleTitle: "Entity risk above threshold", Level: "high",
		Tags: []string{"vigil.risk"}, Time: now, GroupKey: alerts.GroupKey("vigil.risk_threshold", [2]string{field, value}),
		GroupBy: map[string]string{field: value},
		Fields: map[string]string{field: value, "risk.entity_type": typ, "risk.score": strconv.FormatFloat(math.Round(score*10)/10, 'f', -1, 64),
			"risk.threshold": strconv.FormatFloat(e.opt.Threshold, 'f', -1, 64)},
	}
}

// score is an entity's decayed sum at now.
func (e *Engine) score(ctx context.Context, typ, value string, now time.Time) (float64, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT score, time FROM risk_events WHERE entity_type = ? AND entity = ? AND time >= ?`,
		typ, value, now.Add(-10*e.opt.HalfLife).UnixNano())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var sum float64
	for rows.Next() {
		var s float64
		var t int64
		if err := rows.Scan(&s, &t); err != nil {
			return 0, err
		}
		sum += e.decay(s, now.Sub(time.Unix(0, t)))
	}
	return sum, rows.Err()
}

func (e *Engine) decay(score float64, age time.Duration) float64 {
	if age < 0 {
		age = 0
	}
	return score * math.Pow(0.5, float64(age)/float64(e.opt.HalfLife))
}

// Top lists the riskiest entities (of a type, or all), highest first.
func (e *Engine) Top(ctx context.Context, typ string, limit int) ([]Entity, error) {
	now := e.opt.Now()
	q := `SELECT entity_type, entity, score, time FROM risk_events WHERE time >= ?`
	args := []any{now.Add(-10 * e.opt.HalfLife).UnixNano()}
	if typ != "" {
		q += ` AND entity_type = ?`
		args = append(args, typ)
	}
	rows, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[[2]string]*Entity{}
	for rows.Next() {
		var t, v string
		var s float64
		var at int64
		if err := rows.Scan(&t, &v, &s, &at); err != nil {
			return nil, err
		}
		en := by[[2]string{t, v}]
		if en == nil {
			en = &Entity{Type: t, Value: v}
			by[[2]string{t, v}] = en
		}
		en.Score += e.decay(s, now.Sub(time.Unix(0, at)))
		en.Alerts++
		if tt := time.Unix(0, at).UTC(); tt.After(en.Last) {
			en.Last = tt
		}
	}
	out := make([]Entity, 0, len(by))
	for _, en := range by {
		en.Score = math.Round(en.Score*10) / 10
		out = append(out, *en)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Value < out[j].Value
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, rows.Err()
}

// Contribution is one alert's part of an entity's risk.
type Contribution struct {
	AlertID int64     `json:"alert_id"`
	RuleID  string    `json:"rule_id"`
	Score   float64   `json:"score"` // as added
	Now     float64   `json:"now"`   // after decay
	Time    time.Time `json:"time"`
}

// Of returns an entity's score and what made it.
func (e *Engine) Of(ctx context.Context, typ, value string) (Entity, []Contribution, error) {
	now := e.opt.Now()
	rows, err := e.db.QueryContext(ctx, `SELECT alert_id, rule_id, score, time FROM risk_events WHERE entity_type = ? AND entity = ? AND time >= ? ORDER BY time DESC`,
		typ, value, now.Add(-10*e.opt.HalfLife).UnixNano())
	if err != nil {
		return Entity{}, nil, err
	}
	defer rows.Close()
	en := Entity{Type: typ, Value: value}
	cs := []Contribution{}
	for rows.Next() {
		var c Contribution
		var at int64
		if err := rows.Scan(&c.AlertID, &c.RuleID, &c.Score, &at); err != nil {
			return en, nil, err
		}
		c.Time = time.Unix(0, at).UTC()
		c.Now = math.Round(e.decay(c.Score, now.Sub(c.Time))*10) / 10
		en.Score += e.decay(c.Score, now.Sub(c.Time))
		en.Alerts++
		if c.Time.After(en.Last) {
			en.Last = c.Time
		}
		if len(cs) < 200 {
			cs = append(cs, c)
		}
	}
	en.Score = math.Round(en.Score*10) / 10
	return en, cs, rows.Err()
}

// Prune forgets scores older than ten half-lives (under 0.1% left).
func (e *Engine) Prune(ctx context.Context) error {
	_, err := e.db.ExecContext(ctx, `DELETE FROM risk_events WHERE time < ?`, e.opt.Now().Add(-10*e.opt.HalfLife).UnixNano())
	return err
}

// Handler serves the risk API:
//
//	GET /api/v1/risk?type=user|host|ip|patient&limit=50   alerts:read  the riskiest entities
//	GET /api/v1/risk/{type}/{value}                       alerts:read  one entity's score and the alerts that made it
type Handler struct {
	Engine *Engine
	// Mask, when set, hides patient identifiers from callers without PHI.
	Mask func(ctx context.Context, es []Entity)
}

// Routes returns the API's routes with their permissions.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/risk", access.AlertsRead, h.top),
		access.Handle("GET /api/v1/risk/{type}/{value}", access.AlertsRead, h.one),
	}
}

func validType(t string) bool {
	for _, ef := range EntityFields {
		if ef.Type == t {
			return true
		}
	}
	return false
}

func (h *Handler) top(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ != "" && !validType(typ) {
		web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "type: want user, host, ip or patient"})
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want 1 to 10000"})
			return
		}
		limit = n
	}
	es, err := h.Engine.Top(r.Context(), typ, limit)
	if err != nil {
		web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if h.Mask != nil {
		h.Mask(r.Context(), es)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"entities": es, "threshold": h.Engine.opt.Threshold, "half_life": h.Engine.opt.HalfLife.String()})
}

func (h *Handler) one(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	if !validType(typ) {
		web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "type: want user, host, ip or patient"})
		return
	}
	en, cs, err := h.Engine.Of(r.Context(), typ, r.PathValue("value"))
	if err != nil {
		web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"entity": en, "contributions": cs, "threshold": h.Engine.opt.Threshold})
}

package alerts

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RuleStats are one rule's alerts over a period, for the review of noisy
// rules.
type RuleStats struct {
	RuleID    string `json:"rule_id"`
	RuleTitle string `json:"rule_title"`
	Alerts    int    `json:"alerts"`
	Open      int    `json:"open"`
	Closed    int    `json:"closed"`
	// Events is the number of matches the alerts stand for.
	Events        int            `json:"events"`
	ByDisposition map[string]int `json:"by_disposition"`
	// FalsePositiveRate is false positives over closed alerts (0 when
	// none is closed).
	FalsePositiveRate float64 `json:"false_positive_rate"`
	// Mean and median times from raising to acknowledging and closing, in
	// seconds, over the alerts that were.
	MeanAcknowledge   float64 `json:"mean_acknowledge_seconds"`
	MedianAcknowledge float64 `json:"median_acknowledge_seconds"`
	MeanClose         float64 `json:"mean_close_seconds"`
	MedianClose       float64 `json:"median_close_seconds"`
	SLABreaches       int     `json:"sla_breaches"`
}

// Stats summarises the alerts raised in [since, until) per rule, noisiest
// first (most alerts, then highest false-positive rate).
func (s *Store) Stats(ctx context.Context, since, until time.Time, sla SLA) ([]RuleStats, error) {
	q := `SELECT rule_id, rule_title, level, status, disposition, count, created, acknowledged, closed FROM alerts WHERE created >= ?`
	args := []any{since.UnixNano()}
	if !until.IsZero() {
		q += ` AND created < ?`
		args = append(args, until.UnixNano())
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	by := map[string]*RuleStats{}
	acks, closes := map[string][]float64{}, map[string][]float64{}
	now := s.opt.Now()
	for rows.Next() {
		var rule, title, level, status, disp string
		var count int
		var created, ack, closed int64
		if err := rows.Scan(&rule, &title, &level, &status, &disp, &count, &created, &ack, &closed); err != nil {
			return nil, err
		}
		r := by[rule]
		if r == nil {
			r = &RuleStats{RuleID: rule, RuleTitle: title, ByDisposition: map[string]int{}}
			by[rule] = r
		}
		r.Alerts++
		r.Events += count
		if status == "closed" {
			r.Closed++
			r.ByDisposition[disp]++
		} else {
			r.Open++
		}
		a := Alert{Level: level, Created: time.Unix(0, created)}
		if ack != 0 {
			t := time.Unix(0, ack)
			a.AcknowledgedAt = &t
			acks[rule] = append(acks[rule], t.Sub(a.Created).Seconds())
		}
		if closed != 0 {
			t := time.Unix(0, closed)
			a.ClosedAt = &t
			closes[rule] = append(closes[rule], t.Sub(a.Created).Seconds())
		}
		if st := sla.State(a, now); st.AcknowledgeBreached || st.CloseBreached {
			r.SLABreaches++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]RuleStats, 0, len(by))
	for rule, r := range by {
		if r.Closed > 0 {
			r.FalsePositiveRate = float64(r.ByDisposition["false_positive"]) / float64(r.Closed)
		}
		r.MeanAcknowledge, r.MedianAcknowledge = meanMedian(acks[rule])
		r.MeanClose, r.MedianClose = meanMedian(closes[rule])
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Alerts != out[j].Alerts {
			return out[i].Alerts > out[j].Alerts
		}
		if out[i].FalsePositiveRate != out[j].FalsePositiveRate {
			return out[i].FalsePositiveRate > out[j].FalsePositiveRate
		}
		return out[i].RuleID < out[j].RuleID
	})
	return out, nil
}

func meanMedian(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	sort.Float64s(v)
	var sum float64
	for _, x := range v {
		sum += x
	}
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return sum / float64(len(v)), m
}

// RegisterMetrics exports triage metrics: alerts closed per rule and
// disposition, times to acknowledge and close per level (as they
// happen), and the open alerts per level and status (read at a scrape,
// at most every openEvery).
func (s *Store) RegisterMetrics(reg prometheus.Registerer) {
	closed := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_alerts_closed_total", Help: "Alerts closed, by rule and disposition."}, []string{"rule", "disposition"})
	buckets := []float64{60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600, 7 * 24 * 3600}
	ack := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigil_alert_acknowledge_seconds", Help: "Time from raising an alert to acknowledging it, by level.", Buckets: buckets}, []string{"level"})
	cls := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vigil_alert_close_seconds", Help: "Time from raising an alert to closing it, by level.", Buckets: buckets}, []string{"level"})
	reg.MustRegister(closed, ack, cls, &openCollector{s: s, desc: prometheus.NewDesc("vigil_alerts_open", "Alerts not closed, by level and status.", []string{"level", "status"}, nil)})
	s.OnTriage(func(_ context.Context, before, after Alert) {
		if before.AcknowledgedAt == nil && after.AcknowledgedAt != nil {
			ack.WithLabelValues(after.Level).Observe(after.AcknowledgedAt.Sub(after.Created).Seconds())
		}
		if before.Status != "closed" && after.Status == "closed" && after.ClosedAt != nil {
			closed.WithLabelValues(after.RuleID, after.Disposition).Inc()
			cls.WithLabelValues(after.Level).Observe(after.ClosedAt.Sub(after.Created).Seconds())
		}
	})
}

type openCollector struct {
	s    *Store
	desc *prometheus.Desc

	mu     sync.Mutex
	at     time.Time // when counts were read
	counts []openCount
}

type openCount struct {
	level, status string
	n             float64
}

// openEvery is how long the open-alert counts are reused: counting them
// reads every open alert, and a scraper polling /metrics (a dashboard, a
// benchmark waiting for its events) made that a cost per scrape that grew
// with the alerts raised.
const openEvery = 10 * time.Second

func (c *openCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *openCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.s.opt.Now()
	if c.at.IsZero() || now.Sub(c.at) >= openEvery || now.Before(c.at) {
		counts, err := c.read()
		if err != nil {
			return
		}
		c.counts, c.at = counts, now
	}
	for _, o := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, o.n, o.level, o.status)
	}
}

func (c *openCollector) read() ([]openCount, error) {
	rows, err := c.s.db.Query(`SELECT level, status, COUNT(*) FROM alerts WHERE status != 'closed' GROUP BY level, status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []openCount
	for rows.Next() {
		var o openCount
		if err := rows.Scan(&o.level, &o.status, &o.n); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// stats serves GET /api/v1/alerts/stats?since=-30d&until=&limit=.
func (h *Handler) stats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := h.now()
	since := now.Add(-30 * 24 * time.Hour)
	var until time.Time
	var err error
	if v := q.Get("since"); v != "" {
		if since, err = h.ParseTime(v, now); err != nil {
			fail(w, http.StatusBadRequest, "since: "+err.Error())
			return
		}
	}
	if v := q.Get("until"); v != "" {
		if until, err = h.ParseTime(v, now); err != nil {
			fail(w, http.StatusBadRequest, "until: "+err.Error())
			return
		}
	}
	rs, err := h.Store.Stats(r.Context(), since, until, h.SLA)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	total := RuleStats{RuleID: "*", ByDisposition: map[string]int{}}
	var fp int
	for _, x := range rs {
		total.Alerts += x.Alerts
		total.Open += x.Open
		total.Closed += x.Closed
		total.Events += x.Events
		total.SLABreaches += x.SLABreaches
		for d, n := range x.ByDisposition {
			total.ByDisposition[d] += n
		}
		fp += x.ByDisposition["false_positive"]
	}
	if total.Closed > 0 {
		total.FalsePositiveRate = float64(fp) / float64(total.Closed)
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since, "rules": rs, "total": total})
}

// Package simulate generates a consistent synthetic hospital — patients,
// a workforce with departments, roles, managers, shifts and care teams,
// encounters — and streams what its systems would log to a running Vigil:
// the HR roster (workforce import API), HL7 ADT over MLLP, FHIR
// AuditEvents, EHR access-log rows, DICOM/IHE ATNA audit messages and
// Linux authentication over syslog, and Windows logons (Winlogbeat JSON)
// over HTTP. On top of the benign background it injects incidents
// (snooping on family, co-workers and VIPs, access after termination,
// bulk access, break-glass misuse, password spraying, SSH brute force,
// DICOM export to an unknown destination …) and writes their ground truth.
//
// Everything is drawn from a seeded random source, so a seed and a start
// time give the same hospital and the same events. Time is compressed: by
// default a simulated day passes in a minute, and the simulated period
// ends shortly before the present, so the alerts are live.
//
// The synthetic names, addresses and record numbers are treated as PHI:
// they go to Vigil and to the ground-truth file, never to the log.
package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
)

// Config configures a run.
type Config struct {
	// Server is the Vigil HTTP API (default http://127.0.0.1:8080), Token
	// its bearer token; MLLP and Syslog the HL7 MLLP and syslog TCP
	// listeners (host:port).
	Server, Token, MLLP, Syslog string
	Insecure                    bool
	Seed                        uint64
	// Start is the simulated start; zero: the most recent 06:00 (local)
	// that lets the period end before now (so that the first day's shifts
	// are seen whole and every event is in the past).
	Start time.Time
	// Duration is how long the run takes (default 2 minutes).
	Duration time.Duration
	// Rate is simulated seconds per real second (default 1440: a day a
	// minute); 0 sends as fast as the server takes it.
	Rate float64
	// Span is the simulated period (default Duration×Rate, or a day when
	// unpaced).
	Span            time.Duration
	Staff, Patients int
	Activity        float64
	// Profile, Beds and Rounds: see PlanOptions.
	Profile      string
	Beds, Rounds int
	Location     *time.Location
	NoIncidents  bool
	// Orders sends the ancillary feeds (order, pharmacy, result and
	// scheduling messages) over MLLP; see PlanOptions.Orders.
	Orders bool
	// Baseline is the server's usual-hours warm-up (to place the
	// outside-hours incident); default the enricher's.
	Baseline enrich.BaselineConfig
	// Lag holds the HTTP sources behind the syslog and MLLP ones, so that
	// events reach the server in about their time order whatever the
	// syslog listener's batching delay (default 300ms).
	Lag time.Duration
	// Truth receives the ground truth (JSON lines), when set.
	Truth io.Writer
	// Status receives progress lines (no PHI), when set.
	Status io.Writer
	// DryRun renders every event without sending anything, as fast as it
	// can (the period is still Duration×Rate unless Span is given).
	DryRun bool
	Log    *slog.Logger
}

// Stats tell what a run did.
type Stats struct {
	SimStart, SimEnd time.Time
	Events           map[string]int // per source
	Sent             int
	Bytes            int64
	Errors           int
	Incidents        int
	Skipped          []string
	Elapsed          time.Duration
}

// TruthRecord is one line of the ground-truth file.
type TruthRecord struct {
	Incident    string    `json:"incident"`
	Rules       []string  `json:"rules"`
	Also        []string  `json:"also,omitempty"`
	User        string    `json:"user,omitempty"`
	Patient     string    `json:"patient,omitempty"`
	SourceIP    string    `json:"source_ip,omitempty"`
	Host        string    `json:"host,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Description string    `json:"description"`
	// AccessIDs are the ids of the incident's record accesses (event.id
	// of the stored events: the access log's ACCESS_ID, the AuditEvent
	// id).
	AccessIDs []string `json:"access_ids,omitempty"`
}

// DefaultStart returns the simulated start Run uses when none is given:
// the latest local 06:00 at or before now-span.
func DefaultStart(now time.Time, span time.Duration, loc *time.Location) time.Time {
	t := now.Add(-span).In(loc)
	s := time.Date(t.Year(), t.Month(), t.Day(), 6, 0, 0, 0, loc)
	if s.After(t) {
		s = s.AddDate(0, 0, -1)
	}
	return s
}

func (c *Config) defaults() error {
	if c.Server == "" {
		c.Server = "http://127.0.0.1:8080"
	}
	if c.Duration <= 0 {
		c.Duration = 2 * time.Minute
	}
	if c.Rate < 0 {
		return errors.New("rate must not be negative")
	}
	if c.Span <= 0 {
		c.Span = 24 * time.Hour
		if c.Rate > 0 {
			c.Span = time.Duration(float64(c.Duration) * c.Rate)
		}
	}
	if c.Span < time.Hour {
		return fmt.Errorf("simulated period %v is shorter than an hour (raise --duration or --rate)", c.Span)
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Lag <= 0 {
		c.Lag = 300 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart(time.Now(), c.Span, c.Location)
	}
	if !c.DryRun && (c.MLLP == "" || c.Syslog == "") {
		return errors.New("the MLLP and syslog TCP addresses are needed (--mllp, --syslog)")
	}
	return nil
}

// Truth returns the ground-truth records of a plan.
func (p *Plan) Truth() []TruthRecord {
	out := make([]TruthRecord, 0, len(p.Incidents))
	for _, in := range p.Incidents {
		out = append(out, TruthRecord{Incident: in.Type, Rules: in.Rules, Also: in.Also, User: in.User, Patient: in.Patient,
			SourceIP: in.SourceIP, Host: in.Host, Start: in.Start.UTC(), End: in.End.UTC(), Description: in.Description, AccessIDs: in.AccessIDs})
	}
	return out
}

// Run plans the simulated period and streams it to the server.
func Run(ctx context.Context, cfg Config) (*Stats, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	plan := NewPlan(PlanOptions{Seed: cfg.Seed, Start: cfg.Start, Span: cfg.Span, Location: cfg.Location, Staff: cfg.Staff,
		Patients: cfg.Patients, Activity: cfg.Activity, Incidents: !cfg.NoIncidents, Orders: cfg.Orders, Baseline: cfg.Baseline, Profile: cfg.Profile, Beds: cfg.Beds,
		Rounds: cfg.Rounds})
	st := &Stats{SimStart: cfg.Start, SimEnd: cfg.Start.Add(cfg.Span), Events: map[string]int{}, Incidents: len(plan.Incidents),
		Skipped: plan.Skipped}
	for _, s := range plan.Skipped {
		cfg.Log.Warn("incident not injected", "why", s)
	}
	r := &renderer{loc: cfg.Location, seed: cfg.Seed, fac: plan.H.Profile.Facility}
	var snd sender
	if cfg.DryRun {
		snd = &discard{r: r}
	} else {
		n, err := newNetSender(ctx, &cfg, r)
		if err != nil {
			return st, err
		}
		defer n.close()
		if err := n.roster(ctx, plan.H); err != nil {
			return st, err
		}
		snd = n
	}
	// The ground truth is written once the server took the roster: what it
	// lists is about to happen.
	if cfg.Truth != nil {
		enc := json.NewEncoder(cfg.Truth)
		for _, t := range plan.Truth() {
			if err := enc.Encode(t); err != nil {
				return st, fmt.Errorf("write ground truth: %w", err)
			}
		}
	}
	began := time.Now()
	err := stream(ctx, &cfg, plan, snd, st)
	st.Elapsed = time.Since(began)
	return st, err
}

// lanes: the syslog and MLLP sources go first, the HTTP ones Lag later.
func early(k IntentKind) bool { return hl7Kind(k) || k == KindATNA || k == KindSSH || k == KindSudo }

// sender sends batches of intents of one lane.
type sender interface {
	sendEarly(ctx context.Context, batch []*Intent) (int64, error)
	sendLate(ctx context.Context, batch []*Intent) (int64, error)
}

func sourceName(k IntentKind) string {
	return [...]string{"hl7-mllp", "ehr", "fhir", "atna-syslog", "windows", "linux-syslog", "linux-syslog", "hl7-mllp"}[k]
}

// stream paces the plan's intents to the wall clock in two lanes.
func stream(ctx context.Context, cfg *Config, plan *Plan, snd sender, st *Stats) error {
	var earlyIn, lateIn []*Intent
	for i := range plan.Intents {
		in := &plan.Intents[i]
		st.Events[sourceName(in.Kind)]++
		if early(in.Kind) {
			earlyIn = append(earlyIn, in)
		} else {
			lateIn = append(lateIn, in)
		}
	}
	wall0 := time.Now()
	due := func(t time.Time, lag time.Duration) time.Time {
		if cfg.Rate == 0 || cfg.DryRun {
			return wall0
		}
		return wall0.Add(time.Duration(float64(t.Sub(cfg.Start))/cfg.Rate) + lag)
	}
	// Progress of each lane in simulated time, so that neither runs ahead
	// of the other when the server slows one down.
	window := time.Duration(float64(cfg.Lag)*max(cfg.Rate, 1)) + 5*time.Minute
	var earlyDone, lateDone atomic.Int64
	earlyDone.Store(cfg.Start.UnixNano())
	lateDone.Store(cfg.Start.UnixNano())
	var (
		mu       sync.Mutex
		firstErr error
		sent     int
		bytes    int64
		errs     int
	)
	// Each lane publishes how far it has got: every intent before its next
	// one is sent. A lane does not send past the other lane's progress (plus
	// ahead), so that neither runs ahead when the server slows one down.
	lane := func(list []*Intent, lag time.Duration, send func(context.Context, []*Intent) (int64, error), done, other *atomic.Int64, ahead time.Duration) {
		defer done.Store(cfg.Start.Add(cfg.Span + 24*time.Hour).UnixNano())
		i := 0
		for i < len(list) {
			done.Store(list[i].T.UnixNano() - 1)
			if ctx.Err() != nil {
				return
			}
			now := time.Now()
			limit := time.Unix(0, other.Load()).Add(ahead)
			j := i
			for j < len(list) && !due(list[j].T, lag).After(now) && !list[j].T.After(limit) && j-i < 5000 {
				j++
			}
			if j == i {
				wait := 20 * time.Millisecond
				if d := time.Until(due(list[i].T, lag)); d > 0 && d < wait {
					wait = d
				} else if d <= 0 {
					wait = time.Millisecond // held back by the other lane
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				continue
			}
			n, err := send(ctx, list[i:j])
			mu.Lock()
			bytes += n
			if err != nil {
				errs++
				if firstErr == nil {
					firstErr = err
				}
				cfg.Log.Warn("sending simulated events failed", "err", err, "events", j-i)
			} else {
				sent += j - i
			}
			mu.Unlock()
			i = j
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); lane(earlyIn, 0, snd.sendEarly, &earlyDone, &lateDone, window) }()
	go func() { defer wg.Done(); lane(lateIn, cfg.Lag, snd.sendLate, &lateDone, &earlyDone, 0) }()
	// Status lines.
	stop := make(chan struct{})
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		if cfg.Status == nil {
			return
		}
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mu.Lock()
				s, e := sent, errs
				mu.Unlock()
				at := time.Unix(0, min(earlyDone.Load(), lateDone.Load())).In(cfg.Location)
				pct := 100 * float64(at.Sub(cfg.Start)) / float64(cfg.Span)
				fmt.Fprintf(cfg.Status, "simulated time %s (%.0f%%): %d events sent, %d failed requests\n", at.Format("2006-01-02 15:04"), min(pct, 100), s, e)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-statusDone
	st.Sent, st.Bytes, st.Errors = sent, bytes, errs
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if firstErr != nil && sent == 0 {
		return firstErr
	}
	return nil
}

// discard renders and drops (dry runs, benchmarks).
type discard struct{ r *renderer }

func (d *discard) sendEarly(_ context.Context, batch []*Intent) (int64, error) {
	var n int64
	for _, in := range batch {
		n += int64(len(d.r.render(in)))
	}
	return n, nil
}

func (d *discard) sendLate(ctx context.Context, batch []*Intent) (int64, error) {
	return d.sendEarly(ctx, batch)
}

// render returns the bytes an intent becomes (for EHR rows, the CSV row).
func (r *renderer) render(in *Intent) []byte {
	switch in.Kind {
	case KindADT:
		return r.adt(in)
	case KindClinical:
		return r.clinical(in)
	case KindEHR:
		return []byte(r.ehrRow(in))
	case KindFHIR:
		return r.fhir(in)
	case KindATNA:
		return r.atnaSyslog(in)
	case KindSSH:
		return r.sshd(in)
	case KindSudo:
		return r.sudo(in)
	case KindWinLogon:
		return r.winlogon(in)
	}
	panic(fmt.Sprintf("BUG: intent kind %d", in.Kind))
}

package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/privacy"
	"github.com/vigil-siem/vigil/internal/web"
)

// startPrivacy prepares the healthcare enrichment (workforce, patient,
// care team, relationships, usual hours) and the privacy engine (the
// explanation templates it learns), and wraps the bus: every source
// publishes through the annotation, so that each access to a patient
// record is stored — and seen by the detector — with its healthcare
// context and whether and why it is explained. Both save their state
// when stopped, after the sources and the detector.
func (s *Server) startPrivacy(ctx context.Context) (lifecycle.StopFunc, error) {
	loc, err := time.LoadLocation(s.cfg.Detect.Timezone)
	if err != nil {
		return nil, fmt.Errorf("detect.timezone: %w", err)
	}
	grace := time.Duration(s.cfg.Detect.CareTeamGrace)
	// Every HL7 message passes the annotation after the MLLP listener
	// applied it to the directory, and drops the patient's cached record:
	// no need to read records again on a hunch (RefreshAfter).
	refresh := time.Duration(-1)
	if !s.cfg.Privacy.Enabled {
		refresh = 0
	}
	en, err := enrich.New(enrich.Config{Directory: s.directory, Location: loc, CareTeamGrace: grace, RefreshAfter: refresh,
		StatePath: filepath.Join(s.dataDir, "enrich-baseline.json"), Log: s.log.With("component", "enrich")})
	if err != nil {
		return nil, err
	}
	s.enricher = en
	stopEnrich := lifecycle.Go(func(ctx context.Context) error { en.Run(ctx); return nil })
	if !s.cfg.Privacy.Enabled {
		return stopEnrich, nil
	}
	pc, err := privacy.LoadConfig(s.cfg.Privacy.Config)
	if err != nil {
		stopEnrich(ctx)
		return nil, err
	}
	eng, err := privacy.NewEngine(ctx, privacy.EngineConfig{DB: s.db, Directory: s.directory, Config: pc, CareTeamGrace: grace,
		StatePath: filepath.Join(s.dataDir, "privacy-miner.json"), Log: s.log.With("component", "privacy")})
	if err != nil {
		stopEnrich(ctx)
		return nil, err
	}
	s.privacy, s.privacyConfig = eng, pc
	// What the annotation decided, for dashboards and for knowing when an
	// import has been explained (vigil bench privacy waits on it).
	for _, v := range []struct {
		explained string
		n         func(privacy.EngineStats) uint64
	}{{"true", func(st privacy.EngineStats) uint64 { return st.Explained }}, {"false", func(st privacy.EngineStats) uint64 { return st.Unexplained }}} {
		s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_privacy_accesses_total",
			Help: "Accesses to patient records the privacy engine judged, by whether they were explained.", ConstLabels: prometheus.Labels{"explained": v.explained}},
			func() float64 { return float64(v.n(eng.Stats())) }))
	}
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vigil_privacy_minings_total",
		Help: "Runs of the explanation miner."}, func() float64 { return float64(eng.Stats().Minings) }))
	s.pub = &privacy.Annotator{Enricher: en, Engine: eng, Next: s.pub}
	stopEngine := lifecycle.Go(func(ctx context.Context) error { eng.Run(ctx); return nil })
	return lifecycle.Chain(stopEngine, stopEnrich), nil
}

var _ ingest.Publisher = (*privacy.Annotator)(nil)

// privacyRules are the privacy rules as the detector runs them, with the
// privacy alerts of their windows read back from the alert store (repeat
// offenders are counted across restarts).
func (s *Server) privacyRules(ctx context.Context) (*privacy.Rules, error) {
	r := privacy.NewRules(s.privacyConfig, privacy.RulesOptions{Reexamine: s.enricher.Reexamine, Engine: s.privacy,
		Suppress: func(id, name string, tags []string, ev *event.Event) bool {
			return s.triage.exceptions.Suppress(id, name, tags, ev)
		}})
	f := alerts.Filter{Kind: "privacy", Since: time.Now().Add(-time.Duration(s.privacyConfig.Rules.Repeat.Window)), Limit: alerts.MaxLimit}
	var old []alerts.Alert
	for {
		page, next, err := s.alerts.Page(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("privacy: read earlier privacy alerts: %w", err)
		}
		old = append(old, page...)
		if next == "" {
			break
		}
		f.After = next
	}
	r.RestoreOffences(old)
	return r, nil
}

// privacyRoutes serve the templates, the privacy rules and the access
// reports: decisions and every report generated are audited under the
// caller's name, and report rows masked for callers without phi.
func (s *Server) privacyRoutes() []access.Route {
	loc, err := time.LoadLocation(s.cfg.Detect.Timezone)
	if err != nil {
		loc = time.UTC
	}
	h := &privacy.Handler{Engine: s.privacy, Config: s.privacyConfig, Reports: &privacy.Reporter{Store: s.store},
		Rules: func() *privacy.Rules { return s.privacyRulesInUse }, ParseTime: web.ParseTime, Location: loc,
		Actor: actorName, Audit: s.recordAudit, Names: s.directory.WorkforceNames,
		Mask: func(ctx context.Context, fields map[string]string) { s.mask.Map(access.PrincipalFrom(ctx), fields) }}
	var out []access.Route
	for _, r := range h.Routes() {
		out = append(out, access.Route{Pattern: r.Pattern, Perm: access.Permission(r.Perm), Handler: r.Handler})
	}
	return out
}

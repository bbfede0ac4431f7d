package server

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/privacy"
	"github.com/vigil-siem/vigil/rules"
)

// startDetection evaluates the Sigma rules on the live stream, with the
// healthcare context of each event.
func (s *Server) startDetection(ctx context.Context) (lifecycle.StopFunc, error) {
	if !s.cfg.Detect.Enabled {
		return nil, nil // the bus reader hands batches to the store writer alone
	}
	r, err := s.loadRules(ctx)
	if err != nil {
		return nil, err
	}
	// Healthcare context for the rules (workforce status, care team,
	// patient flags, relationships, usual hours): accesses to patient
	// records were enriched and explained on their way in; the rest is
	// enriched here. The privacy rules judge the accesses.
	enrichEvent := s.enricher.Enrich
	var analyzer detector.Analyzer
	if s.privacy != nil {
		ann := &privacy.Annotator{Enricher: s.enricher, Engine: s.privacy}
		enrichEvent = ann.Detect
		pr, err := s.privacyRules(ctx)
		if err != nil {
			return nil, err
		}
		analyzer = pr
		s.privacyRulesInUse = pr
	}
	sub := s.dispatch.Subscribe("detector", 0)
	d, err := detector.New(detector.Config{
		Source: sub, Alerts: s.alerts, StatePath: filepath.Join(s.dataDir, "detector.json"),
		BusFull:  s.bus.Full,
		Enrich:   enrichEvent,
		Analyzer: analyzer,
		Suppress: func(id, name string, tags []string, ev *event.Event) bool {
			return s.triage.exceptions.Suppress(id, name, tags, ev)
		},
		Correlation: correlation.Options{MaxGroups: s.cfg.Detect.CorrelationState, MaxBytes: int64(s.cfg.Detect.CorrelationMemory),
			AllowedLateness: time.Duration(s.cfg.Detect.CorrelationLateness)},
		Log: s.log.With("component", "detector"), Metrics: detector.NewMetrics(s.registry),
	}, r)
	if err != nil {
		return nil, err
	}
	d.RegisterGauges(s.registry)
	s.registry.MustRegister(lagGauge("detector", sub))
	s.detector = d
	// The detector ends by itself once the dispatcher, stopped before it,
	// closed its queue: it evaluates what was queued and checkpoints. The
	// enrichment (startPrivacy) is stopped after it.
	return s.goConsumer(d.Run), nil
}

// ruleDirs are the rule directories: the built-in rules, extracted from
// the binary into the data dir, then the configured ones.
func (s *Server) ruleDirs() ([]string, error) {
	var dirs []string
	if s.cfg.Detect.BuiltinRules {
		d, err := rules.Extract(filepath.Join(s.dataDir, "rules", "builtin"))
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return append(dirs, s.cfg.Detect.Rules...), nil
}

func (s *Server) loadRules(ctx context.Context) (*detector.Rules, error) {
	dirs, err := s.ruleDirs()
	if err != nil {
		return nil, err
	}
	states, err := s.ruleStates(ctx)
	if err != nil {
		return nil, err
	}
	r, err := detector.Load(ctx, detector.LoadOptions{Dirs: dirs, PlaceholdersFile: s.cfg.Detect.Placeholders, Disabled: states.Disabled})
	if err != nil {
		return nil, err
	}
	st := r.Engine.Stats()
	s.log.Info("rules loaded", "dirs", dirs, "rules", st.RulesLoaded, "correlations", len(r.Correlations),
		"rejected", len(r.Rejected), "unrouted", st.RulesUnrouted)
	for i, rej := range r.Rejected {
		if i == 20 {
			s.log.Warn("more rules rejected; see GET /api/v1/rules", "count", len(r.Rejected)-i)
			break
		}
		s.log.Warn("rule rejected", "file", rej.File, "line", rej.Line, "id", rej.ID, "reason", rej.Reason)
	}
	return r, nil
}

// ReloadRules reads and compiles the rules again and hands them to the
// running detector; the stream does not stop. It returns the new set.
//
// The reload is recorded in the audit trail, for the caller of ctx (an
// API request) or as Vigil's own (audit.System: a SIGHUP).
func (s *Server) ReloadRules(ctx context.Context) (*detector.Rules, error) {
	r, err := s.reloadRules(ctx)
	e := audit.Entry{Action: "rules.reload"}
	if err != nil {
		e.Outcome, e.Details = audit.Failure, map[string]any{"error": err.Error()}
	} else {
		e.Details = map[string]any{"rules": r.Engine.Stats().RulesLoaded, "rejected": len(r.Rejected)}
	}
	if s.audit != nil {
		if rerr := s.audit.Record(ctx, e); rerr != nil {
			s.log.Error("audit record failed", "action", e.Action, "err", rerr)
		}
	}
	return r, err
}

func (s *Server) reloadRules(ctx context.Context) (*detector.Rules, error) {
	if s.detector == nil {
		return nil, errors.New("detection is disabled (detect.enabled)")
	}
	r, err := s.loadRules(ctx)
	if err != nil {
		return nil, err
	}
	s.detector.Reload(r)
	return r, nil
}

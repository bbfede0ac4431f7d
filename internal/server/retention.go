package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/retention"
	"github.com/vigil-siem/vigil/internal/web"
)

// startRetention disposes of events whose retention ended, every
// retention.interval: per-dataset policies, and the days beyond
// store.retention (the store keeps its days until then: legal holds may
// keep some). Each disposal reseals the batches it touched in the
// integrity ledger. It quiesces the store writer, so it starts after it.
func (s *Server) startRetention(ctx context.Context) (lifecycle.StopFunc, error) {
	global := time.Duration(s.cfg.Store.Retention)
	var policies []retention.Policy
	for _, v := range s.cfg.Retention.Policies {
		p, err := retention.ParsePolicy(v)
		if err != nil {
			return nil, fmt.Errorf("retention.policies: %w", err)
		}
		if p.Keep > global {
			return nil, fmt.Errorf("retention.policies: %s keeps %s, longer than store.retention (%s): raise store.retention", p.Name, s.cfg.Retention.Policies, s.cfg.Store.Retention)
		}
		policies = append(policies, p)
	}
	s.retention = &retention.Manager{DB: s.db, Store: s.store, Ledger: s.ledger, Policies: policies, Retention: global,
		Quiesce: s.writer.Quiesce, Audit: s.auditRecord, Log: s.log.With("component", "retention")}
	if err := s.retention.Open(ctx); err != nil {
		return nil, err
	}
	return lifecycle.Go(func(ctx context.Context) error {
		s.retention.RunSchedule(ctx, time.Duration(s.cfg.Retention.Interval))
		return nil
	}), nil
}

// retentionRoutes: the retention state is configuration (config:read),
// running it now and placing or releasing legal holds change what is
// kept (config:write); the holds themselves are audit evidence
// (audit:read).
func (s *Server) retentionRoutes() []access.Route {
	actor := func(r *http.Request) string { return access.PrincipalFrom(r.Context()).String() }
	var out []access.Route
	for p, h := range s.retention.Routes(web.ParseTime, actor) {
		perm := access.ConfigRead
		switch {
		case strings.HasPrefix(p, "POST "):
			perm = access.ConfigWrite
		case strings.Contains(p, "legal-holds"):
			perm = access.AuditRead
		}
		out = append(out, access.Route{Pattern: p, Perm: perm, Handler: h})
	}
	return out
}

// auditRecord writes a disposal or a legal hold to the audit trail of
// Vigil's own use, as the caller of ctx or, for scheduled disposals, as
// Vigil itself.
func (s *Server) auditRecord(ctx context.Context, action, target, outcome string, details map[string]string) error {
	if access.PrincipalFrom(ctx) == nil {
		ctx = audit.System(ctx)
	}
	d := make(map[string]any, len(details))
	for k, v := range details {
		d[k] = v
	}
	return s.audit.Record(ctx, audit.Entry{Action: action, Target: target, Outcome: outcome, Details: d})
}

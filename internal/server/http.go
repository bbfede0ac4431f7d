package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/cases"
	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/exceptions"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
	"github.com/vigil-siem/vigil/internal/ingest/elastic"
	"github.com/vigil-siem/vigil/internal/ingest/fhirin"
	"github.com/vigil-siem/vigil/internal/ingest/hec"
	"github.com/vigil-siem/vigil/internal/ingest/httpin"
	"github.com/vigil-siem/vigil/internal/ingest/otlp"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/notify"
	"github.com/vigil-siem/vigil/internal/response"
	"github.com/vigil-siem/vigil/internal/risk"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/web"
)

// startHTTP serves the HTTP API. Stopping lets requests in flight finish
// (their events reach the bus) for up to 30 seconds. On an address other
// than loopback (or with http.tls=always) it serves HTTPS: with
// http.tls_cert, or a self-signed certificate generated into the data dir
// on first run.
func (s *Server) startHTTP(ctx context.Context) (lifecycle.StopFunc, error) {
	if s.cfg.HTTP.Addr == "" {
		return nil, nil
	}
	var cert *certs.Loaded
	var err error
	switch {
	case s.cfg.HTTP.TLSCert != "":
		cert, err = certs.Load(s.cfg.HTTP.TLSCert, s.cfg.HTTP.TLSKey)
	case s.cfg.HTTP.TLS == "always" || !loopback(s.cfg.HTTP.Addr):
		cert, err = s.selfSigned("http", append(httpHosts(s.cfg.HTTP.Addr), s.cfg.TLS.ExtraSANs...))
	}
	if err != nil {
		return nil, err
	}
	opt, err := s.formatOptions("")
	if err != nil {
		return nil, err
	}
	routes, err := s.routes(opt)
	if err != nil {
		return nil, err
	}
	cr, err := s.consoleRoutes(ctx)
	if err != nil {
		return nil, err
	}
	acc, err := s.accountsAPI(cert != nil)
	if err != nil {
		return nil, err
	}
	routes = slices.Concat(routes, cr, acc.Routes())
	log := s.log.With("component", "http")
	api := &web.Server{
		Store:    s.store,
		Gatherer: s.registry,
		Log:      log,
		Ready:    s.ready,
		Routes:   routes,
		Guard:    &web.Guard{Auth: s.accounts, Audit: s.audit, Log: log, TrustedProxies: config.ParseProxies(s.cfg.HTTP.TrustedProxies)},
		Audit:    s.audit,
		Mask:     s.mask,
	}
	s.routeTable = api.AllRoutes()
	front, err := s.consoleFront()
	if err != nil {
		return nil, err
	}
	api.Front = front
	raw, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP listener on %s: %w", s.cfg.HTTP.Addr, err)
	}
	s.httpLn = raw
	// Connections are limited (in total, per address) below the file
	// descriptor budget; those that never authenticate are let idle only
	// briefly.
	limited := conns.New(conns.Config{Name: "http", Max: s.limits.http, PerAddr: s.cfg.HTTP.MaxConnsPerAddr,
		Exempt: config.ParseProxies(s.cfg.HTTP.TrustedProxies), Log: s.log.With("component", "http"), Refused: s.metrics.RefusedFunc("http"),
		IdleUnauthenticated: time.Duration(s.cfg.HTTP.UnauthIdleTimeout)})
	ln := limited.Listener(raw, httpRefused)
	// Request bodies are read within one memory budget (ingest.Body
	// charges it): beyond it requests are answered 429/503.
	budget := ingest.NewBudget(s.cfg.IngestMemoryBudget(), func() { s.metrics.Refused.WithLabelValues("http", "memory_budget").Inc() })
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_ingest_memory_budget_used_bytes",
		Help: "Memory charged to the ingest budget by HTTP request bodies being read and decoded."}, func() float64 { return float64(budget.Used()) }))
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_ingest_memory_budget_bytes",
		Help: "The memory budget of HTTP request bodies (ingest.memory_budget, by default a quarter of memory.limit)."}, func() float64 { return float64(budget.Max()) }))
	if need := int64(s.cfg.Ingest.MaxBodyBytes) * ingest.DefaultBudgetFactor; need > budget.Max() {
		largest := config.ByteSize(budget.Max() / ingest.DefaultBudgetFactor).String()
		if s.cfg.Ingest.MemoryBudget > 0 {
			s.log.Warn("ingest.memory_budget is smaller than one request of ingest.max_body_bytes needs: the largest requests will be refused as too large",
				"memory_budget", s.cfg.Ingest.MemoryBudget.String(), "needed", config.ByteSize(need).String(), "largest_body", largest)
		} else {
			// The budget follows memory.limit: bodies beyond what it can
			// hold are refused (413) rather than let the process outgrow
			// its limit.
			s.log.Info("HTTP ingest bodies are limited by the memory budget (a quarter of memory.limit)",
				"memory_budget", config.ByteSize(budget.Max()).String(), "largest_body", largest)
		}
	}
	srv := &http.Server{
		Handler:           trackAuth(ingest.WithBudget(budget, api.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Duration(s.cfg.HTTP.IdleTimeout),
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if lc := connOf(c); lc != nil {
				return context.WithValue(ctx, connKey{}, lc)
			}
			return ctx
		},
		ConnState: func(c net.Conn, st http.ConnState) {
			if lc := connOf(c); lc != nil {
				lc.SetIdle(st == http.StateIdle)
			}
		},
	}
	s.http = srv
	scheme := "http"
	if cert != nil {
		scheme = "https"
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
		s.HTTPCertFile, s.HTTPCertFingerprint = cert.CertFile, cert.Fingerprint
		s.log.Info("HTTPS certificate", "file", cert.CertFile, "sha256_fingerprint", cert.Fingerprint, "generated", cert.Generated)
	}
	serve := lifecycle.Go(func(context.Context) error {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	})
	s.log.Info("HTTP API listening", "url", scheme+"://"+ln.Addr().String())
	return func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var errs []error
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("HTTP shutdown: %w", err))
		}
		if err := serve(ctx); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}, nil
}

// loopback reports whether a listen address binds only the loopback
// interface (plain HTTP is allowed there).
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// httpHosts are the names a self-signed certificate for addr covers,
// besides localhost and the host name.
func httpHosts(addr string) []string {
	host, _, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		return nil
	}
	return []string{host}
}

// RouteTable is every route the HTTP API serves, with its permission.
func (s *Server) RouteTable() []access.Route { return s.routeTable }

// withPerm declares one permission for every route of a feature package
// that gives its routes by pattern; perm picks it by pattern.
func withPerm(routes map[string]http.Handler, perm func(pattern string) access.Permission) []access.Route {
	out := make([]access.Route, 0, len(routes))
	for p, h := range routes {
		out = append(out, access.Route{Pattern: p, Perm: perm(p), Handler: h})
	}
	return out
}

// readWrite is the permission read for GET routes and write for others.
func readWrite(read, write access.Permission) func(string) access.Permission {
	return func(p string) access.Permission {
		if strings.HasPrefix(p, "GET ") {
			return read
		}
		return write
	}
}

// routes are the routes of the feature packages, each with the permission
// it needs; the web server adds its own (search, export, metrics, health)
// and the accounts API its sign-in and administration routes.
func (s *Server) routes(opt formats.Options) ([]access.Route, error) {
	// HTTP ingest reads JSON events and, with ?format=NAME, every record
	// format.
	parsers, err := formats.Records(opt)
	if err != nil {
		return nil, err
	}
	routes := []access.Route{{Pattern: "POST /api/v1/ingest", Perm: access.Ingest, Handler: &httpin.Handler{
		Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "http-ingest"),
		MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxEventBytes: int(s.cfg.Ingest.MaxEventBytes),
		Formats: parsers,
	}}}
	normalize := formats.JSONNormalizer(opt)
	maxBody, maxEvent := int64(s.cfg.Ingest.MaxBodyBytes), int(s.cfg.Ingest.MaxEventBytes)
	es := &elastic.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "elastic"),
		MaxBodyBytes: maxBody, MaxDocBytes: maxEvent, Normalize: normalize,
		Version: s.cfg.Elastic.Version, Prefix: s.cfg.Elastic.Prefix, Ready: s.ready}
	hc := &hec.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "hec"),
		MaxBodyBytes: maxBody, MaxEventBytes: maxEvent, Normalize: normalize,
		Indexes: s.cfg.HEC.Indexes, Healthy: s.ready}
	ot := &otlp.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "otlp"),
		MaxBodyBytes: maxBody, MaxEventBytes: maxEvent, Normalize: normalize}
	fh := &fhirin.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "fhir"), KeepOriginal: s.cfg.Ingest.KeepOriginalFHIR}
	dir := &directory.API{Store: s.directory, Log: s.log.With("component", "directory"), Audit: s.audit, Mask: s.mask}
	ru := &rulesAPI{s: s}
	sh := &sources.Handler{Tracker: s.sources}
	pf := &ingest.FailuresHandler{Failures: s.metrics.Failures, Started: time.Now()}
	au := &audit.Handler{Trail: s.audit, ParseTime: web.ParseTime}
	in := &integrity.Handler{Service: s.integrity, ParseTime: web.ParseTime}
	gh, err := s.gelfRoutes()
	if err != nil {
		return nil, err
	}
	backups := withPerm(s.backups.Routes(web.ParseTime), readWrite(access.SystemRead, access.ConfigWrite))
	return slices.Concat(routes, es.Routes(), hc.Routes(), ot.Routes(), fh.Routes(), dir.Routes(), s.triageRoutes(),
		ru.routes(), sh.Routes(), pf.Routes(), au.Routes(),
		withPerm(gh.Routes(), func(string) access.Permission { return access.Ingest }),
		// The integrity of stored events is audit evidence.
		s.auditedEvidence(slices.Concat(withPerm(in.Routes(), func(string) access.Permission { return access.AuditRead }),
			backups, s.retentionRoutes(), s.reportRoutes())), s.privacyRoutes()), nil
}

// actorName names the caller of a request.
func actorName(ctx context.Context) string {
	if p := access.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return "vigil"
}

// recordAudit records what a feature package did on the caller's behalf;
// err, when not nil, makes it a failure.
func (s *Server) recordAudit(ctx context.Context, action, target string, details map[string]any, err error) {
	e := audit.Entry{Action: action, Target: target, Details: details}
	if err != nil {
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Outcome, e.Details["error"] = audit.Failure, err.Error()
	}
	if rerr := s.audit.Record(ctx, e); rerr != nil {
		s.log.Error("audit record failed", "action", action, "err", rerr)
	}
}

// triageRoutes wires the alert triage APIs (alerts, exceptions,
// notifications, risk, response actions, cases) to the accounts: the
// history names the caller, changes are audited, assignees must be users,
// PHI is masked.
func (s *Server) triageRoutes() []access.Route {
	actor, record := actorName, s.recordAudit
	al := &alerts.Handler{Store: s.alerts, ParseTime: web.ParseTime, SLA: s.sla, Actor: actor, Audit: record,
		Mask: func(ctx context.Context, as []alerts.Alert) {
			p := access.PrincipalFrom(ctx)
			for i := range as {
				s.mask.Map(p, as[i].Fields)
				s.mask.Map(p, as[i].GroupBy)
			}
		},
		Users: s.accounts,
	}
	// Every handler names its caller (exception authors, case owners and
	// timelines, who asked for and who approved a response run: an
	// approver may not approve their own request) and records its changes.
	ex := &exceptions.Handler{Service: s.triage.exceptions, Alerts: s.alerts, Users: s.accounts, Actor: actor, Audit: record}
	nh := &notify.Handler{Dispatcher: s.triage.notify, Actor: actor, Audit: record}
	rh := &risk.Handler{Engine: s.triage.risk}
	rs := &response.Handler{Runner: s.triage.response, Alerts: s.alerts, Actor: actor, Audit: record}
	ch := &cases.Handler{Store: s.triage.cases, ParseTime: web.ParseTime, Actor: actor, Audit: record,
		SeesPHI: func(ctx context.Context) bool { return access.Sees(access.PrincipalFrom(ctx)) }}
	return slices.Concat(al.Routes(), ex.Routes(), nh.Routes(), rh.Routes(), rs.Routes(), ch.Routes())
}

package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/cases"
	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
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
// (their events reach the bus) for up to 30 seconds.
func (s *Server) startHTTP(ctx context.Context) (lifecycle.StopFunc, error) {
	if s.cfg.HTTP.Addr == "" {
		return nil, nil
	}
	opt, err := s.formatOptions("")
	if err != nil {
		return nil, err
	}
	routes, err := s.routes(opt)
	if err != nil {
		return nil, err
	}
	api := &web.Server{
		Token:    s.Token,
		Store:    s.store,
		Gatherer: s.registry,
		Log:      s.log.With("component", "http"),
		Ready:    s.ready,
		Handlers: routes,
	}
	api.Public = s.shipperRoutes(api.CheckToken, formats.JSONNormalizer(opt))
	front, err := s.consoleFront()
	if err != nil {
		return nil, err
	}
	api.Front = front
	cr, err := s.consoleRoutes(ctx)
	if err != nil {
		return nil, err
	}
	for p, h := range cr {
		api.Handlers[p] = h
	}
	raw, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP listener on %s: %w", s.cfg.HTTP.Addr, err)
	}
	s.httpLn = raw
	// Connections are limited (in total, per address) below the file
	// descriptor budget; those that never authenticate are let idle only
	// briefly.
	limited := conns.New(conns.Config{Name: "http", Max: s.limits.http, PerAddr: s.cfg.HTTP.MaxConnsPerAddr,
		Log: s.log.With("component", "http"), Refused: s.metrics.RefusedFunc("http"),
		IdleUnauthenticated: time.Duration(s.cfg.HTTP.UnauthIdleTimeout)})
	ln := limited.Listener(raw, httpRefused)
	srv := &http.Server{
		Handler:           trackAuth(api.Handler()),
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
	if s.cfg.HTTP.TLSCert != "" {
		scheme = "https"
		cert, err := certs.Load(s.cfg.HTTP.TLSCert, s.cfg.HTTP.TLSKey)
		if err != nil {
			ln.Close()
			return nil, err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
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

// routes are the API's handlers behind the bearer token, by pattern.
func (s *Server) routes(opt formats.Options) (map[string]http.Handler, error) {
	// HTTP ingest reads JSON events and, with ?format=NAME, every record
	// format.
	parsers, err := formats.Records(opt)
	if err != nil {
		return nil, err
	}
	routes := map[string]http.Handler{
		"POST /api/v1/ingest": &httpin.Handler{
			Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "http-ingest"),
			MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxEventBytes: int(s.cfg.Ingest.MaxEventBytes),
			Formats: parsers,
		},
	}
	fh := &fhirin.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "fhir"), KeepOriginal: s.cfg.Ingest.KeepOriginal}
	dir := &directory.API{Store: s.directory, Log: s.log.With("component", "directory")}
	al := &alerts.Handler{Store: s.alerts, ParseTime: web.ParseTime, SLA: s.sla}
	ex := &exceptions.Handler{Service: s.triage.exceptions, Alerts: s.alerts}
	nh := &notify.Handler{Dispatcher: s.triage.notify}
	rh := &risk.Handler{Engine: s.triage.risk}
	rs := &response.Handler{Runner: s.triage.response, Alerts: s.alerts}
	ch := &cases.Handler{Store: s.triage.cases, ParseTime: web.ParseTime}
	for _, r := range slices.Concat(al.Routes(), ex.Routes(), nh.Routes(), rh.Routes(), rs.Routes(), ch.Routes()) {
		routes[r.Pattern] = r.Handler
	}
	ru := &rulesAPI{s: s}
	sh := &sources.Handler{Tracker: s.sources}
	pf := &ingest.FailuresHandler{Failures: s.metrics.Failures, Started: time.Now()}
	in := &integrity.Handler{Service: s.integrity, ParseTime: web.ParseTime}
	gh, err := s.gelfRoutes()
	if err != nil {
		return nil, err
	}
	for _, rs := range []map[string]http.Handler{fh.Routes(), dir.Routes(), ru.routes(), sh.Routes(), pf.Routes(), in.Routes(), s.backups.Routes(web.ParseTime), gh.Routes(), s.retentionRoutes(), s.reportRoutes()} {
		for p, h := range rs {
			routes[p] = h
		}
	}
	return routes, nil
}

// shipperRoutes are the endpoints of the Elasticsearch, Splunk HEC and
// OTLP protocols, which authenticate as their clients expect (Basic,
// ApiKey, Splunk) with checkToken, and normalize their events as format
// ndjson does.
func (s *Server) shipperRoutes(checkToken func(string) bool, normalize func(*event.Event)) map[string]http.Handler {
	maxBody, maxEvent := int64(s.cfg.Ingest.MaxBodyBytes), int(s.cfg.Ingest.MaxEventBytes)
	es := &elastic.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "elastic"), CheckToken: checkToken,
		MaxBodyBytes: maxBody, MaxDocBytes: maxEvent, Normalize: normalize,
		Version: s.cfg.Elastic.Version, Prefix: s.cfg.Elastic.Prefix, Ready: s.ready}
	hc := &hec.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "hec"), CheckToken: checkToken,
		MaxBodyBytes: maxBody, MaxEventBytes: maxEvent, Normalize: normalize,
		Indexes: s.cfg.HEC.Indexes, Healthy: s.ready}
	ot := &otlp.Handler{Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "otlp"), CheckToken: checkToken,
		MaxBodyBytes: maxBody, MaxEventBytes: maxEvent, Normalize: normalize}
	routes := map[string]http.Handler{}
	for _, rs := range []map[string]http.Handler{es.Routes(), hc.Routes(), ot.Routes()} {
		for p, h := range rs {
			routes[p] = h
		}
	}
	return routes
}

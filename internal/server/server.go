// Package server assembles a running Vigil from its configuration: the log
// store, the bus, the store writer, the sources and the HTTP API, and takes
// them down again in the order that loses nothing. It is the one wiring
// point; cmd/vigil only reads flags and calls it.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/atnasyslog"
	"github.com/vigil-siem/vigil/internal/ingest/elastic"
	"github.com/vigil-siem/vigil/internal/ingest/fhirin"
	"github.com/vigil-siem/vigil/internal/ingest/hec"
	"github.com/vigil-siem/vigil/internal/ingest/httpin"
	"github.com/vigil-siem/vigil/internal/ingest/mllpin"
	"github.com/vigil-siem/vigil/internal/ingest/otlp"
	"github.com/vigil-siem/vigil/internal/ingest/syslogin"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/atna"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/storewriter"
	"github.com/vigil-siem/vigil/internal/web"
	"github.com/vigil-siem/vigil/rules"
)

// Server is a running Vigil.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Embedded
	bus      *bus.Bus
	db       *sql.DB
	registry *prometheus.Registry

	alerts    *alerts.Store
	sources   *sources.Tracker
	srcCancel context.CancelFunc
	srcDone   chan struct{}
	detector  *detector.Detector
	enrCancel context.CancelFunc
	enrDone   chan struct{}
	detCancel context.CancelFunc
	detDone   chan error
	detCons   *bus.Consumer
	directory *directory.Store
	mllp      *mllpin.Server
	atna      *atnasyslog.Recognizer
	// background are goroutines (EHR watcher, …) stopped before the bus.
	bgCancel context.CancelFunc
	bgDone   sync.WaitGroup

	writerConsumer *bus.Consumer
	writerCancel   context.CancelFunc
	writerDone     chan error
	batchers       []*ingest.Batcher
	batchersDone   sync.WaitGroup
	syslog         *syslogin.Server
	syslogParser   *syslog.Parser
	payloads       *normalize.Payloads
	http           *http.Server
	httpLn         net.Listener
	httpDone       chan error
	writerAlive    atomic.Bool

	// Token is the API token in use.
	Token string
	// TokenGenerated is true when this start created the token.
	TokenGenerated bool
}

// Start builds and starts every component. On error, whatever was started
// is stopped again.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			s.Stop(context.Background())
		}
	}()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if s.Token, s.TokenGenerated, err = ensureToken(cfg); err != nil {
		return nil, err
	}

	s.store, err = store.Open(filepath.Join(cfg.DataDir, "store"), store.Config{
		Retention:              time.Duration(cfg.Store.Retention),
		MaxDiskSpaceUsageBytes: int64(cfg.Store.MaxDiskBytes),
		MinFreeDiskSpaceBytes:  int64(cfg.Store.MinFreeDiskBytes),
		Log:                    log.With("component", "store"),
	})
	if err != nil {
		return nil, err
	}
	s.bus, err = bus.Open(ctx, bus.Config{
		Dir:        filepath.Join(cfg.DataDir, "bus"),
		URL:        cfg.Bus.URL,
		SyncAlways: cfg.Bus.SyncAlways,
		MaxBytes:   int64(cfg.Bus.MaxBytes),
	}, log)
	if err != nil {
		return nil, err
	}

	if s.db, err = db.Open(filepath.Join(cfg.DataDir, "vigil.db")); err != nil {
		return nil, err
	}
	if s.alerts, err = alerts.Open(ctx, s.db); err != nil {
		return nil, err
	}
	if s.directory, err = directory.New(ctx, s.db); err != nil {
		return nil, err
	}
	bgCtx, bgCancel := context.WithCancel(context.Background())
	s.bgCancel = bgCancel

	// The consumers exist before any source publishes: the stream keeps
	// batches only for consumers interested when they arrive.
	writerConsumer, err := s.bus.Consumer(ctx, "store-writer", 30*time.Second)
	if err != nil {
		return nil, err
	}
	s.writerConsumer = writerConsumer
	wm := storewriter.NewMetrics(s.registry)
	writer, err := storewriter.New(storewriter.Config{
		Source: writerConsumer, Store: s.store, StatePath: filepath.Join(cfg.DataDir, "store-writer.json"),
		Log: log.With("component", "store-writer"), Metrics: wm,
	})
	if err != nil {
		return nil, err
	}
	s.registry.MustRegister(lagGauge("store-writer", writerConsumer))
	writerCtx, cancel := context.WithCancel(context.Background())
	s.writerCancel, s.writerDone = cancel, make(chan error, 1)
	s.writerAlive.Store(true)
	go func() {
		err := writer.Run(writerCtx)
		s.writerAlive.Store(false)
		s.writerDone <- err
	}()

	if err := s.startSourceHealth(ctx); err != nil {
		return nil, err
	}
	if err := s.startDetection(ctx); err != nil {
		return nil, err
	}

	im := ingest.NewMetrics(s.registry)
	s.atna = &atnasyslog.Recognizer{Options: atna.Options{KeepOriginal: cfg.Ingest.KeepOriginal}}
	if err := s.startSyslog(im); err != nil {
		return nil, err
	}
	if err := s.startMLLP(im); err != nil {
		return nil, err
	}
	if err := s.startEHRWatch(bgCtx, im); err != nil {
		return nil, err
	}
	if err := s.startHTTP(im); err != nil {
		return nil, err
	}
	return s, nil
}

// ruleDirs are the rule directories: the built-in rules, extracted from
// the binary into the data dir, then the configured ones.
func (s *Server) ruleDirs() ([]string, error) {
	var dirs []string
	if s.cfg.Detect.BuiltinRules {
		d, err := rules.Extract(filepath.Join(s.cfg.DataDir, "rules", "builtin"))
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
	r, err := detector.Load(ctx, detector.LoadOptions{Dirs: dirs, PlaceholdersFile: s.cfg.Detect.Placeholders})
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

// startSourceHealth tracks every source (host and dataset) the detector
// sees and alerts when one goes silent.
func (s *Server) startSourceHealth(ctx context.Context) error {
	c := s.cfg.Sources
	cfg := sources.Config{Window: time.Duration(c.Window), Grace: time.Duration(c.Grace), Level: c.Level, RecoveryAlerts: c.RecoveryAlerts}
	for _, w := range c.Windows {
		sw, err := config.ParseSourceWindow(w)
		if err != nil {
			return err
		}
		cfg.Overrides = append(cfg.Overrides, sources.Override{Host: sw.Host, Dataset: sw.Dataset, Window: sw.Window, Disabled: sw.Off})
	}
	var err error
	s.sources, err = sources.New(ctx, cfg, sources.Options{DB: s.db, Alerts: s.alerts, Log: s.log.With("component", "sources"),
		// A detector catching up says nothing about the sources' silence.
		Behind: func() bool {
			if s.detCons == nil {
				return false
			}
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			lag, err := s.detCons.Lag(c)
			return err != nil || lag > 10
		}})
	if err != nil {
		return fmt.Errorf("source health: %w", err)
	}
	s.sources.RegisterMetrics(s.registry)
	sctx, cancel := context.WithCancel(context.Background())
	s.srcCancel, s.srcDone = cancel, make(chan struct{})
	go func() { s.sources.Run(sctx); close(s.srcDone) }()
	return nil
}

func (s *Server) startDetection(ctx context.Context) error {
	if !s.cfg.Detect.Enabled {
		// Without a detector the stream must not keep batches for one.
		return s.bus.DeleteConsumer(ctx, "detector")
	}
	r, err := s.loadRules(ctx)
	if err != nil {
		return err
	}
	// The detector acknowledges at its checkpoints (every 30s): the ack
	// wait must be longer, or batches would come again meanwhile.
	if s.detCons, err = s.bus.Consumer(ctx, "detector", 5*time.Minute); err != nil {
		return err
	}
	// Healthcare context for the rules: workforce status, care team,
	// patient flags, relationships, usual hours.
	loc, err := time.LoadLocation(s.cfg.Detect.Timezone)
	if err != nil {
		return fmt.Errorf("detect.timezone: %w", err)
	}
	en, err := enrich.New(enrich.Config{Directory: s.directory, Location: loc, CareTeamGrace: time.Duration(s.cfg.Detect.CareTeamGrace),
		StatePath: filepath.Join(s.cfg.DataDir, "enrich-baseline.json"), Log: s.log.With("component", "enrich")})
	if err != nil {
		return err
	}
	ectx, ecancel := context.WithCancel(context.Background())
	s.enrCancel, s.enrDone = ecancel, make(chan struct{})
	go func() { en.Run(ectx); close(s.enrDone) }() // saves the hours baseline every minute and at stop
	s.detector, err = detector.New(detector.Config{
		Source: s.detCons, Alerts: s.alerts, StatePath: filepath.Join(s.cfg.DataDir, "detector.json"),
		Observe:     s.sources.Observe,
		Enrich:      en.Enrich,
		Correlation: correlation.Options{MaxGroups: s.cfg.Detect.CorrelationState, AllowedLateness: time.Duration(s.cfg.Detect.CorrelationLateness)},
		Log:         s.log.With("component", "detector"), Metrics: detector.NewMetrics(s.registry),
	}, r)
	if err != nil {
		return err
	}
	s.detector.RegisterGauges(s.registry)
	s.registry.MustRegister(lagGauge("detector", s.detCons))
	dctx, cancel := context.WithCancel(context.Background())
	s.detCancel, s.detDone = cancel, make(chan error, 1)
	go func() { s.detDone <- s.detector.Run(dctx) }()
	return nil
}

// ReloadRules reads and compiles the rules again and hands them to the
// running detector; the stream does not stop. It returns the new set.
func (s *Server) ReloadRules(ctx context.Context) (*detector.Rules, error) {
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

// normalizeSyslog completes an event parsed from syslog: DICOM/ATNA audit
// XML, CEF or LEEF payloads, or Linux authentication facts.
func (s *Server) normalizeSyslog(e *event.Event) {
	if s.atna.Apply(e) {
		return
	}
	normalize.SyslogEvent(e, s.payloads)
}

func (s *Server) startMLLP(im *ingest.Metrics) error {
	c := s.cfg.MLLP
	if c.Addr == "" {
		return nil
	}
	var tlsCfg *tls.Config
	if c.TLSCert != "" {
		cert, err := certs.Load(c.TLSCert, c.TLSKey)
		if err != nil {
			return err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
	}
	loc, err := time.LoadLocation(s.cfg.Syslog.Timezone)
	if err != nil {
		return err
	}
	s.mllp, err = mllpin.Start(mllpin.Config{
		Addr: c.Addr, TLS: tlsCfg, Pub: s.bus, Directory: s.directory, Metrics: im,
		Log: s.log.With("component", "mllp"), KeepOriginal: s.cfg.Ingest.KeepOriginal, Location: loc,
	})
	if err != nil {
		return err
	}
	s.log.Info("HL7 MLLP listening", "addr", s.mllp.Addr().String(), "tls", tlsCfg != nil)
	return nil
}

func (s *Server) startEHRWatch(ctx context.Context, im *ingest.Metrics) error {
	c := s.cfg.EHR
	if c.WatchDir == "" {
		return nil
	}
	w := &ehr.Watcher{Dir: c.WatchDir, Preset: c.WatchPreset, MappingFile: c.WatchMapping,
		Pub: s.bus, Metrics: im, StatePath: filepath.Join(s.cfg.DataDir, "ehr-watch.json"),
		Log: s.log.With("component", "ehr-watch"), KeepOriginal: s.cfg.Ingest.KeepOriginal}
	if err := w.Init(); err != nil {
		return fmt.Errorf("ehr.watch_dir: %w", err)
	}
	s.bgDone.Add(1)
	go func() {
		defer s.bgDone.Done()
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("EHR watcher stopped", "err", err)
		}
	}()
	s.log.Info("watching EHR access-log exports", "dir", c.WatchDir)
	return nil
}

func lagGauge(name string, c *bus.Consumer) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "vigil_bus_lag_batches",
		Help:        "Batches on the bus not yet processed by a consumer.",
		ConstLabels: prometheus.Labels{"consumer": name},
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		lag, err := c.Lag(ctx)
		if err != nil {
			return -1
		}
		return float64(lag)
	})
}

// ensureToken returns the configured token, or the one kept in the data
// dir, generating it on first run.
func ensureToken(cfg *config.Config) (string, bool, error) {
	if cfg.Ingest.Token != "" {
		return cfg.Ingest.Token, false, nil
	}
	path := filepath.Join(cfg.DataDir, "ingest.token")
	if data, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read token: %w", err)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	t := "vgl_" + base64.RawURLEncoding.EncodeToString(b)
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write token: %w", err)
	}
	return t, true, nil
}

func (s *Server) startSyslog(im *ingest.Metrics) error {
	c := s.cfg.Syslog
	parser := func(tz string) (*syslog.Parser, error) {
		if tz == "" {
			tz = c.Timezone
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("syslog time zone %q: %w", tz, err)
		}
		return &syslog.Parser{Location: loc, MaxSize: int(c.MaxMessageBytes), KeepOriginal: s.cfg.Ingest.KeepOriginal}, nil
	}
	var err error
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return fmt.Errorf("syslog.timezone: %w", err)
	}
	s.payloads = normalize.NewPayloads(loc)
	// The default parser also serves ?format=syslog over HTTP.
	if s.syslogParser, err = parser(""); err != nil {
		return err
	}
	parsers := map[string]*syslog.Parser{}
	for src, tz := range map[string]string{syslogin.SourceUDP: c.UDPTimezone, syslogin.SourceTCP: c.TCPTimezone, syslogin.SourceTLS: c.TLSTimezone} {
		if parsers[src], err = parser(tz); err != nil {
			return err
		}
	}
	if c.UDPAddr == "" && c.TCPAddr == "" && c.TLSAddr == "" {
		return nil
	}
	sinks := map[string]syslogin.Sink{}
	for _, src := range []struct{ name, addr string }{{syslogin.SourceUDP, c.UDPAddr}, {syslogin.SourceTCP, c.TCPAddr}, {syslogin.SourceTLS, c.TLSAddr}} {
		if src.addr == "" {
			continue
		}
		b := ingest.NewBatcher(ingest.BatcherConfig{Source: src.name}, s.bus, im, s.log)
		s.batchers = append(s.batchers, b)
		sinks[src.name] = b
	}
	var tlsCfg *tls.Config
	if c.TLSAddr != "" {
		var cert *certs.Loaded
		if c.TLSCert != "" {
			cert, err = certs.Load(c.TLSCert, c.TLSKey)
		} else {
			cert, err = certs.EnsureSelfSigned(filepath.Join(s.cfg.DataDir, "tls"), "syslog", nil, time.Now())
		}
		if err != nil {
			return err
		}
		s.log.Info("syslog TLS certificate", "file", cert.CertFile, "sha256_fingerprint", cert.Fingerprint, "generated", cert.Generated)
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
		if c.TLSClientCA != "" {
			pool, err := certs.ClientCAs(c.TLSClientCA)
			if err != nil {
				return err
			}
			tlsCfg.ClientCAs = pool
			tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	s.syslog, err = syslogin.Start(syslogin.Config{
		UDPAddr: c.UDPAddr, TCPAddr: c.TCPAddr, TLSAddr: c.TLSAddr, TLS: tlsCfg,
		Parsers: parsers, Sinks: sinks,
		Normalize: s.normalizeSyslog, Metrics: im, Log: s.log.With("component", "syslog"),
	})
	if err != nil {
		return err
	}
	for _, b := range s.batchers {
		s.batchersDone.Add(1)
		go func() {
			defer s.batchersDone.Done()
			// Shutdown gives the bus 30 seconds to take what is queued.
			b.Run(context.Background())
		}()
	}
	udp, tcp, tlsA := s.syslog.Addrs()
	s.log.Info("syslog listening", "udp", addrString(udp), "tcp", addrString(tcp), "tls", addrString(tlsA),
		"client_cert_required", c.TLSClientCA != "")
	return nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return "disabled"
	}
	return a.String()
}

func (s *Server) startHTTP(im *ingest.Metrics) error {
	if s.cfg.HTTP.Addr == "" {
		return nil
	}
	api := &web.Server{
		Token:    s.Token,
		Store:    s.store,
		Gatherer: s.registry,
		Log:      s.log.With("component", "http"),
		Ready:    s.ready,
		Handlers: map[string]http.Handler{
			"POST /api/v1/ingest": &httpin.Handler{
				Pub: s.bus, Metrics: im, Log: s.log.With("component", "http-ingest"),
				MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxEventBytes: int(s.cfg.Ingest.MaxEventBytes),
				Normalize: func(e *event.Event) { normalize.JSONEvent(e, s.payloads) },
				LineFormats: map[string]httpin.LineParser{
					"syslog": func(line []byte, e *event.Event) {
						_ = s.syslogParser.Parse(line, e) // failures are kept in the event
						s.normalizeSyslog(e)
					},
					// CEF, LEEF or key=value records one per line, with or
					// without a syslog header: parsed as syslog, then the record.
					"cef":  s.recordLine,
					"leef": s.recordLine,
					"kv":   s.recordLine,
				},
			},
		},
	}
	norm := func(e *event.Event) { normalize.JSONEvent(e, s.payloads) }
	es := &elastic.Handler{Pub: s.bus, Metrics: im, Log: s.log.With("component", "elastic"), CheckToken: api.CheckToken,
		MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxDocBytes: int(s.cfg.Ingest.MaxEventBytes), Normalize: norm,
		Version: s.cfg.Elastic.Version, Prefix: s.cfg.Elastic.Prefix, Ready: s.ready}
	hc := &hec.Handler{Pub: s.bus, Metrics: im, Log: s.log.With("component", "hec"), CheckToken: api.CheckToken,
		MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxEventBytes: int(s.cfg.Ingest.MaxEventBytes), Normalize: norm,
		Indexes: s.cfg.HEC.Indexes, Healthy: s.ready}
	ot := &otlp.Handler{Pub: s.bus, Metrics: im, Log: s.log.With("component", "otlp"), CheckToken: api.CheckToken,
		MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes), MaxEventBytes: int(s.cfg.Ingest.MaxEventBytes), Normalize: norm}
	// These authenticate as their clients expect (Basic, ApiKey, Splunk).
	api.Public = map[string]http.Handler{}
	for _, routes := range []map[string]http.Handler{es.Routes(), hc.Routes(), ot.Routes()} {
		for p, h := range routes {
			api.Public[p] = h
		}
	}
	fh := &fhirin.Handler{Pub: s.bus, Metrics: im, Log: s.log.With("component", "fhir"), KeepOriginal: s.cfg.Ingest.KeepOriginal}
	dir := &directory.API{Store: s.directory, Log: s.log.With("component", "directory")}
	al := &alerts.Handler{Store: s.alerts, ParseTime: web.ParseTime}
	ru := &rulesAPI{s: s}
	sh := &sources.Handler{Tracker: s.sources}
	for _, routes := range []map[string]http.Handler{fh.Routes(), dir.Routes(), al.Routes(), ru.routes(), sh.Routes()} {
		for p, h := range routes {
			api.Handlers[p] = h
		}
	}
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("HTTP listener on %s: %w", s.cfg.HTTP.Addr, err)
	}
	s.httpLn = ln
	s.http = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.httpDone = make(chan error, 1)
	scheme := "http"
	if s.cfg.HTTP.TLSCert != "" {
		scheme = "https"
		cert, err := certs.Load(s.cfg.HTTP.TLSCert, s.cfg.HTTP.TLSKey)
		if err != nil {
			return err
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
		go func() { s.httpDone <- s.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { s.httpDone <- s.http.Serve(ln) }()
	}
	s.log.Info("HTTP API listening", "url", scheme+"://"+ln.Addr().String())
	return nil
}

func (s *Server) ready() error {
	if !s.writerAlive.Load() {
		return errors.New("store writer stopped")
	}
	return nil
}

// HTTPAddr is the bound HTTP address ("" when disabled).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// SyslogAddrs are the bound syslog addresses.
func (s *Server) SyslogAddrs() (udp, tcp, tlsAddr net.Addr) {
	if s.syslog == nil {
		return nil, nil, nil
	}
	return s.syslog.Addrs()
}

// Registry is the Prometheus registry of this server.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Stop shuts down without losing what was accepted: sources stop taking
// input and hand over what they read, the bus stores it, the store writer
// writes and acknowledges everything it consumed, then the bus and the
// store close.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	if s.syslog != nil {
		s.syslog.Stop()
	}
	if s.mllp != nil {
		s.mllp.Stop()
	}
	if s.http != nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := s.http.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("HTTP shutdown: %w", err))
		}
		cancel()
	}
	if s.bgCancel != nil {
		s.bgCancel()
		s.bgDone.Wait()
	}
	for _, b := range s.batchers {
		b.Close()
	}
	s.batchersDone.Wait()
	// Let the consumers catch up with what the sources just published.
	if s.writerCancel != nil {
		s.waitCaughtUp(ctx, s.writerConsumer, 30*time.Second)
		s.writerCancel()
		if err := <-s.writerDone; err != nil {
			errs = append(errs, err)
		}
	}
	if s.detCancel != nil {
		s.waitCaughtUp(ctx, s.detCons, 30*time.Second)
		s.detCancel()
		if err := <-s.detDone; err != nil {
			errs = append(errs, err)
		}
	}
	if s.enrCancel != nil {
		s.enrCancel() // saves the usual-hours baseline
		<-s.enrDone
	}
	if s.srcCancel != nil {
		s.srcCancel() // flushes the source table to the database
		<-s.srcDone
	}
	if s.bus != nil {
		s.bus.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	return errors.Join(errs...)
}

func (s *Server) waitCaughtUp(ctx context.Context, c *bus.Consumer, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		lctx, cancel := context.WithTimeout(ctx, time.Second)
		lag, err := c.Lag(lctx)
		cancel()
		if err != nil || lag == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recordLine parses a CEF, LEEF or key=value line (optionally behind a
// syslog header).
func (s *Server) recordLine(line []byte, e *event.Event) {
	_ = s.syslogParser.Parse(line, e) // a bare record is kept as the message
	e.Delete(event.FieldParseError)
	if !s.payloads.Apply(e) {
		e.Set(event.FieldParseError, "no CEF, LEEF or key=value record in the line")
	}
}

// Package server assembles a running Vigil from its configuration and
// takes it down again in the order that loses nothing. It is the one wiring
// point; cmd/vigil only reads flags and calls it.
//
// The components and their order are listed once, in Server.components:
// each is started in that order and stopped in reverse (package lifecycle),
// so the sources, started last, stop first and hand over what they read;
// the consumers drain the bus; the bus and the store close last. Each
// component lives in a file of its own:
//
//	storage.go   data dir and token, log store, bus, control-plane database
//	access.go    audit trail, accounts and tokens, first-start administrator
//	pipeline.go  source health and the store writer (bus → store)
//	integrity.go seals, signed checkpoints and verification of stored events
//	backup.go    online backups, on demand and scheduled
//	retention.go per-dataset retention, legal holds, recorded disposal
//	reports.go   compliance reports, kept with their sign-offs, scheduled and mailed
//	detect.go    healthcare enrichment, Sigma detection, rule reloads
//	syslog.go    syslog listeners (UDP, TCP, TLS) and their batchers
//	healthcare.go HL7 over MLLP, the EHR export watcher
//	http.go      the HTTP API and the ingest endpoints of every shipper
//	metrics.go   process, build and bus gauges
//
// A new component is a start function returning its stop function, added
// to the list in components; a new input format is added to package
// formats, which every source and command reads.
package server

import (
	"context"
	"crypto/x509"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/backup"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/compliance"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/detect/detector"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/gelfin"
	"github.com/vigil-siem/vigil/internal/ingest/mllpin"
	"github.com/vigil-siem/vigil/internal/ingest/syslogin"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/privacy"
	"github.com/vigil-siem/vigil/internal/retention"
	"github.com/vigil-siem/vigil/internal/rulestate"
	"github.com/vigil-siem/vigil/internal/sources"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/storewriter"
)

// Server is a running Vigil. Its fields are set by the components as they
// start, for the components started after them.
type Server struct {
	cfg *config.Config
	// dataDir is where the components keep their files: the configured
	// data dir, or the plaintext view of it when it is encrypted at rest
	// (encrypted; startDataDir). Components never use the configured one.
	dataDir      string
	encrypted    bool
	dataDirKeyID string // the key that wraps the encrypted data dir's master key
	log          *slog.Logger
	registry     *prometheus.Registry
	life         lifecycle.Group
	metrics      *ingest.Metrics

	store     *store.Embedded
	bus       *bus.Bus
	db        *sql.DB
	alerts    *alerts.Store
	sla       alerts.SLA
	triage    triage
	directory *directory.Store
	sources   *sources.Tracker
	detector  *detector.Detector // nil with detection off
	// The healthcare enrichment and the privacy engine (privacy.go): with
	// privacy on, pub goes through the annotation.
	enricher      *enrich.Enricher
	privacy       *privacy.Engine // nil with privacy.enabled off
	privacyConfig *privacy.Config
	// privacyRulesInUse are the detector's privacy rules (nil without
	// detection or privacy).
	privacyRulesInUse *privacy.Rules
	// ruleState is the store of rules turned off (ruleStates opens it).
	ruleState   *rulestate.Store
	ruleStateMu sync.Mutex

	// the one reader of the bus (pipeline.go)
	busCons   *bus.Consumer
	dispatch  *dispatch.Dispatcher
	writerSub *dispatch.Subscription

	syslog      *syslogin.Server
	mllp        *mllpin.Server
	gelf        *gelfin.Server
	httpLn      net.Listener
	http        *http.Server
	writer      *storewriter.Writer
	writerAlive atomic.Bool
	// dispatchStarted: the bus dispatcher ran, so stopping it closes the
	// consumers' queues (goConsumer).
	dispatchStarted atomic.Bool
	limits          limits
	// pub is the bus as the sources see it: every publish is recorded in
	// health, which readiness reads.
	pub    ingest.Publisher
	health *ingest.Health

	// tamper evidence (integrity.go)
	ledger       *integrity.Ledger
	integrityKey *integrity.Key
	tsaRoots     *x509.CertPool
	integrity    *integrity.Service
	checkpointer *integrity.Checkpointer
	// scanStore starts the child process verification reads a store
	// snapshot through (WithStoreScanner); nil: no verification.
	scanStore integrity.ScanCommand
	backups   *backup.Service
	retention *retention.Manager
	reports   *compliance.Service

	audit      *audit.Trail
	routeTable []access.Route
	accounts   *accounts.Store
	mask       *access.Masker

	// Token is the ingest token in use (ingest role: senders only).
	Token string
	// TokenGenerated is true when this start created the token, in the
	// file TokenPath.
	TokenGenerated bool
	TokenPath      string
	// AdminPassword is the one-time password of the user admin when this
	// start created it (first start), for the terminal only.
	AdminPassword string
	// CLITokenPath holds the admin token of the local command line;
	// CLITokenGenerated is true when this start wrote it.
	CLITokenPath      string
	CLITokenGenerated bool
	// HTTPCertFile and HTTPCertFingerprint describe the certificate of the
	// HTTP listener when it serves HTTPS.
	HTTPCertFile, HTTPCertFingerprint string
}

// components are the parts of a server in the order they start; they stop
// in reverse.
func (s *Server) components() []lifecycle.Component {
	return []lifecycle.Component{
		{Name: "descriptors", Start: s.startLimits},
		{Name: "data dir", Start: s.startDataDir},
		{Name: "store", Start: s.startStore},
		{Name: "bus", Start: s.startBus},
		{Name: "bus reader", Start: s.startBusReader},
		{Name: "database", Start: s.startDatabase},
		{Name: "triage", Start: s.startTriage},
		{Name: "accounts", Start: s.startAccess},
		{Name: "privacy", Start: s.startPrivacy},
		{Name: "source health", Start: s.startSourceHealth},
		{Name: "integrity", Start: s.startIntegrity},
		{Name: "store writer", Start: s.startWriter},
		{Name: "verification", Start: s.startVerification},
		{Name: "backups", Start: s.startBackups},
		{Name: "retention", Start: s.startRetention},
		{Name: "reports", Start: s.startReports},
		{Name: "detection", Start: s.startDetection},
		{Name: "dispatch", Start: s.startDispatch},
		{Name: "syslog", Start: s.startSyslog},
		{Name: "gelf", Start: s.startGELF},
		{Name: "kafka", Start: s.startKafka},
		{Name: "mllp", Start: s.startMLLP},
		{Name: "ehr watch", Start: s.startEHRWatch},
		{Name: "http", Start: s.startHTTP},
	}
}

// Option supplies a dependency that only the wiring point knows.
type Option func(*Server)

// WithStoreScanner is how verification reads a snapshot of the store: a
// child process serving scans (vigil's hidden "internal scan-store"
// command). Only cmd/vigil knows its own executable handles that command;
// a server started without it (in a test binary, say) does not verify.
func WithStoreScanner(scan integrity.ScanCommand) Option {
	return func(s *Server) { s.scanStore = scan }
}

// Start builds and starts every component. On error, whatever was started
// is stopped again.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Option) (*Server, error) {
	s := &Server{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	for _, o := range opts {
		o(s)
	}
	s.life.Log = log
	s.registerProcessMetrics()
	s.metrics = ingest.NewMetrics(s.registry)
	s.health = ingest.NewHealth()
	if err := s.life.Start(ctx, s.components()); err != nil {
		return nil, err
	}
	return s, nil
}

// Stop shuts down without losing what was accepted: sources stop taking
// input and hand over what they read, the bus stores it, the consumers
// write and acknowledge everything they took, then the bus and the store
// close.
func (s *Server) Stop(ctx context.Context) error { return s.life.Stop(ctx) }

// HTTPAddr is the bound HTTP address ("" when disabled).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// GELFAddrs are the bound GELF addresses (nil when disabled).
func (s *Server) GELFAddrs() (udp, tcp net.Addr) {
	if s.gelf == nil {
		return nil, nil
	}
	return s.gelf.Addrs()
}

// SyslogAddrs are the bound syslog addresses.
func (s *Server) SyslogAddrs() (udp, tcp, tlsAddr net.Addr) {
	if s.syslog == nil {
		return nil, nil, nil
	}
	return s.syslog.Addrs()
}

// DataDir is the directory the server keeps its files in: the configured
// data dir, or its plaintext view (<data-dir>/plain) while it is
// encrypted at rest.
func (s *Server) DataDir() string { return s.dataDir }

// Registry is the Prometheus registry of this server.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

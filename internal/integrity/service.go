package integrity

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/storewriter"
)

// Where the pieces live in a data dir.
const (
	LedgerFile = "integrity.db"
	KeyDir     = "keys"
	StoreDir   = "store"
	WriterFile = "store-writer.json"
	// viewsDir holds the short-lived views verify reads (on the data
	// dir's file system, for hard links).
	viewsDir = "integrity-views"
)

// ScanCommand starts a child process serving scans of the store at dir
// (vigil's hidden "internal scan-store" command).
type ScanCommand func(ctx context.Context, dir string) *exec.Cmd

// Service is a running server's integrity: verification on demand and on
// a schedule, against a consistent snapshot of the store.
type Service struct {
	Ledger  *Ledger
	Key     *Key
	Store   *store.Embedded
	DataDir string
	// Quiesce runs fn while the store writer adds nothing, everything it
	// stored being sealed (storewriter.Writer.Quiesce).
	Quiesce func(ctx context.Context, fn func(stored uint64) error) error
	Scan    ScanCommand
	// Retention is the store's retention (events older are gone).
	Retention       time.Duration
	VerifyTimestamp func(token []byte, digest Hash) error
	// Checkpoint signs a checkpoint of the current head (proofs need the
	// evidence covered by one).
	Checkpoint func(ctx context.Context) error
	// AuditVerify verifies the audit trail (see VerifyOptions).
	AuditVerify func(ctx context.Context, expectSeq int64, expectHash string) (bool, string, error)
	// Alert raises an alert for a failed scheduled verification.
	Alert func(ctx context.Context, r *Report) error
	Log   *slog.Logger

	once sync.Once
	busy chan struct{} // one verification at a time
	last lastRun
}

type lastRun struct {
	mu     sync.Mutex
	report *Report
}

// ErrBusy is returned by a scheduled verification while another runs.
var ErrBusy = errors.New("a verification is already running")

func (s *Service) sem() chan struct{} {
	s.once.Do(func() { s.busy = make(chan struct{}, 1) })
	return s.busy
}

// Verify checks the chain, the checkpoints, the store's parts and every
// stored event filed since since (zero: all) against their seals, on a
// snapshot taken while the writer is quiesced. It waits for a
// verification already running to finish first.
func (s *Service) Verify(ctx context.Context, since time.Time) (*Report, error) {
	select {
	case s.sem() <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem() }()
	return s.verify(ctx, since)
}

func (s *Service) verify(ctx context.Context, since time.Time) (*Report, error) {
	if s.Scan == nil {
		return nil, errors.New("verification is not available in this process: it was started without a store scanner (vigil serve has one)")
	}
	if err := os.MkdirAll(filepath.Join(s.DataDir, viewsDir), 0o750); err != nil {
		return nil, err
	}
	view, err := os.MkdirTemp(filepath.Join(s.DataDir, viewsDir), "verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(view)
	err = s.Quiesce(ctx, func(uint64) error { return s.Store.SnapshotView(view) })
	if err != nil {
		return nil, fmt.Errorf("snapshot for verification: %w", err)
	}
	r, err := verifyView(ctx, s.Ledger, VerifyOptions{PublicKey: s.Key.Public, Since: since, RetentionCut: s.retentionCut(),
		VerifyTimestamp: s.VerifyTimestamp, AuditVerify: s.AuditVerify}, view, s.Scan)
	if err != nil {
		return nil, err
	}
	s.last.mu.Lock()
	s.last.report = r
	s.last.mu.Unlock()
	return r, nil
}

func (s *Service) retentionCut() time.Time {
	if s.Retention <= 0 {
		return time.Time{}
	}
	// The library drops whole days: a day partly within retention stays.
	return time.Now().Add(-s.Retention).Truncate(24 * time.Hour)
}

// Last is the latest verification's report (nil before the first).
func (s *Service) Last() *Report {
	s.last.mu.Lock()
	defer s.last.mu.Unlock()
	return s.last.report
}

// RunSchedule verifies the events filed in the last window every interval
// until ctx ends, raising an alert when a verification fails.
func (s *Service) RunSchedule(ctx context.Context, interval, window time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var since time.Time
		if window > 0 {
			since = time.Now().Add(-window)
		}
		var (
			r   *Report
			err = ErrBusy
		)
		select {
		case s.sem() <- struct{}{}:
			r, err = s.verify(ctx, since)
			<-s.sem()
		default:
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrBusy):
			continue
		case err != nil:
			s.Log.Error("scheduled integrity verification could not run", "err", err)
			r = &Report{Checked: time.Now().UTC(), ProblemsTotal: 1, Problems: []Problem{{Kind: ProblemUnreadable, Detail: "verification could not run: " + err.Error()}}}
		}
		if r.OK() {
			s.Log.Info("integrity verified", "batches", r.Batches, "events", r.Events, "entries", r.Entries)
			continue
		}
		s.Log.Error("integrity verification failed", "problems", r.ProblemsTotal, "first", r.Problems[0].Kind)
		if s.Alert != nil {
			if err := s.Alert(ctx, r); err != nil {
				s.Log.Error("raise integrity alert", "err", err)
			}
		}
	}
}

// VerifyOffline verifies the data dir of a stopped server: the ledger and
// checkpoints with pub (nil: the key in the data dir), and every stored
// event filed since since, read from a hard-linked view so the data dir is
// not changed. retention is the store's (0: none).
func VerifyOffline(ctx context.Context, dataDir string, pub ed25519.PublicKey, since time.Time, scan ScanCommand, retention time.Duration,
	verifyTS func([]byte, Hash) error, auditVerify func(context.Context, int64, string) (bool, string, error)) (*Report, error) {
	if err := store.CheckUnlocked(filepath.Join(dataDir, StoreDir)); err != nil {
		return nil, fmt.Errorf("%w (verify a running server without --data-dir; it verifies a snapshot of itself)", err)
	}
	ledgerPath := filepath.Join(dataDir, LedgerFile)
	if _, err := os.Stat(ledgerPath); err != nil {
		return nil, fmt.Errorf("no integrity ledger in %s: %w", dataDir, err)
	}
	if pub == nil {
		data, err := os.ReadFile(filepath.Join(dataDir, KeyDir, PublicKeyFile))
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		if pub, err = ParsePublicKey(data); err != nil {
			return nil, fmt.Errorf("public key %s: %w", filepath.Join(dataDir, KeyDir, PublicKeyFile), err)
		}
	}
	l, err := OpenLedger(ctx, ledgerPath, LedgerOptions{})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	st, err := storewriter.LoadState(filepath.Join(dataDir, WriterFile))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dataDir, viewsDir), 0o750); err != nil {
		return nil, err
	}
	view, err := os.MkdirTemp(filepath.Join(dataDir, viewsDir), "verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(view)
	if err := store.LinkView(filepath.Join(dataDir, StoreDir), view); err != nil {
		return nil, fmt.Errorf("view of the store: %w", err)
	}
	var cut time.Time
	if retention > 0 {
		cut = time.Now().Add(-retention).Truncate(24 * time.Hour)
	}
	return verifyView(ctx, l, VerifyOptions{PublicKey: pub, Since: since, UnsealedLimit: st.Reserved, RetentionCut: cut, VerifyTimestamp: verifyTS,
		AuditVerify: auditVerify}, view, scan)
}

// verifyView verifies the store view at dir, read through child
// processes, with opts.
func verifyView(ctx context.Context, l *Ledger, opts VerifyOptions, view string, scan ScanCommand) (*Report, error) {
	scanner := func(dir string) (Scanner, func()) {
		c := &ChildScanner{Command: func(ctx context.Context) *exec.Cmd { return scan(ctx, dir) }}
		return c, func() { c.Close() }
	}
	sc, done := scanner(view)
	defer done()
	opts.Store, opts.StoreDir, opts.ScannerFor = sc, view, scanner
	return Verify(ctx, l, opts)
}

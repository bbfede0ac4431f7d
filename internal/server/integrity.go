package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/tsa"
)

// startIntegrity opens the integrity ledger the store writer seals every
// batch into, and the key that signs its checkpoints; it signs one every
// integrity.checkpoint_interval and a last one when it stops. It starts
// before the writer and stops after it, so the last checkpoint covers
// everything stored.
func (s *Server) startIntegrity(ctx context.Context) (lifecycle.StopFunc, error) {
	key, created, err := integrity.LoadOrCreateKey(filepath.Join(s.dataDir, integrity.KeyDir))
	if err != nil {
		return nil, err
	}
	if created {
		s.log.Info("integrity signing key generated: give the public key to your auditors",
			"key_id", key.ID, "public_key", filepath.Join(s.dataDir, integrity.KeyDir, integrity.PublicKeyFile))
	}
	l, err := integrity.OpenLedger(ctx, filepath.Join(s.dataDir, integrity.LedgerFile), integrity.LedgerOptions{
		RowTime: s.store.RowTime, Log: s.log.With("component", "integrity")})
	if err != nil {
		return nil, err
	}
	s.ledger, s.integrityKey = l, key
	cp := &integrity.Checkpointer{Ledger: l, Key: key, StoreDir: filepath.Join(s.dataDir, integrity.StoreDir),
		Log: s.log.With("component", "integrity")}
	if c := s.cfg.Integrity; c.TSAURL != "" {
		client := &tsa.Client{URL: c.TSAURL}
		if c.TSARoots != "" {
			if client.Roots, err = loadRoots(c.TSARoots); err != nil {
				l.Close()
				return nil, err
			}
		}
		cp.TSA = client
		s.tsaRoots = client.Roots
	}
	if s.audit != nil {
		// The audit trail of Vigil's own use is covered by the same
		// checkpoints: each signs its head.
		cp.AuditHead = func(context.Context) (*integrity.AuditHead, error) {
			seq, hash := s.audit.Head()
			return &integrity.AuditHead{Records: seq, Hash: hash}, nil
		}
	}
	s.checkpointer = cp
	run := lifecycle.Go(func(ctx context.Context) error {
		cp.Run(ctx, time.Duration(s.cfg.Integrity.CheckpointInterval))
		return nil
	})
	return lifecycle.Chain(run, func(context.Context) error { return l.Close() }), nil
}

func loadRoots(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("integrity.tsa_roots: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("integrity.tsa_roots: no PEM certificate in %s", path)
	}
	return pool, nil
}

// startVerification verifies stored events against their seals on
// demand (the API) and every integrity.verify_interval, raising a
// critical alert when they fail. It needs the store writer (to take a
// consistent snapshot) and starts after it.
func (s *Server) startVerification(context.Context) (lifecycle.StopFunc, error) {
	roots := s.tsaRoots
	s.integrity = &integrity.Service{
		Ledger: s.ledger, Key: s.integrityKey, Store: s.store, DataDir: s.dataDir,
		Quiesce:   s.writer.Quiesce,
		Scan:      s.scanStore,
		Retention: time.Duration(s.cfg.Store.Retention),
		VerifyTimestamp: func(token []byte, digest integrity.Hash) error {
			_, err := tsa.Verify(token, digest, roots)
			return err
		},
		Alert:       s.integrityAlert,
		Log:         s.log.With("component", "integrity"),
		AuditVerify: s.auditVerify,
		Checkpoint: func(ctx context.Context) error {
			_, err := s.checkpointer.Checkpoint(ctx)
			return err
		},
	}
	every := time.Duration(s.cfg.Integrity.VerifyInterval)
	if s.scanStore == nil {
		// Re-running an unknown executable (a test binary) would start
		// it again, and it this server again: no verification instead.
		s.log.Warn("integrity verification is off: this process was started without a store scanner")
		return nil, nil
	}
	if every <= 0 {
		return nil, nil
	}
	return lifecycle.Go(func(ctx context.Context) error {
		s.integrity.RunSchedule(ctx, every, time.Duration(s.cfg.Integrity.VerifyWindow))
		return nil
	}), nil
}

// integrityAlert raises the alert of a failed verification. It names the
// batches and events concerned, never their contents.
func (s *Server) integrityAlert(ctx context.Context, r *integrity.Report) error {
	first := r.Problems[0].String()
	if len(first) > 500 {
		first = first[:500] + "…"
	}
	_, err := s.alerts.Add(ctx, []alerts.Alert{{
		Key:       "integrity/" + r.Checked.Format(time.RFC3339Nano),
		Kind:      "integrity",
		RuleID:    "vigil-integrity",
		RuleTitle: "Stored events or their seals fail integrity verification",
		Level:     "critical",
		Tags:      []string{"attack.defense_evasion", "attack.t1565.001", "vigil.integrity"},
		Time:      r.Checked,
		Fields: map[string]string{
			"integrity.problems":      strconv.Itoa(r.ProblemsTotal),
			"integrity.first_problem": first,
			"integrity.first_kind":    r.Problems[0].Kind,
		},
	}})
	return err
}

// auditVerify walks the audit trail's chain and checks that the head the
// last checkpoint signed is in it.
func (s *Server) auditVerify(ctx context.Context, seq int64, hash string) (bool, string, error) {
	if s.audit == nil {
		return true, "", nil
	}
	v, err := s.audit.Verify(ctx, seq, hash)
	if err != nil {
		return false, "", err
	}
	if !v.OK {
		return false, fmt.Sprintf("record %d: %s", v.BrokenAt, v.Problem), nil
	}
	return true, "", nil
}

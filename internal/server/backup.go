package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/backup"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/keyring"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startBackups backs up the data dir on demand (the API, vigil backup) and
// every backup.interval to backup.to. A backup snapshots the store while
// the store writer is quiesced, so it needs the writer and starts after
// it.
func (s *Server) startBackups(ctx context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.Backup
	s.backups = &backup.Service{
		DB: s.db, Default: c.To, Log: s.log.With("component", "backup"),
		Source: backup.Source{
			DataDir:   s.dataDir,
			Databases: map[string]*sql.DB{"vigil.db": s.db, integrity.LedgerFile: s.ledger.DB()},
			Snapshot: func(ctx context.Context, dir string) (stored uint64, head integrity.Head, err error) {
				err = s.writer.Quiesce(ctx, func(st uint64) error {
					stored, head = st, s.ledger.Head()
					return s.store.SnapshotView(dir)
				})
				return stored, head, err
			},
		},
		// A restore drill (on demand through the API, or every
		// backup.drill_interval) runs vigil restore --drill; a failed one
		// raises an alert.
		Drill: s.restoreDrill,
	}
	s.backups.OnDrillFail = s.drillAlert
	if s.cfg.Encryption.Require && c.KeyFile == "" && c.KeyCommand == "" {
		// A backup is a plaintext copy of the (decrypted) data dir unless
		// it is encrypted itself; on demand backups are always possible.
		return nil, errors.New("encryption.require is set but backups would not be encrypted: set backup.key_file or backup.key_command")
	}
	if c.KeyFile != "" || c.KeyCommand != "" {
		s.backups.Keys = func(ctx context.Context) (*keyring.Keyring, error) { return keyring.Load(ctx, c.KeyFile, c.KeyCommand) }
		// Refuse to start with keys that cannot be read, rather than fail
		// at the first backup.
		if _, err := s.backups.Keys(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.backups.Open(ctx); err != nil {
		return nil, err
	}
	if c.DrillInterval > 0 && c.To == "" {
		return nil, errors.New("backup.drill_interval needs backup.to: the drill tests the latest backup there")
	}
	var stops []lifecycle.StopFunc
	if c.To != "" && c.Interval > 0 {
		stops = append(stops, lifecycle.Go(func(ctx context.Context) error {
			s.backups.RunSchedule(ctx, time.Duration(c.Interval))
			return nil
		}))
	}
	if c.DrillInterval > 0 {
		stops = append(stops, lifecycle.Go(func(ctx context.Context) error {
			s.backups.RunDrills(ctx, time.Duration(c.DrillInterval))
			return nil
		}))
	}
	if len(stops) == 0 {
		return nil, nil
	}
	return func(ctx context.Context) error {
		var errs []error
		for _, stop := range stops {
			errs = append(errs, stop(ctx))
		}
		return errors.Join(errs...)
	}, nil
}

// restoreDrill runs vigil restore --drill on target as a child process
// (this executable; the drill starts a server of its own on the restored
// copy) with the backup keys, and reads its result.
func (s *Server) restoreDrill(ctx context.Context, target string) (*backup.Drill, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"restore", "--drill", "--json", "--from", target}
	if s.encrypted {
		// Encrypted at rest: the restored copy goes inside the encrypted
		// view, never in plaintext under /tmp.
		scratch := filepath.Join(s.dataDir, "drills")
		if err := os.MkdirAll(scratch, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "--scratch-dir", scratch)
	}
	if c := s.cfg.Backup; c.KeyCommand != "" {
		args = append(args, "--key-command", c.KeyCommand)
	} else if c.KeyFile != "" {
		args = append(args, "--key-file", c.KeyFile)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	// On stop, SIGTERM: the drill stops the server it started and removes
	// its scratch data dir.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var d backup.Drill
	if i := bytes.IndexByte(out, '{'); i >= 0 && json.Unmarshal(out[i:], &d) == nil {
		if runErr != nil && d.Error == "" {
			d.Error = runErr.Error()
		}
		return &d, nil
	}
	msg := strings.TrimSpace(stderr.String())
	if len(msg) > 500 {
		msg = msg[len(msg)-500:]
	}
	return nil, fmt.Errorf("vigil restore --drill: %v: %s", runErr, msg)
}

// drillAlert raises the alert of a failed restore drill: the backups may
// not restore, and the contingency plan's recovery time does not hold.
func (s *Server) drillAlert(ctx context.Context, d *backup.Drill) error {
	reason := d.Error
	if len(reason) > 500 {
		reason = reason[:500] + "…"
	}
	_, err := s.alerts.Add(ctx, []alerts.Alert{{
		Key:       "restore-drill/" + d.Started.Format(time.RFC3339Nano),
		Kind:      "backup",
		RuleID:    "vigil-restore-drill",
		RuleTitle: "A restore drill of the latest backup failed",
		Level:     "high",
		Tags:      []string{"vigil.backup"},
		Time:      d.Started,
		Fields:    map[string]string{"backup.target": d.Target, "backup.id": d.Backup, "error.message": reason},
	}})
	return err
}

package server

import (
	"context"
	"database/sql"
	"time"

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
			DataDir:   s.cfg.DataDir,
			Databases: map[string]*sql.DB{"vigil.db": s.db, integrity.LedgerFile: s.ledger.DB()},
			Snapshot: func(ctx context.Context, dir string) (stored uint64, head integrity.Head, err error) {
				err = s.writer.Quiesce(ctx, func(st uint64) error {
					stored, head = st, s.ledger.Head()
					return s.store.SnapshotView(dir)
				})
				return stored, head, err
			},
		},
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
	if c.To == "" || c.Interval <= 0 {
		return nil, nil
	}
	return lifecycle.Go(func(ctx context.Context) error {
		s.backups.RunSchedule(ctx, time.Duration(c.Interval))
		return nil
	}), nil
}

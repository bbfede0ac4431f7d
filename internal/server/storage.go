package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/cryptdir"
	"github.com/vigil-siem/vigil/internal/datadir"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/storewriter"
)

// startDataDir creates the data dir (0700; what others could read of an
// existing one is made private, with a warning), mounts its plaintext view
// when it is encrypted at rest, and finds (or generates) the API token.
func (s *Server) startDataDir(ctx context.Context) (lifecycle.StopFunc, error) {
	fixed, err := datadir.Secure(s.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if len(fixed) > 0 {
		s.log.Warn("data dir: files and directories other local users could read were made private (0600 files, 0700 directories)",
			"dir", s.cfg.DataDir, "changed", len(fixed), "first", fixed[:min(len(fixed), 5)])
	}
	s.dataDir = s.cfg.DataDir
	stop, err := s.openEncrypted(ctx)
	if err != nil {
		return nil, err
	}
	s.TokenPath = filepath.Join(s.dataDir, "ingest.token")
	s.Token, s.TokenGenerated, err = ensureToken(s.cfg, s.TokenPath)
	if err != nil && stop != nil {
		stop(ctx)
	}
	return stop, err
}

// openEncrypted mounts the plaintext view of a data dir encrypted at rest
// (package cryptdir) and makes it the server's data dir. It refuses to
// start unencrypted when encryption.require is set, and on an encrypted
// data dir without its keys (rather than start a new, empty, unencrypted
// instance beside it).
func (s *Server) openEncrypted(ctx context.Context) (lifecycle.StopFunc, error) {
	enc := cryptdir.Config{KeyFile: s.cfg.Encryption.KeyFile, KeyCommand: s.cfg.Encryption.KeyCommand}
	switch {
	case enc.Enabled():
	case s.cfg.Encryption.Require:
		return nil, errors.New("encryption.require is set but the data dir is not encrypted: set encryption.key_file or encryption.key_command (docs/compliance.md)")
	case cryptdir.IsEncrypted(s.cfg.DataDir):
		return nil, fmt.Errorf("data dir %s is encrypted at rest: set encryption.key_file or encryption.key_command", s.cfg.DataDir)
	default:
		return nil, nil
	}
	m, err := cryptdir.Open(ctx, s.cfg.DataDir, enc)
	if err != nil {
		return nil, err
	}
	s.dataDir, s.encrypted, s.dataDirKeyID = m.Dir, true, m.State.KeyID
	s.log.Info("data dir encrypted at rest", "ciphertext", filepath.Join(s.cfg.DataDir, cryptdir.CipherDir),
		"view", m.Dir, "key_id", m.State.KeyID, "created", m.Created)
	return func(context.Context) error { return m.Close() }, nil
}

// startStore opens the log store.
func (s *Server) startStore(context.Context) (lifecycle.StopFunc, error) {
	st, err := store.Open(filepath.Join(s.dataDir, "store"), store.Config{
		Retention:              time.Duration(s.cfg.Store.Retention),
		KeepPartitions:         true, // package retention drops the days (legal holds may keep some)
		MaxDiskSpaceUsageBytes: int64(s.cfg.Store.MaxDiskBytes),
		MinFreeDiskSpaceBytes:  int64(s.cfg.Store.MinFreeDiskBytes),
		// Half the process's memory for the store's caches, in-memory
		// parts and query state.
		MemoryBytes: int64(s.cfg.Memory.Limit) / 2,
		Log:         s.log.With("component", "store"),
	})
	if err != nil {
		return nil, err
	}
	s.store = st
	return lifecycle.Closer(st.Close), nil
}

// startBus opens the embedded bus (or connects to an external one).
func (s *Server) startBus(ctx context.Context) (lifecycle.StopFunc, error) {
	first, err := resumeSeq(s.dataDir)
	if err != nil {
		return nil, err
	}
	b, err := bus.Open(ctx, bus.Config{
		Dir:        filepath.Join(s.dataDir, "bus"),
		URL:        s.cfg.Bus.URL,
		SyncAlways: s.cfg.Bus.SyncAlways,
		MaxBytes:   int64(s.cfg.Bus.MaxBytes),
		FirstSeq:   first,
	}, s.log)
	if err != nil {
		return nil, err
	}
	s.bus = b
	s.pub = ingest.Track(b, s.health)
	return lifecycle.Closer(b.Close), nil
}

// resumeSeq is the bus sequence after every batch the consumers' state
// files record as processed. A new event stream starts there (an instance
// restored from a backup, whose bus was not in it), so new batches never
// take the sequences, and event ids, of stored ones.
func resumeSeq(dataDir string) (uint64, error) {
	st, err := storewriter.LoadState(filepath.Join(dataDir, "store-writer.json"))
	if err != nil {
		return 0, err
	}
	last := max(st.Stored, st.Reserved)
	data, err := os.ReadFile(filepath.Join(dataDir, "detector.json"))
	if err == nil {
		var det struct {
			Done  uint64   `json:"done"`
			Above []uint64 `json:"above"`
		}
		if err := json.Unmarshal(data, &det); err != nil {
			return 0, fmt.Errorf("detector.json: %w", err)
		}
		last = max(last, det.Done)
		for _, a := range det.Above {
			last = max(last, a)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	return last + 1, nil
}

// startDatabase opens the control-plane database and the stores kept in
// it (alerts, directories).
func (s *Server) startDatabase(ctx context.Context) (lifecycle.StopFunc, error) {
	d, err := db.Open(filepath.Join(s.dataDir, "vigil.db"))
	if err != nil {
		return nil, err
	}
	s.db = d
	stop := func(context.Context) error { return d.Close() }
	gw := time.Duration(s.cfg.Alerts.GroupWindow)
	if gw == 0 {
		gw = -1 // never group
	}
	if s.alerts, err = alerts.OpenWith(ctx, d, alerts.Options{GroupWindow: gw}); err != nil {
		d.Close()
		return nil, err
	}
	if s.sla.Acknowledge, err = alerts.ParseSLATargets(s.cfg.Alerts.SLAAcknowledge); err != nil {
		d.Close()
		return nil, fmt.Errorf("alerts.sla_acknowledge: %w", err)
	}
	if s.sla.Close, err = alerts.ParseSLATargets(s.cfg.Alerts.SLAClose); err != nil {
		d.Close()
		return nil, fmt.Errorf("alerts.sla_close: %w", err)
	}
	if s.directory, err = directory.New(ctx, d); err != nil {
		d.Close()
		return nil, err
	}
	return stop, nil
}

// ensureToken returns the configured ingest token, or the one kept in the
// data dir (ingest.token), generating it on first run. It becomes the
// ingest-role token "ingest" (startAccess).
func ensureToken(cfg *config.Config, path string) (string, bool, error) {
	if cfg.Ingest.Token != "" {
		return cfg.Ingest.Token, false, nil
	}
	if data, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read token: %w", err)
	}
	t := accounts.NewTokenSecret()
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write token: %w", err)
	}
	return t, true, nil
}

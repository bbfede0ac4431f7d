package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-siem/vigil/internal/web"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/keyring"
)

var migrations = []string{`
CREATE TABLE backups (
	id        TEXT NOT NULL,
	target    TEXT NOT NULL,
	started   INTEGER NOT NULL,
	finished  INTEGER NOT NULL,
	snapshot  INTEGER NOT NULL,
	stored    INTEGER NOT NULL,
	files     INTEGER NOT NULL,
	bytes     INTEGER NOT NULL,
	new_bytes INTEGER NOT NULL,
	encrypted TEXT NOT NULL,
	error     TEXT NOT NULL
);
CREATE INDEX backups_started ON backups (started);`, `
CREATE TABLE backup_drills (
	started INTEGER NOT NULL,
	ok      INTEGER NOT NULL,
	result  TEXT NOT NULL
);
CREATE INDEX backup_drills_started ON backup_drills (started);`}

// Record is one backup attempt as the server remembers it.
type Record struct {
	ID        string    `json:"id,omitempty"`
	Target    string    `json:"target"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Snapshot  time.Time `json:"snapshot,omitzero"`
	Stored    uint64    `json:"stored_seq"`
	Files     int       `json:"files"`
	Bytes     int64     `json:"bytes"`
	NewBytes  int64     `json:"new_bytes"`
	Encrypted string    `json:"encrypted,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Service runs backups for the server, on demand and on a schedule, and
// remembers each attempt in the control-plane database.
type Service struct {
	Source Source
	DB     *sql.DB
	// Default is the target used when none is given (backup.to).
	Default string
	// Keys loads the encryption keys (nil: backups are not encrypted).
	Keys func(ctx context.Context) (*keyring.Keyring, error)
	Log  *slog.Logger
	// OnDrillFail is told of each failed scheduled restore drill (the
	// server raises an alert); nil: only logged and kept.
	OnDrillFail func(ctx context.Context, d *Drill) error
	// Drill runs one restore drill of a target (the server runs vigil
	// restore --drill as a child process); nil: no drills.
	Drill func(ctx context.Context, target string) (*Drill, error)

	mu       sync.Mutex
	drilling sync.Mutex // held while a drill runs
}

// Open prepares the history table.
func (s *Service) Open(ctx context.Context) error {
	return db.Migrate(ctx, s.DB, "backups", migrations)
}

// Backup backs up to spec (empty: the default target) and records the
// attempt.
func (s *Service) Backup(ctx context.Context, spec string) (*Manifest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if spec == "" {
		spec = s.Default
	}
	if spec == "" {
		return nil, errors.New("no backup target: give one, or set backup.to")
	}
	rec := Record{Target: spec, Started: time.Now().UTC()}
	m, err := s.run(ctx, spec)
	rec.Finished = time.Now().UTC()
	if err != nil {
		rec.Error = err.Error()
	} else {
		rec.ID, rec.Snapshot, rec.Stored, rec.Files, rec.Bytes, rec.NewBytes, rec.Encrypted = m.ID, m.Snapshot, m.Stored, m.Stats.Files, m.Stats.Bytes, m.Stats.NewBytes, m.Encrypted
	}
	if _, dberr := s.DB.ExecContext(context.WithoutCancel(ctx), `INSERT INTO backups (id, target, started, finished, snapshot, stored, files, bytes, new_bytes, encrypted, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, rec.Target, rec.Started.UnixNano(), rec.Finished.UnixNano(), nanos(rec.Snapshot),
		int64(rec.Stored), rec.Files, rec.Bytes, rec.NewBytes, rec.Encrypted, rec.Error); dberr != nil {
		s.Log.Error("record backup", "err", dberr)
	}
	return m, err
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (s *Service) run(ctx context.Context, spec string) (*Manifest, error) {
	t, err := OpenTarget(spec, os.Getenv)
	if err != nil {
		return nil, err
	}
	opts := Options{Log: s.Log}
	if s.Keys != nil {
		if opts.Keys, err = s.Keys(ctx); err != nil {
			return nil, err
		}
	}
	return Run(ctx, s.Source, t, opts)
}

// History returns the attempts since since, newest first.
func (s *Service) History(ctx context.Context, since time.Time) ([]Record, error) {
	return History(ctx, s.DB, since)
}

// History reads the backup attempts recorded in d since since, newest
// first.
func History(ctx context.Context, d *sql.DB, since time.Time) ([]Record, error) {
	rows, err := d.QueryContext(ctx, `SELECT id, target, started, finished, snapshot, stored, files, bytes, new_bytes, encrypted, error
		FROM backups WHERE started >= ? ORDER BY started DESC`, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("backup history: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var (
			r                           Record
			started, finished, snapshot int64
			stored                      int64
		)
		if err := rows.Scan(&r.ID, &r.Target, &started, &finished, &snapshot, &stored, &r.Files, &r.Bytes, &r.NewBytes, &r.Encrypted, &r.Error); err != nil {
			return nil, err
		}
		r.Started, r.Finished, r.Stored = time.Unix(0, started).UTC(), time.Unix(0, finished).UTC(), uint64(stored)
		if snapshot != 0 {
			r.Snapshot = time.Unix(0, snapshot).UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// drillTarget is the target a drill asked for through the API restores
// from: one this server backed up to (or backup.to), never an arbitrary
// path, so the API cannot be used to read other directories. Empty: the
// target of the latest successful backup, else backup.to.
func (s *Service) drillTarget(ctx context.Context, from string) (string, error) {
	h, err := s.History(ctx, time.Time{})
	if err != nil {
		return "", err
	}
	if from == "" {
		for _, b := range h {
			if b.Error == "" {
				return b.Target, nil
			}
		}
		if s.Default == "" {
			return "", errors.New("no backup to drill: back up first, or set backup.to")
		}
		return s.Default, nil
	}
	if from == s.Default {
		return from, nil
	}
	for _, b := range h {
		if b.Target == from {
			return from, nil
		}
	}
	return "", fmt.Errorf("%s: not a target this server has backed up to", from)
}

// RunSchedule backs up to the default target every interval until ctx
// ends.
func (s *Service) RunSchedule(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Backup(ctx, ""); err != nil && ctx.Err() == nil {
			s.Log.Error("scheduled backup failed", "target", s.Default, "err", err)
		}
	}
}

// Routes serve the backup API:
//
//	POST /api/v1/backup    {"to": "DIR or s3://BUCKET/PREFIX"} (default backup.to): back up now; the manifest's summary
//	GET  /api/v1/backups   ?since=: the attempts and the restore drills, newest first
//	POST /api/v1/backups/drill  {"from": TARGET} (default: the latest successful backup's target, else backup.to): run a restore drill now; its result
func (s *Service) Routes(parseTime func(string, time.Time) (time.Time, error)) map[string]http.Handler {
	return map[string]http.Handler{
		"POST /api/v1/backup": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				To string `json:"to"`
			}
			if r.ContentLength != 0 {
				if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
					web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"to\": \"DIR or s3://BUCKET/PREFIX\"}: " + err.Error()})
					return
				}
			}
			m, err := s.Backup(r.Context(), req.To)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			m.Files = nil // the summary; the manifest is in the target
			web.WriteJSON(w, http.StatusOK, m)
		}),
		"POST /api/v1/backups/drill": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				From string `json:"from"`
			}
			if r.ContentLength != 0 {
				if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
					web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"from\": \"DIR or s3://BUCKET/PREFIX\"}: " + err.Error()})
					return
				}
			}
			target, err := s.drillTarget(r.Context(), req.From)
			if err != nil {
				web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			d, err := s.RunDrill(r.Context(), target)
			switch {
			case errors.Is(err, ErrDrillRunning):
				web.WriteJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
			case err != nil:
				web.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			default:
				web.WriteJSON(w, http.StatusOK, d)
			}
		}),
		"GET /api/v1/backups": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var since time.Time
			if v := r.URL.Query().Get("since"); v != "" {
				t, err := parseTime(v, time.Now())
				if err != nil {
					web.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
					return
				}
				since = t
			}
			h, err := s.History(r.Context(), since)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			ds, err := s.Drills(r.Context(), since)
			if err != nil {
				web.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			if h == nil {
				h = []Record{}
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"backups": h, "drills": ds})
		}),
	}
}

package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Drill is what a restore drill measured (vigil restore --drill): HIPAA's
// contingency plan asks for testing of restore procedures
// (164.308(a)(7)(ii)(D)), and the recovery time is the figure the plan
// promises. The server runs drills every backup.drill_interval and keeps
// each result.
type Drill struct {
	Backup   string    `json:"backup"`
	Target   string    `json:"target"`
	Snapshot time.Time `json:"snapshot,omitzero"`
	Started  time.Time `json:"started"`
	Files    int       `json:"files"`
	Bytes    int64     `json:"bytes"`
	// Restore, Verify and Start are how long each step took; Recovery is
	// restore + start: from the backup to a server answering.
	Restore  Seconds `json:"restore"`
	Verify   Seconds `json:"verify"`
	Start    Seconds `json:"start"`
	Recovery Seconds `json:"recovery"`
	// Sealed events the backup held at its snapshot; Verified those the
	// restored store verified against their seals.
	Sealed   int64  `json:"sealed_events"`
	Verified int64  `json:"verified_events"`
	Problems int    `json:"problems"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// Seconds is a duration that reads and writes as seconds in JSON.
type Seconds time.Duration

func (d Seconds) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).Seconds()) }

func (d *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Seconds(f * float64(time.Second))
	return nil
}

func (d Seconds) String() string { return time.Duration(d).Round(time.Millisecond).String() }

// RecordDrill keeps a drill's result.
func (s *Service) RecordDrill(ctx context.Context, d *Drill) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(context.WithoutCancel(ctx), `INSERT INTO backup_drills (started, ok, result) VALUES (?, ?, ?)`, d.Started.UnixNano(), d.OK, string(data))
	return err
}

// Drills returns the drills started since since, newest first.
func (s *Service) Drills(ctx context.Context, since time.Time) ([]Drill, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT result FROM backup_drills WHERE started >= ? ORDER BY started DESC LIMIT 1000`, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("restore drills: %w", err)
	}
	defer rows.Close()
	out := []Drill{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var d Drill
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return nil, fmt.Errorf("restore drill record: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ErrDrillRunning refuses a drill while another one runs: each starts a
// server of its own on a scratch copy, and two at once only measure each
// other.
var ErrDrillRunning = errors.New("a restore drill is already running")

// RunDrill runs one restore drill of target (empty: the default target)
// with s.Drill, keeps its result, and passes a failure to OnDrillFail.
// The error is that of the drill's machinery (no drill runner, one
// already running, ctx ended); a drill that ran and failed is returned
// with OK false and its reason, and no error.
func (s *Service) RunDrill(ctx context.Context, target string) (*Drill, error) {
	if s.Drill == nil {
		return nil, errors.New("restore drills are not available here")
	}
	if target == "" {
		target = s.Default
	}
	if target == "" {
		return nil, errors.New("no backup to drill: back up first, or set backup.to")
	}
	if !s.drilling.TryLock() {
		return nil, ErrDrillRunning
	}
	defer s.drilling.Unlock()
	started := time.Now().UTC()
	d, err := s.Drill(ctx, target)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if d == nil {
		d = &Drill{Target: target, Started: started}
	}
	if err != nil && d.Error == "" {
		d.Error = err.Error()
	}
	if err != nil {
		d.OK = false
	}
	if !d.OK {
		s.Log.Error("restore drill failed", "target", target, "err", d.Error)
		if s.OnDrillFail != nil {
			if err := s.OnDrillFail(ctx, d); err != nil {
				s.Log.Error("restore drill alert", "err", err)
			}
		}
	} else {
		s.Log.Info("restore drill passed", "target", target, "backup", d.Backup, "recovery", d.Recovery.String())
	}
	if err := s.RecordDrill(ctx, d); err != nil {
		s.Log.Error("record restore drill", "err", err)
	}
	return d, nil
}

// RunDrills runs a restore drill of the default target every interval
// until ctx ends (RunDrill: each result kept, a failure alerted).
func (s *Service) RunDrills(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.RunDrill(ctx, ""); err != nil && ctx.Err() == nil {
			s.Log.Warn("restore drill not run", "err", err)
		}
	}
}

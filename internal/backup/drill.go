package backup

import (
	"context"
	"encoding/json"
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

// RunDrills runs a restore drill of the default target every interval
// until ctx ends, and keeps each result; run does the drill (the server
// runs vigil restore --drill as a child process). A failed drill is
// logged as an error, kept with its reason, and passed to OnDrillFail.
func (s *Service) RunDrills(ctx context.Context, interval time.Duration, run func(ctx context.Context, target string) (*Drill, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		started := time.Now().UTC()
		d, err := run(ctx, s.Default)
		if ctx.Err() != nil {
			return
		}
		if d == nil {
			d = &Drill{Target: s.Default, Started: started}
		}
		if err != nil && d.Error == "" {
			d.Error = err.Error()
		}
		if err != nil {
			d.OK = false
		}
		if !d.OK {
			s.Log.Error("restore drill failed", "target", s.Default, "err", d.Error)
			if s.OnDrillFail != nil {
				if err := s.OnDrillFail(ctx, d); err != nil {
					s.Log.Error("restore drill alert", "err", err)
				}
			}
		} else {
			s.Log.Info("restore drill passed", "target", s.Default, "backup", d.Backup, "recovery", d.Recovery.String())
		}
		if err := s.RecordDrill(ctx, d); err != nil {
			s.Log.Error("record restore drill", "err", err)
		}
	}
}

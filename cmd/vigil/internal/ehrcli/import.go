// Package ehrcli provides the "vigil ehr" commands (import EHR access logs
// into a server, resumably; show the presets) and "vigil workforce import"
// (send an HR roster to the workforce directory).
package ehrcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
)

// ImportOptions configure Import.
type ImportOptions struct {
	Mapping *ehr.Mapping
	// StatePath is the state file remembering, per file, the last row the
	// server acknowledged ("" keeps no state).
	StatePath string
	// Resume continues an interrupted import of the same file (same path,
	// size and first KiB) after its last acknowledged row.
	Resume bool
	// ChunkEvents and ChunkBytes bound a request (defaults 2000 and 4 MiB).
	ChunkEvents  int
	ChunkBytes   int
	KeepOriginal bool
	// Progress is told the bytes and rows handled.
	Progress func(bytes, rows int64)
	// MaxProblems bounds the problems listed (default 100; all are counted).
	MaxProblems int
}

// ImportStats summarise the import of one file.
type ImportStats struct {
	File string
	// Rows read, Stored by the server, with problems (stored with
	// vigil.parse_error), Refused by the server.
	Rows, Stored, RowProblems, Refused int
	Requests                           int
	// ResumedAtLine is the line the import continued at (0: from the start).
	ResumedAtLine int
	// AlreadyDone: the state says the file was imported completely.
	AlreadyDone bool
	// Problems lists the first problems as "line N: …".
	Problems []string
	// Unmapped are the headers of the columns the mapping reads nothing
	// from.
	Unmapped []string
}

func (s *ImportStats) problem(format string, args ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// ErrChanged says a file changed since its interrupted import.
var ErrChanged = errors.New("file changed since the interrupted import")

// Import reads an access log and sends its rows to the server as events,
// in requests acknowledged one after the other. After each acknowledged
// request the state file records the last row handled, so that Resume
// continues after it; rows the server refused are listed, not retried.
func Import(ctx context.Context, c *client.Client, path string, opt ImportOptions) (ImportStats, error) {
	st := ImportStats{File: path}
	if opt.ChunkEvents <= 0 {
		opt.ChunkEvents = 2000
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = 4 << 20
	}
	if opt.MaxProblems <= 0 {
		opt.MaxProblems = 100
	}
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	cur, err := ehr.Identify(f)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	var state *ehr.State
	key := ehr.Key(path)
	fs := cur
	if opt.StatePath != "" {
		if state, err = ehr.LoadState(opt.StatePath); err != nil {
			return st, err
		}
		if prev := state.Files[key]; opt.Resume && prev != nil {
			same, err := prev.SameStart(f)
			if err != nil {
				return st, fmt.Errorf("%s: %w", path, err)
			}
			if !same || prev.Size != cur.Size {
				return st, fmt.Errorf("%s: %w (size %d → %d bytes%s); import it without --resume to start over",
					path, ErrChanged, prev.Size, cur.Size, map[bool]string{true: "", false: ", different beginning"}[same])
			}
			if prev.Done {
				st.AlreadyDone = true
				return st, nil
			}
			fs = prev
			st.ResumedAtLine = prev.Line
		}
	}
	save := func() error {
		if state == nil {
			return nil
		}
		state.Files[key] = fs
		return state.Save()
	}
	r, err := ehr.NewReader(f, opt.Mapping, ehr.Options{Path: path, KeepOriginal: opt.KeepOriginal, StartOffset: fs.Offset, StartLine: fs.Line})
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	st.Unmapped = r.Unmapped()
	if fs.Offset < r.HeaderEnd {
		fs.Offset, fs.Line = r.HeaderEnd, 2
		if opt.Progress != nil {
			opt.Progress(r.HeaderEnd, 0)
		}
	} else if opt.Progress != nil {
		opt.Progress(fs.Offset, 0)
	}
	var (
		body []byte
		rows []ehr.Row
	)
	send := func() error {
		if len(rows) == 0 {
			return nil
		}
		res, err := c.Ingest(ctx, "ndjson", body)
		st.Requests++
		stored := len(rows)
		if err != nil {
			stored = 0
			if res != nil && res.NotStoredFrom > 0 {
				stored = res.NotStoredFrom - 1
			}
		}
		if res != nil {
			for _, rj := range res.Rejected {
				if rj.Line >= 1 && rj.Line <= len(rows) && rj.Line <= stored {
					st.Refused++
					if len(st.Problems) < opt.MaxProblems {
						st.problem("line %d: refused by the server: %s", rows[rj.Line-1].Line, rj.Reason)
					}
				}
			}
			st.Stored += min(res.Accepted, stored)
		}
		if stored > 0 {
			last := rows[stored-1]
			if opt.Progress != nil {
				opt.Progress(last.Offset-fs.Offset, int64(stored))
			}
			fs.Offset, fs.Line = last.Offset, last.NextLine
			fs.Rows += int64(stored)
			if serr := save(); serr != nil {
				return serr
			}
		}
		if err != nil {
			return fmt.Errorf("%s: rows from line %d on were not stored: %w; run again with --resume to continue there", path, fs.Line, err)
		}
		body, rows = body[:0], rows[:0]
		return nil
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if serr := send(); serr != nil {
				return st, serr
			}
			return st, fmt.Errorf("%s: reading line %d: %w", path, fs.Line, err)
		}
		st.Rows++
		if row.Err != nil {
			st.RowProblems++
			if len(st.Problems) < opt.MaxProblems {
				st.Problems = append(st.Problems, row.Err.Error())
			}
		}
		body = event.AppendJSON(body, &row.Event)
		body = append(body, '\n')
		rows = append(rows, row)
		if len(rows) >= opt.ChunkEvents || len(body) >= opt.ChunkBytes {
			if err := send(); err != nil {
				return st, err
			}
		}
	}
	if err := send(); err != nil {
		return st, err
	}
	fs.Done = true
	fs.Size = cur.Size
	return st, save()
}

// Summary is a one-line account of an import.
func (s *ImportStats) Summary() string {
	if s.AlreadyDone {
		return fmt.Sprintf("%s: already imported completely (state file); nothing sent", s.File)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %d rows read", s.File, s.Rows)
	if s.ResumedAtLine > 0 {
		fmt.Fprintf(&b, " (resumed at line %d)", s.ResumedAtLine)
	}
	fmt.Fprintf(&b, ", %d events stored, %d rows with problems, %d refused, %d requests", s.Stored, s.RowProblems, s.Refused, s.Requests)
	return b.String()
}

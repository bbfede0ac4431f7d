// Package ehrcli provides the "vigil ehr" commands (import EHR access logs
// into a server, resumably; show the presets) and "vigil workforce import"
// (send an HR roster to the workforce directory).
package ehrcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

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
	// Lanes is how many requests may be in flight (default 1): rows go
	// to a lane by their user, and each lane sends its requests one
	// after the other, so each user's rows reach the server in the
	// file's order (see importer).
	Lanes int
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
	lanes := max(opt.Lanes, 1)
	var laneLines []int
	if st.ResumedAtLine > 0 && fs.Lanes > 1 {
		// A resumed import keeps its lanes: they say which rows after
		// Offset were acknowledged already.
		lanes = fs.Lanes
		laneLines = slices.Clone(fs.LaneLines)
	}
	if len(laneLines) != lanes {
		laneLines = make([]int, lanes)
	}
	imp := &importer{c: c, path: path, opt: &opt, st: &st, fs: fs, save: save,
		lanes: make([]lane, lanes), laneLines: laneLines, skip: slices.Clone(laneLines), readOffset: fs.Offset, readLine: fs.Line}
	if lanes > 1 {
		fs.Lanes = lanes
	}
	var wg sync.WaitGroup
	for i := range imp.lanes {
		ch := make(chan *chunk, 1) // one prepared while one is in flight
		imp.lanes[i].ch = ch
		wg.Add(1)
		go func() { defer wg.Done(); imp.run(ctx, ch) }()
	}
	readErr := imp.read(r)
	for i := range imp.lanes {
		imp.flush(i)
		close(imp.lanes[i].ch)
	}
	wg.Wait()
	if imp.err != nil {
		return st, imp.err
	}
	if readErr != nil {
		return st, readErr
	}
	slices.SortStableFunc(st.Problems, func(a, b string) int { return problemLine(a) - problemLine(b) })
	fs.Done = true
	fs.Size = cur.Size
	fs.Lanes, fs.LaneLines = 0, nil
	return st, save()
}

// chunk is one request of a lane: its NDJSON body and where its rows are.
type chunk struct {
	lane int
	body []byte
	rows []rowPos
	// first is the first row not yet acknowledged (guarded by the
	// importer's mutex: rows grows while the reader fills the chunk).
	first rowPos
}

// rowPos is where a row is in the file.
type rowPos struct {
	line  int   // the line it starts on
	start int64 // its first byte
}

// lane is a stream of requests sent one after the other: the chunks it
// was handed and not yet had acknowledged (the first may be in flight),
// and the one being filled.
type lane struct {
	ch      chan *chunk
	pending []*chunk // handed over, oldest first
	fill    *chunk
	fillN   int // the reader's row count at fill's first row
}

// importer sends an access log in lanes. Rows of one user always go to the
// same lane, so the server receives each user's accesses in the file's
// order (what the privacy rules need: a user's bursts, baselines and
// repeat offences follow the user's own sequence); rows of different
// users may arrive interleaved differently than in the file, but no lane
// runs more than about two chunks per lane of rows ahead of another (a
// lane's chunk goes out when full or when the reader has moved that far
// past its first row), so the learning of explanation templates sees the
// history in about the file's order.
type importer struct {
	c    *client.Client
	path string
	opt  *ImportOptions
	save func() error

	mu        sync.Mutex // guards what follows
	st        *ImportStats
	fs        *ehr.FileState
	lanes     []lane
	laneLines []int // per lane, the last line acknowledged
	// skip is laneLines when the import began (read by the reader only).
	skip []int
	// readOffset and readLine are where the reader was when it last
	// handed a chunk over: every row before is in a chunk.
	readOffset int64
	readLine   int
	err        error
	stopped    atomic.Bool
}

// laneOf is the lane of a row: by its user.
func laneOf(ev *event.Event, lanes int) int {
	if lanes == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(ev.Value("user.name")))
	return int(h.Sum32() % uint32(lanes))
}

// read reads the rows and hands them to their lanes.
func (imp *importer) read(r *ehr.Reader) error {
	opt, lanes := imp.opt, len(imp.lanes)
	drift := 2 * opt.ChunkEvents * lanes
	var n int // rows read
	start, next := imp.fs.Offset, imp.fs.Line
	defer func() { imp.mark(start, next) }()
	for !imp.stopped.Load() {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: reading line %d: %w", imp.path, next, err)
		}
		pos := rowPos{line: row.Line, start: start}
		start, next = row.Offset, row.NextLine
		l := laneOf(&row.Event, lanes)
		if row.Line <= imp.skip[l] {
			continue // acknowledged before the interruption
		}
		n++
		imp.mu.Lock()
		imp.st.Rows++
		if row.Err != nil {
			imp.st.RowProblems++
			if len(imp.st.Problems) < opt.MaxProblems {
				imp.st.Problems = append(imp.st.Problems, row.Err.Error())
			}
		}
		ln := &imp.lanes[l]
		if ln.fill == nil {
			ln.fill = &chunk{lane: l, first: pos}
			ln.fillN = n
			ln.pending = append(ln.pending, ln.fill)
		}
		imp.mu.Unlock()
		c := ln.fill
		c.body = event.AppendJSON(c.body, &row.Event)
		c.body = append(c.body, '\n')
		c.rows = append(c.rows, pos)
		if len(c.rows) >= opt.ChunkEvents || len(c.body) >= opt.ChunkBytes {
			imp.mark(start, next)
			imp.flush(l)
		}
		if lanes > 1 && n%64 == 0 {
			for i := range imp.lanes {
				if imp.lanes[i].fill != nil && n-imp.lanes[i].fillN >= drift {
					imp.mark(start, next)
					imp.flush(i)
				}
			}
		}
	}
	return nil
}

// mark records that the reader has put every row before offset (line)
// into a chunk.
func (imp *importer) mark(offset int64, line int) {
	imp.mu.Lock()
	imp.readOffset, imp.readLine = offset, line
	imp.mu.Unlock()
}

// flush hands lane l's chunk being filled to its sender.
func (imp *importer) flush(l int) {
	ln := &imp.lanes[l]
	if ln.fill == nil {
		return
	}
	c := ln.fill
	ln.fill = nil
	ln.ch <- c
}

// run sends the chunks of one lane, one after the other.
func (imp *importer) run(ctx context.Context, ch <-chan *chunk) {
	for c := range ch {
		if imp.stopped.Load() {
			continue // an error stopped the import: drain
		}
		if err := imp.send(ctx, c); err != nil {
			imp.mu.Lock()
			if imp.err == nil {
				imp.err = err
			}
			imp.mu.Unlock()
			imp.stopped.Store(true)
		}
	}
}

// send sends one chunk and records what the server acknowledged.
func (imp *importer) send(ctx context.Context, c *chunk) error {
	res, err := imp.c.Ingest(ctx, "ndjson", c.body)
	stored := len(c.rows)
	if err != nil {
		stored = 0
		if res != nil && res.NotStoredFrom > 0 {
			stored = res.NotStoredFrom - 1
		}
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	st, opt := imp.st, imp.opt
	st.Requests++
	if res != nil {
		for _, rj := range res.Rejected {
			if rj.Line >= 1 && rj.Line <= len(c.rows) && rj.Line <= stored {
				st.Refused++
				if len(st.Problems) < opt.MaxProblems {
					st.problem("line %d: refused by the server: %s", c.rows[rj.Line-1].line, rj.Reason)
				}
			}
		}
		st.Stored += min(res.Accepted, stored)
	}
	ln := &imp.lanes[c.lane]
	if stored > 0 {
		imp.laneLines[c.lane] = c.rows[stored-1].line
		if stored == len(c.rows) {
			ln.pending = ln.pending[1:]
		} else {
			c.first = c.rows[stored]
		}
		fs := imp.fs
		// The file is handled up to the first row some lane still holds.
		off, line := imp.readOffset, imp.readLine
		for i := range imp.lanes {
			if p := imp.lanes[i].pending; len(p) > 0 && p[0].first.start < off {
				off, line = p[0].first.start, p[0].first.line
			}
		}
		if off > fs.Offset {
			if opt.Progress != nil {
				opt.Progress(off-fs.Offset, int64(stored))
			}
			fs.Offset, fs.Line = off, line
		} else if opt.Progress != nil {
			opt.Progress(0, int64(stored))
		}
		fs.Rows += int64(stored)
		if len(imp.lanes) > 1 {
			fs.LaneLines = slices.Clone(imp.laneLines)
		}
		if serr := imp.save(); serr != nil {
			return serr
		}
	}
	if err != nil {
		return fmt.Errorf("%s: rows from line %d on were not stored: %w; run again with --resume to continue there", imp.path, imp.fs.Line, err)
	}
	return nil
}

// problemLine is the line a problem names ("line N: …"), for sorting.
func problemLine(p string) int {
	var n int
	fmt.Sscanf(p, "line %d:", &n)
	return n
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

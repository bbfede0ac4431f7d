package ehr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
)

// Source is the metrics label and bus subject of the watched directory.
const Source = "ehr"

// Watcher imports the access logs of a directory continuously: new files,
// and lines appended to files already read. Where it stopped in each file
// is kept in a state file, so a restart continues there. A file whose
// beginning changed (replaced) or that shrank (truncated) is read again
// from the start.
//
// Rows are published with ingest.PublishAll and the state is saved after
// the bus stored them: a crash in between re-reads those rows (at least
// once, never lost).
type Watcher struct {
	Dir string
	// Patterns select file names (filepath.Match; default *.csv *.tsv
	// *.txt *.log).
	Patterns []string
	// Mapping, else MappingFile (YAML/JSON), else Preset.
	Mapping     *Mapping
	MappingFile string
	Preset      string
	Pub         ingest.Publisher
	Metrics     *ingest.Metrics
	// StatePath is the state file (e.g. <data dir>/ehr-watch.json).
	StatePath string
	Log       *slog.Logger
	// Interval between directory scans (default 2 seconds).
	Interval time.Duration
	// KeepOriginal stores each row in event.original (PHI).
	KeepOriginal bool
	// BatchEvents bounds the rows published at once (default 1000).
	BatchEvents int
	Now         func() time.Time

	reported map[string]string // file → last file-level problem logged
	mapping  *Mapping
	state    *State
}

// Init checks the configuration and loads the state; call it at start-up
// to fail early (Run calls it when it was not called).
func (w *Watcher) Init() error {
	m := w.Mapping
	var err error
	if m == nil {
		if m, err = Resolve(w.Preset, w.MappingFile); err != nil {
			return fmt.Errorf("ehr watcher: %w", err)
		}
	}
	if err := m.Check(); err != nil {
		return fmt.Errorf("ehr watcher: %w", err)
	}
	if w.Pub == nil || w.Metrics == nil || w.StatePath == "" {
		return errors.New("ehr watcher: Pub, Metrics and StatePath are required")
	}
	if fi, err := os.Stat(w.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("ehr watcher: %s is not a directory", w.Dir)
	}
	st, err := LoadState(w.StatePath)
	if err != nil {
		return fmt.Errorf("ehr watcher: %w", err)
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.Interval <= 0 {
		w.Interval = 2 * time.Second
	}
	if w.BatchEvents <= 0 {
		w.BatchEvents = 1000
	}
	if len(w.Patterns) == 0 {
		w.Patterns = []string{"*.csv", "*.tsv", "*.txt", "*.log"}
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	w.reported = map[string]string{}
	w.mapping, w.state = m, st
	return nil
}

// Run scans the directory until ctx ends. It returns an error only when
// it cannot start (see Init).
func (w *Watcher) Run(ctx context.Context) error {
	if w.state == nil {
		if err := w.Init(); err != nil {
			return err
		}
	}
	w.Log.Info("watching EHR access logs", "dir", w.Dir, "mapping", w.mapping.Name, "patterns", w.Patterns)
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.Scan(ctx, w.mapping, w.state)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Watcher) matches(name string) bool {
	for _, p := range w.Patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Scan reads what is new in the directory once.
func (w *Watcher) Scan(ctx context.Context, m *Mapping, st *State) {
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		w.Log.Warn("ehr watcher: cannot list the directory", "dir", w.Dir, "err", err)
		return
	}
	seen := map[string]bool{}
	for _, de := range entries {
		if ctx.Err() != nil {
			return
		}
		if !de.Type().IsRegular() || !w.matches(de.Name()) {
			continue
		}
		path := filepath.Join(w.Dir, de.Name())
		key := Key(path)
		seen[key] = true
		if err := w.file(ctx, m, st, path, key); err != nil {
			w.Log.Warn("ehr watcher: file not read", "file", path, "err", err)
		}
	}
	changed := false
	for k := range st.Files {
		if !seen[k] && filepath.Dir(k) == Key(w.Dir) {
			delete(st.Files, k) // the file is gone
			changed = true
		}
	}
	if changed {
		if err := st.Save(); err != nil {
			w.Log.Error("ehr watcher: state not saved", "err", err)
		}
	}
}

// file imports what is new in one file.
func (w *Watcher) file(ctx context.Context, m *Mapping, st *State, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	fs := st.Files[key]
	if fs != nil {
		if fi.Size() == fs.Size && fi.ModTime().Equal(fs.ModTime) {
			return nil // nothing new
		}
		same, err := fs.SameStart(f)
		if err != nil {
			return err
		}
		if !same || fi.Size() < fs.Offset {
			w.Log.Info("ehr watcher: file replaced or truncated; reading it from the start", "file", path)
			fs = nil
		}
	}
	if fs == nil {
		if fs, err = Identify(f); err != nil {
			return err
		}
		fs.Size, fs.ModTime = -1, time.Time{} // not read yet
	}
	r, err := NewReader(f, m, Options{Path: path, KeepOriginal: w.KeepOriginal, StartOffset: fs.Offset, StartLine: fs.Line, Tail: true, Now: w.Now})
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil // the header is still being written
	}
	if err != nil {
		if w.reported[key] != err.Error() {
			w.reported[key] = err.Error()
			// A file-level error names columns and header names, no row data.
			w.Log.Warn("ehr watcher: file cannot be imported with this mapping", "file", path, "mapping", m.Name, "err", err)
		}
		return nil
	}
	delete(w.reported, key)
	if fs.Offset < r.HeaderEnd {
		fs.Offset, fs.Line = r.HeaderEnd, 2
		// Said once, when the file is first read: column names only.
		if n := UnmappedNotice(m, r.Unmapped()); n != "" {
			w.Log.Warn("ehr watcher: "+n, "file", path)
		}
	}
	var (
		events []event.Event
		rows   []Row
	)
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		n, err := ingest.PublishAll(ctx, w.Pub, Source, events)
		for i := range n {
			w.Metrics.Count(Source, &events[i])
		}
		if n > 0 {
			last := rows[n-1]
			w.Metrics.Bytes.WithLabelValues(Source).Add(float64(last.Offset - fs.Offset))
			fs.Offset, fs.Line = last.Offset, last.NextLine
			fs.Rows += int64(n)
			fs.Updated = w.Now().UTC()
			st.Files[key] = fs
			if serr := st.Save(); serr != nil {
				w.Log.Error("ehr watcher: state not saved", "err", serr)
			}
		}
		events, rows = events[:0], rows[:0]
		if err != nil {
			return fmt.Errorf("bus refused rows from line %d on (retrying at the next scan): %w", fs.Line, err)
		}
		return nil
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
		if row.Err != nil {
			// The problem is in the event (vigil.parse_error); the log
			// names only where, as cells may hold PHI.
			w.Log.Info("ehr watcher: row with problems imported with vigil.parse_error", "file", path, "line", row.Line)
		}
		ingest.Stamp(&row.Event, w.Now())
		events = append(events, row.Event)
		rows = append(rows, row)
		if len(events) >= w.BatchEvents {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// Everything complete has been read: remember the file as it is now,
	// and hash more of its beginning if it was short before.
	fs.Size, fs.ModTime = fi.Size(), fi.ModTime()
	if fs.HeadLen < HeadBytes {
		if n, h, err := headHash(f, HeadBytes); err == nil {
			fs.HeadLen, fs.HeadSHA256 = n, h
		}
	}
	if fs.Offset < fi.Size() {
		// A partial last line waits: look again at the next scan.
		fs.Size = -1
	}
	st.Files[key] = fs
	return st.Save()
}

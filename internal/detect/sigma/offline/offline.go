// Package offline runs the Sigma engine over files, without a server: Lint
// loads rules and reports every rejection, Scan evaluates rules (and
// correlations) over event files, Test runs SigmaHQ-style regression
// cases. The `vigil sigma` commands are thin wrappers around them.
package offline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-siem/vigil/internal/detect/correlation"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/engine"
	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/detect/sigma/regression"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/normalize/windows"
	"github.com/vigil-siem/vigil/internal/parse/evtx"
	"github.com/vigil-siem/vigil/internal/progress"
	"github.com/vigil-siem/vigil/rules/healthcare"
)

// ErrFailed is returned when lint rejected rules or tests failed; the

// command has already printed why.

// Command returns `vigil sigma` with its subcommands.

// Config is what the commands share.

type Config struct {
	Rules        []string // rule directories or files
	Pipelines    []string // shipped pipeline names or files; empty: by event layout
	Placeholders string   // YAML file: placeholder name -> list of values
	JSON         bool
	// Format, when set, reads the files with that input format's parser
	// (package formats), as a server would store them; otherwise files
	// are JSON events or EVTX, in the layout they have.
	Format string
	// Location is the zone of times written without one (NXLog's
	// EventTime, syslog stamps); UTC when nil.
	Location *time.Location
}

// LoadPlaceholders reads a YAML mapping of placeholder names (without

// percent signs) to a value or a list of values.

func LoadPlaceholders(path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("placeholders: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("placeholders %s: %w", path, err)
	}
	out := map[string][]string{}
	for k, v := range raw {
		k = strings.Trim(k, "%")
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		case nil:
			out[k] = nil
		default:
			out[k] = []string{fmt.Sprint(x)}
		}
	}
	return out, nil
}

func (c *Config) load(ctx context.Context, paths []string) (*sigma.RuleSet, *sigma.Report, error) {
	ph, err := LoadPlaceholders(c.Placeholders)
	if err != nil {
		return nil, nil, err
	}
	// Vigil's own rules have default values for their placeholders (the
	// file replaces them name by name), as vigil serve gives them.
	ph = healthcare.Merge(ph)
	return sigma.Load(ctx, paths, sigma.LoadOptions{ParseOptions: sigma.ParseOptions{ValueOptions: sigma.ValueOptions{Placeholders: ph}}})
}

func (c *Config) pipelines(format eventfile.Format) ([]*pipeline.Pipeline, error) {
	names := c.Pipelines
	if len(names) == 0 {
		names = []string{"vigil"}
		if format == eventfile.FormatEvtxDump {
			names = []string{"evtx_dump"}
		}
	}
	var out []*pipeline.Pipeline
	for _, n := range names {
		p, err := pipeline.Load(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// engines compiles one engine per event layout, on demand.

type engines struct {
	cfg *Config
	rs  *sigma.RuleSet
	m   map[eventfile.Format]*engine.Engine
}

func (e *engines) get(f eventfile.Format) (*engine.Engine, error) {
	if len(e.cfg.Pipelines) > 0 {
		f = eventfile.FormatFlat // one engine when pipelines are given
	}
	if eng := e.m[f]; eng != nil {
		return eng, nil
	}
	pipes, err := e.cfg.pipelines(f)
	if err != nil {
		return nil, err
	}
	eng, err := engine.Compile(e.rs, engine.Options{Pipelines: pipes})
	if err != nil {
		return nil, err
	}
	if e.m == nil {
		e.m = map[eventfile.Format]*engine.Engine{}
	}
	e.m[f] = eng
	return eng, nil
}

// Lint loads and compiles the rules under dirs, prints every rejection and

// a summary per directory, and reports whether nothing was rejected.

func Lint(ctx context.Context, w io.Writer, dirs []string, cfg Config) (bool, error) {
	rs, rep, err := cfg.load(ctx, dirs)
	if err != nil {
		return false, err
	}
	pipes, err := cfg.pipelines(eventfile.FormatFlat)
	if err != nil {
		return false, err
	}
	eng, err := engine.Compile(rs, engine.Options{Pipelines: pipes})
	if err != nil {
		return false, err
	}
	rejected := append(append([]sigma.Rejection(nil), rep.Rejected...), eng.Rejected()...)
	sort.SliceStable(rejected, func(i, j int) bool {
		if rejected[i].File != rejected[j].File {
			return rejected[i].File < rejected[j].File
		}
		return rejected[i].Line < rejected[j].Line
	})
	for _, r := range rejected {
		fmt.Fprintf(w, "REJECTED %s\n", r)
	}
	for _, r := range rep.Warnings {
		fmt.Fprintf(w, "warning  %s\n", r)
	}
	compileRejected := map[string]bool{}
	for _, r := range eng.Rejected() {
		compileRejected[r.File] = true
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nDIRECTORY\tFILES\tLOADED\tREJECTED")
	total, loaded := 0, 0
	for _, d := range rep.Dirs {
		extra := 0
		for f := range compileRejected {
			if strings.HasPrefix(f, d.Path) {
				extra++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", d.Path, d.Files, d.Loaded-extra, d.Rejected+extra)
		total += d.Loaded + d.Rejected
		loaded += d.Loaded - extra
	}
	tw.Flush()
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(loaded) / float64(total)
	}
	st := eng.Stats()
	fmt.Fprintf(w, "loaded %d of %d (%.2f%%): %d rules, %d correlations, %d filters; %d rejected, %d warnings; %d rules have no route in pipeline %s\n",
		loaded, total, pct, rep.Rules-len(eng.Rejected()), rep.Correlations, rep.Filters, len(rejected), len(rep.Warnings), st.RulesUnrouted, pipelineNames(pipes))
	return len(rejected) == 0, nil
}

func pipelineNames(ps []*pipeline.Pipeline) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	return strings.Join(n, "+")
}

// ScanResult counts what Scan saw.

type ScanResult struct {
	Events  int
	Matches int
	Alerts  int
	// Problems are records that could not be read (reported and skipped).
	Problems int
}

type jsonMatch struct {
	Time     time.Time         `json:"time"`
	Kind     string            `json:"kind"`
	RuleID   string            `json:"rule_id"`
	Title    string            `json:"title"`
	Level    string            `json:"level,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	File     string            `json:"file"`
	Event    map[string]string `json:"event,omitempty"`
	GroupBy  map[string]string `json:"group_by,omitempty"`
	EventIDs []string          `json:"event_ids,omitempty"`
}

// Scan evaluates the rules over the files and prints matches and

// correlation alerts to w (progress to errw when it is a terminal).

func Scan(ctx context.Context, w, errw io.Writer, files []string, cfg Config) (ScanResult, error) {
	s, err := NewScanner(ctx, errw, cfg)
	if err != nil {
		return ScanResult{}, err
	}
	return s.Scan(ctx, w, errw, files)
}

// Scanner holds a loaded rule set and the engines compiled from it, so

// that several scans share one compilation.

type Scanner struct {
	cfg  Config
	rs   *sigma.RuleSet
	engs *engines
	win  *windows.Normalizer
}

// NewScanner loads the rules of cfg, reporting rejections to errw.

func NewScanner(ctx context.Context, errw io.Writer, cfg Config) (*Scanner, error) {
	rs, rep, err := cfg.load(ctx, cfg.Rules)
	if err != nil {
		return nil, err
	}
	if n := len(rep.Rejected); n > 0 {
		fmt.Fprintf(errw, "sigma scan: %d rules rejected (see vigil sigma lint)\n", n)
	}
	s := &Scanner{cfg: cfg, rs: rs}
	s.engs = &engines{cfg: &s.cfg, rs: rs}
	return s, nil
}

// Scan evaluates the rules over the files: NDJSON, JSON arrays, evtx_dump

// JSON, or EVTX files (parsed here, damaged chunks reported to errw).

func (s *Scanner) Scan(ctx context.Context, w, errw io.Writer, files []string) (ScanResult, error) {
	var res ScanResult
	cfg, rs, engs := &s.cfg, s.rs, s.engs
	var tw *tabwriter.Writer
	enc := json.NewEncoder(w)
	if !cfg.JSON {
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tLEVEL\tRULE\tTITLE\tFILE\tEVENT")
	}
	printMatch := func(file string, m *engine.Match) {
		res.Matches++
		if cfg.JSON {
			jm := jsonMatch{Time: m.Event.Time, Kind: "match", RuleID: m.Rule.ID, Title: m.Rule.Title, Level: m.Rule.Level, Tags: m.Rule.Tags, File: file, Event: map[string]string{}}
			for _, f := range m.Event.Fields {
				jm.Event[f.Name] = f.Value
			}
			enc.Encode(jm)
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Event.Time.Format(time.RFC3339), m.Rule.Level, m.Rule.ID, m.Rule.Title, file, eventRef(m.Event))
	}
	printAlert := func(file string, a correlation.Alert) {
		res.Alerts++
		if cfg.JSON {
			jm := jsonMatch{Time: a.Last, Kind: "correlation", RuleID: a.RuleID, Title: a.Title, Level: a.Level, Tags: a.Tags, File: file, GroupBy: map[string]string{}, EventIDs: a.EventIDs}
			for _, g := range a.GroupBy {
				jm.GroupBy[g.Name] = g.Value
			}
			enc.Encode(jm)
			return
		}
		var gb []string
		for _, g := range a.GroupBy {
			gb = append(gb, g.Name+"="+g.Value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Last.Format(time.RFC3339), a.Level, a.RuleID, a.Title+" ["+a.Type+"]", file, strings.Join(gb, " "))
	}
	var badFiles []string
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var (
			in       io.ReadCloser
			bar      *progress.Bar
			problems int
			read     = func(r io.Reader, fn func(*event.Event) error) error {
				return eventfile.ReadWith(r, eventfile.Options{Location: cfg.Location, OnError: func(e *eventfile.RecordError) error {
					problems++
					fmt.Fprintf(errw, "%s:%d: object %d at byte %d: %v\n", file, e.Line, e.Object, e.Offset, e.Err)
					return nil
				}}, fn)
			}
			err error
		)
		if cfg.Format != "" {
			f, lerr := formats.Lookup(cfg.Format)
			if lerr != nil {
				return res, lerr
			}
			read = func(r io.Reader, fn func(*event.Event) error) error {
				ps, err := f.File(r, formats.Options{Location: cfg.Location}, fn)
				for _, p := range ps {
					fmt.Fprintf(errw, "%s: %v\n", file, p)
				}
				problems += len(ps)
				return err
			}
			in, bar, err = openPlain(file, errw)
		} else {
			in, bar, err = openEvents(ctx, file, errw)
		}
		if err != nil {
			return res, err
		}
		var eng *engine.Engine
		var worker *engine.Worker
		var corr *correlation.Engine
		n, unrouted, reshaped := 0, 0, 0
		err = read(in, func(ev *event.Event) error {
			// Flat Windows JSON (NXLog, Security-Datasets) is brought to
			// the layout Vigil stores, as ingest does, unless the user
			// chose pipelines for it.
			if len(cfg.Pipelines) == 0 && cfg.Format == "" && windows.Detect(ev) == windows.FormFlat {
				if s.win == nil {
					s.win = windows.NewNormalizer()
					s.win.Location = cfg.Location
				}
				// ev.Time is @timestamp, else EventTime read in cfg.Location.
				if s.win.NormalizeForm(ev, windows.FormFlat) == nil {
					reshaped++
				}
			}
			if eng == nil {
				var err error
				if eng, err = engs.get(eventfile.Detect(ev)); err != nil {
					return err
				}
				worker = eng.NewWorker()
				corr = correlation.New(rs.Correlations, eng, correlation.Options{})
			}
			n++
			if ev.Value(event.FieldID) == "" {
				ev.Add(event.FieldID, fmt.Sprintf("%s#%d", file, n))
			}
			res.Events++
			bar.Add(0, 1)
			worker.Match(ev, func(m *engine.Match) {
				if m.Rule.Alert {
					printMatch(file, m)
				}
				for _, a := range corr.Observe(m) {
					if a.Standalone {
						printAlert(file, a)
					}
				}
			})
			if worker.Routed() == 0 {
				unrouted++
			}
			return nil
		})
		bar.Finish()
		if reshaped > 0 {
			fmt.Fprintf(errw, "%s: %d events of flat Windows JSON (NXLog, Security-Datasets) read as Vigil stores them (winlog.*); give --pipeline windows_flat to match them as they are\n", file, reshaped)
		}
		if n > 0 && unrouted == n {
			fmt.Fprintf(errw, "%s: WARNING: none of its %d events reached a rule: their fields match no log source of pipeline %s (Windows events need winlog.channel or EventID/Channel, Linux ones event.module syslog). Give --format for raw logs or --pipeline for another layout\n",
				file, n, pipelineNames(eng.Pipelines()))
		} else if unrouted > 0 && unrouted*10 >= n {
			fmt.Fprintf(errw, "%s: warning: %d of %d events reached no rule (their fields match no log source)\n", file, unrouted, n)
		}
		res.Problems += problems
		if problems > 0 {
			badFiles = append(badFiles, file)
			if n == 0 && cfg.Format == "" {
				fmt.Fprintf(errw, "%s: no record of it is a JSON object: for raw logs give --format (%s)\n", file, strings.Join(formats.Names(), ", "))
			}
		}
		if cerr := in.Close(); err == nil {
			err = cerr
		}
		if corr != nil {
			for _, a := range corr.Flush(time.Now().Add(100 * 365 * 24 * time.Hour)) {
				if a.Standalone {
					printAlert(file, a)
				}
			}
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", file, err)
		}
	}
	if tw != nil {
		tw.Flush()
		fmt.Fprintf(w, "%d events, %d matches, %d correlation alerts\n", res.Events, res.Matches, res.Alerts)
	}
	if res.Problems > 0 {
		return res, fmt.Errorf("%d records could not be read in %s (listed above with their line); the others were scanned", res.Problems, strings.Join(badFiles, ", "))
	}
	return res, nil
}

// eventsCloser is the event stream of one file.

type eventsCloser struct {
	io.Reader
	close func() error
}

func (e eventsCloser) Close() error { return e.close() }

// openPlain opens a file to be read as it is.

func openPlain(file string, errw io.Writer) (io.ReadCloser, *progress.Bar, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	bar := progress.New(errw, file, size)
	return eventsCloser{Reader: bar.Reader(f), close: f.Close}, bar, nil
}

// openEvents opens a file of events. An EVTX file (by its signature, or by

// its name when the header is damaged) is parsed here into evtx_dump JSON

// records; any other file is read as JSON.

func openEvents(ctx context.Context, file string, errw io.Writer) (io.ReadCloser, *progress.Bar, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	var sig [7]byte
	n, _ := f.ReadAt(sig[:], 0)
	isEVTX := strings.EqualFold(filepath.Ext(file), ".evtx") || (n == len(sig) && (string(sig[:]) == "ElfFile" || string(sig[:]) == "ElfChnk"))
	if !isEVTX {
		bar := progress.New(errw, file, st.Size())
		return eventsCloser{Reader: bar.Reader(f), close: f.Close}, bar, nil
	}
	ef, err := evtx.Open(f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := evtx.Dump(ctx, ef, pw, errw, evtx.DumpOptions{})
		pw.CloseWithError(err)
		done <- err
	}()
	closeAll := func() error {
		pr.CloseWithError(io.ErrClosedPipe) // stops the dump if reading ended early
		err := <-done
		f.Close()
		if errors.Is(err, io.ErrClosedPipe) {
			err = nil
		}
		return err
	}
	return eventsCloser{Reader: pr, close: closeAll}, progress.New(errw, file, 0), nil
}

func eventRef(ev *event.Event) string {
	for _, k := range []string{event.FieldID, "winlog.record_id", "Event.System.EventRecordID"} {
		if v, ok := ev.Get(k); ok {
			return v
		}
	}
	return ""
}

// Counter counts rule matches and correlation alerts per event file, with

// one compiled engine per event layout. It implements regression.Counter.

type Counter struct {
	engs *engines
	rs   *sigma.RuleSet
	ids  map[string]bool
}

// NewCounter compiles nothing yet; engines are built per layout on use.

func NewCounter(rs *sigma.RuleSet, cfg Config) *Counter {
	c := &Counter{engs: &engines{cfg: &cfg, rs: rs}, rs: rs, ids: map[string]bool{}}
	for _, r := range rs.Rules {
		c.ids[r.ID], c.ids[r.Name] = true, true
	}
	for _, r := range rs.Correlations {
		c.ids[r.ID], c.ids[r.Name] = true, true
	}
	delete(c.ids, "")
	return c
}

// Known reports whether a rule or correlation with this id or name loaded

// (and compiled).

func (c *Counter) Known(id string) bool {
	if !c.ids[id] {
		return false
	}
	eng, err := c.engs.get(eventfile.FormatFlat)
	if err != nil {
		return false
	}
	for _, r := range eng.Rejected() {
		if r.ID == id {
			return false
		}
	}
	return true
}

// Count returns how often the rule or correlation id fired over events.

func (c *Counter) Count(ctx context.Context, id string, events []event.Event, f eventfile.Format) (int, error) {
	eng, err := c.engs.get(f)
	if err != nil {
		return 0, err
	}
	w := eng.NewWorker()
	corr := correlation.New(c.rs.Correlations, eng, correlation.Options{})
	n := 0
	count := func(a correlation.Alert) {
		if a.RuleID == id || (a.Name != "" && a.Name == id) {
			n++
		}
	}
	for i := range events {
		ev := &events[i]
		if ev.Value(event.FieldID) == "" {
			ev.Add(event.FieldID, fmt.Sprint(i))
		}
		w.Match(ev, func(m *engine.Match) {
			if m.Rule.ID == id || (m.Rule.Name != "" && m.Rule.Name == id) {
				n++
			}
			for _, a := range corr.Observe(m) {
				count(a)
			}
		})
	}
	for _, a := range corr.Flush(time.Now().Add(100 * 365 * 24 * time.Hour)) {
		count(a)
	}
	return n, nil
}

// Test runs the regression cases under dirs and prints one line per case

// and a summary; it returns the number of failed cases.

func Test(ctx context.Context, w io.Writer, dirs []string, cfg Config, atLeast bool) (int, error) {
	rs, rep, err := cfg.load(ctx, cfg.Rules)
	if err != nil {
		return 0, err
	}
	for _, r := range rep.Rejected {
		fmt.Fprintf(w, "rule rejected: %s\n", r)
	}
	cases, err := regression.Find(dirs)
	if err != nil {
		return 0, err
	}
	results := regression.Run(ctx, cases, NewCounter(rs, cfg), atLeast)
	pass, fail, skip := 0, 0, 0
	for _, r := range results {
		fmt.Fprintf(w, "%s %s (%s): %s\n", r.Status, r.Case.Dir, r.Case.RuleTitle, r.Detail)
		switch r.Status {
		case regression.Pass:
			pass++
		case regression.Fail:
			fail++
		case regression.Skip:
			skip++
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", pass, fail, skip)
	return fail, nil
}

// Package parsecli provides "vigil parse --format NAME FILE": parse a file
// offline with the parser Vigil uses for that format and print the
// normalized events as NDJSON, so that any sample can be checked by hand.
// Formats maps each format name to its file parser, in one place.
package parsecli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest/atnasyslog"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/atna"
	"github.com/vigil-siem/vigil/internal/parse/cef"
	"github.com/vigil-siem/vigil/internal/parse/fhir"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/parse/jsonflat"
	"github.com/vigil-siem/vigil/internal/parse/leef"
	"github.com/vigil-siem/vigil/internal/parse/ndjson"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// Options configure a file parser.
type Options struct {
	// Location is the zone of times without an offset (UTC when nil).
	Location *time.Location
	// KeepOriginal adds event.original to every event.
	KeepOriginal bool
	// Now is the receive time given to records without a time of their own.
	Now time.Time
	// Preset and MappingFile select the EHR mapping (format ehr).
	Preset, MappingFile string
	// MaxRecordBytes bounds one record of line formats (default 1 MiB).
	MaxRecordBytes int
}

// Emit takes one event; returning an error stops the parse.
type Emit func(e *event.Event) error

// FileParser parses a whole input, emitting events in order. Problems with
// single records are returned as Problems (the events carry them in
// vigil.parse_error); the error is for the input as a whole.
type FileParser func(r io.Reader, opt Options, emit Emit) (problems []error, err error)

// Format is one input format.
type Format struct {
	Doc   string
	Parse FileParser
}

// Formats are the formats vigil parse reads, by name.
var Formats = map[string]Format{
	"fhir":   {"FHIR AuditEvent R4/R5: one resource or a batch/transaction Bundle (JSON or XML), or NDJSON", parseFHIR},
	"atna":   {"DICOM / IHE ATNA audit messages (XML), one or many", parseATNA},
	"hl7":    {"HL7 v2 messages, one after the other (MLLP framing tolerated)", parseHL7},
	"cef":    {"ArcSight CEF records, one per line (syslog header allowed)", lines(parseCEFLine)},
	"leef":   {"IBM QRadar LEEF 1.0/2.0 records, one per line (syslog header allowed)", lines(parseLEEFLine)},
	"syslog": {"syslog messages, one per line (RFC 5424, RFC 3164 and variants; ATNA audit XML recognised)", parseSyslog},
	"ndjson": {"JSON events, one object per line, or a JSON array", parseNDJSON},
	"ehr":    {"EHR access-log CSV/TSV (with --preset or --mapping)", parseEHR},
}

// FormatNames lists the formats.
func FormatNames() []string {
	var n []string
	for k := range Formats {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	return data, nil
}

func emitAll(evs []event.Event, emit Emit) error {
	for i := range evs {
		if err := emit(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

func parseFHIR(r io.Reader, opt Options, emit Emit) ([]error, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	evs, errs := fhir.Events(data, fhir.Limits{}, fhir.Options{KeepOriginal: opt.KeepOriginal}, opt.Now)
	return errs, emitAll(evs, emit)
}

func parseATNA(r io.Reader, opt Options, emit Emit) ([]error, error) {
	evs, errs := atna.Events(r, atna.Limits{}, atna.Options{KeepOriginal: opt.KeepOriginal}, opt.Now)
	return errs, emitAll(evs, emit)
}

func parseHL7(r io.Reader, opt Options, emit Emit) ([]error, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	evs, errs := hl7.Events(data, hl7.Limits{}, hl7.EventOptions{KeepOriginal: opt.KeepOriginal, Location: opt.Location, Now: opt.Now})
	return errs, emitAll(evs, emit)
}

func maxRecord(opt Options) int {
	if opt.MaxRecordBytes > 0 {
		return opt.MaxRecordBytes
	}
	return 1 << 20
}

// lineParser parses one line into e (e.Time zero when the record has no
// time).
type lineParser func(opt Options) func(line []byte, e *event.Event) error

// lines makes a FileParser of a line format: every non-blank line is a
// record; a line that does not parse is kept (message, event.original)
// with vigil.parse_error.
func lines(mk lineParser) FileParser {
	return func(r io.Reader, opt Options, emit Emit) ([]error, error) {
		parse := mk(opt)
		var problems []error
		err := ndjson.Lines(r, maxRecord(opt), func(it ndjson.Item) error {
			var e event.Event
			if it.Err != nil {
				err := fmt.Errorf("line %d: %w", it.N, it.Err)
				problems = append(problems, err)
				e.Time = opt.Now
				e.Set(event.FieldParseError, err.Error())
				return emit(&e)
			}
			if err := parse(it.Raw, &e); err != nil {
				err = fmt.Errorf("line %d: %w", it.N, err)
				problems = append(problems, err)
				e.Set(event.FieldMessage, string(it.Raw))
				e.Set(event.FieldOriginal, string(it.Raw))
				e.Set(event.FieldParseError, err.Error())
			} else if opt.KeepOriginal {
				e.SetIfAbsent(event.FieldOriginal, string(it.Raw))
			}
			if e.Time.IsZero() {
				e.Time = opt.Now
			}
			return emit(&e)
		})
		return problems, err
	}
}

func parseCEFLine(opt Options) func([]byte, *event.Event) error {
	p := cef.NewParser(cef.Options{Location: opt.Location, Now: func() time.Time { return opt.Now }})
	return func(line []byte, e *event.Event) error {
		if err := p.Append(e, line); err != nil {
			e.Set("event.module", "cef")
			return err
		}
		return nil
	}
}

func parseLEEFLine(opt Options) func([]byte, *event.Event) error {
	p := leef.NewParser(leef.Options{Location: opt.Location, Now: func() time.Time { return opt.Now }})
	return func(line []byte, e *event.Event) error {
		if err := p.Append(e, line); err != nil {
			e.Set("event.module", "leef")
			return err
		}
		return nil
	}
}

// parseSyslog parses lines as the syslog listeners do: the syslog parser
// (which records its own failures in the event), the Linux authentication
// normaliser, and ATNA audit recognition.
func parseSyslog(r io.Reader, opt Options, emit Emit) ([]error, error) {
	p := &syslog.Parser{Location: opt.Location, KeepOriginal: opt.KeepOriginal, MaxSize: maxRecord(opt), Now: func() time.Time { return opt.Now }}
	rec := &atnasyslog.Recognizer{Options: atna.Options{KeepOriginal: opt.KeepOriginal}}
	var problems []error
	err := ndjson.Lines(r, maxRecord(opt), func(it ndjson.Item) error {
		var e event.Event
		if it.Err != nil {
			err := fmt.Errorf("line %d: %w", it.N, it.Err)
			problems = append(problems, err)
			e.Time = opt.Now
			e.Set(event.FieldParseError, err.Error())
			return emit(&e)
		}
		if err := p.Parse(it.Raw, &e); err != nil {
			problems = append(problems, fmt.Errorf("line %d: %w", it.N, err))
		}
		if rec.Apply(&e) {
			if v := e.Value(event.FieldParseError); v != "" && !strings.HasPrefix(v, "line ") {
				problems = append(problems, fmt.Errorf("line %d: %s", it.N, v))
			}
		}
		normalize.Syslog(&e)
		return emit(&e)
	})
	return problems, err
}

// parseNDJSON reads JSON events as HTTP ingest does: flattened, with
// @timestamp taken as the event time, and the JSON repairs of the
// normaliser.
func parseNDJSON(r io.Reader, opt Options, emit Emit) ([]error, error) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	payloads := normalize.NewPayloads(loc)
	var problems []error
	err := ndjson.Decode(r, maxRecord(opt), func(it ndjson.Item) error {
		var e event.Event
		e.Time = opt.Now
		fail := func(err error) error {
			err = fmt.Errorf("line %d: %w", it.N, err)
			problems = append(problems, err)
			e.Set(event.FieldParseError, err.Error())
			if it.Raw != nil {
				e.Set(event.FieldOriginal, string(it.Raw))
			}
			return emit(&e)
		}
		if it.Err != nil {
			return fail(it.Err)
		}
		if err := jsonflat.AppendObject(&e, it.Raw, jsonflat.Options{}); err != nil {
			e.Fields = e.Fields[:0]
			return fail(err)
		}
		if v, ok := e.Get("@timestamp"); ok {
			e.Delete("@timestamp")
			t, err := event.ParseTime(v)
			if err != nil {
				e.Set("vigil.original_timestamp", v)
				return fail(fmt.Errorf("@timestamp: %w", err))
			}
			e.Time = t
		}
		normalize.JSONEvent(&e, payloads) // as HTTP ingest does: Windows forms, CEF/LEEF/kv messages
		if opt.KeepOriginal {
			e.Set(event.FieldOriginal, string(it.Raw))
		}
		return emit(&e)
	})
	return problems, err
}

func parseEHR(r io.Reader, opt Options, emit Emit) ([]error, error) {
	m, err := ehr.Resolve(opt.Preset, opt.MappingFile)
	if err != nil {
		return nil, err
	}
	if opt.Location != nil && m.Timezone == "" {
		m.Timezone = opt.Location.String()
		if err := m.Check(); err != nil {
			return nil, err
		}
	}
	rd, err := ehr.NewReader(r, m, ehr.Options{KeepOriginal: opt.KeepOriginal, MaxRecordBytes: maxRecord(opt), Now: func() time.Time { return opt.Now }})
	if err != nil {
		return nil, err
	}
	var problems []error
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return problems, nil
		}
		if err != nil {
			return problems, err
		}
		if row.Err != nil {
			problems = append(problems, row.Err)
		}
		if err := emit(&row.Event); err != nil {
			return problems, err
		}
	}
}

// ParseFile parses path ("-" for standard input) in format and writes one
// JSON event per line to out (fields sorted by name when sorted). It
// returns the problems of single records.
func ParseFile(path, format string, opt Options, sorted bool, out io.Writer) ([]error, error) {
	f, ok := Formats[format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q: want %s", format, strings.Join(FormatNames(), ", "))
	}
	var in io.Reader = os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		in = file
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	opt.Now = opt.Now.UTC()
	bw := bufio.NewWriterSize(out, 256<<10)
	var buf []byte
	problems, err := f.Parse(in, opt, func(e *event.Event) error {
		if sorted {
			e.SortFields()
		}
		buf = event.AppendJSON(buf[:0], e)
		buf = append(buf, '\n')
		_, err := bw.Write(buf)
		return err
	})
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	return problems, err
}

// Command returns "vigil parse".
func Command() *cobra.Command {
	var (
		opt            Options
		format, zone   string
		sorted, strict bool
	)
	var docs []string
	for _, n := range FormatNames() {
		docs = append(docs, fmt.Sprintf("  %-7s %s", n, Formats[n].Doc))
	}
	cmd := &cobra.Command{
		Use:   "parse --format FORMAT FILE|-",
		Short: "Parse a file offline and print the normalized events as NDJSON",
		Long: `Parse a file with the parser Vigil uses for its format and print each
normalized event as one JSON object per line ("@timestamp" first). Records
that do not parse are printed too, with vigil.parse_error, and reported on
standard error with where they are.

Formats:
` + strings.Join(docs, "\n"),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				return fmt.Errorf("give --format: %s", strings.Join(FormatNames(), ", "))
			}
			if zone != "" {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					return fmt.Errorf("--timezone: %w", err)
				}
				opt.Location = loc
			}
			problems, err := ParseFile(args[0], format, opt, sorted, cmd.OutOrStdout())
			for _, p := range problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", args[0], p)
			}
			if err != nil {
				return err
			}
			if strict && len(problems) > 0 {
				return fmt.Errorf("%s: %d records with problems", args[0], len(problems))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(FormatNames(), ", "))
	cmd.Flags().StringVar(&zone, "timezone", "", "time zone of times without an offset (IANA name; default UTC)")
	cmd.Flags().BoolVar(&opt.KeepOriginal, "keep-original", false, "add event.original to every event")
	cmd.Flags().BoolVar(&sorted, "sort", false, "print fields sorted by name")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with an error when any record had a problem")
	cmd.Flags().StringVar(&opt.Preset, "preset", "", "EHR mapping preset for --format ehr: "+strings.Join(ehr.PresetNames(), ", "))
	cmd.Flags().StringVar(&opt.MappingFile, "mapping", "", "EHR mapping file for --format ehr (YAML or JSON)")
	return cmd
}

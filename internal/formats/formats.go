// Package formats is Vigil's one list of input formats. Every way events
// come in reads it: the syslog listeners and HTTP ingest (?format=NAME)
// parse records with a format's RecordParser, `vigil parse` and `vigil
// sigma scan --format` parse files with its FileParser, and `vigil ingest`
// learns from it how to send a file of that format to a server. A format
// therefore means the same thing everywhere: the events `vigil parse
// --format syslog` prints are the events a server stores from the same
// lines.
//
// A new format is one entry in List (in this file), with its parsers in a
// file of its own here; the parsers themselves live in internal/parse/<name>
// as pure functions.
package formats

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/ndjson"
	"github.com/vigil-siem/vigil/internal/parse/weblog"
)

// Options configure the parsers of a format.
type Options struct {
	// Location is the zone of times written without an offset (nil: UTC).
	Location *time.Location
	// KeepOriginal keeps each record's text in event.original (text
	// formats; JSON events keep every field they were sent with).
	KeepOriginal bool
	// KeepOriginalHL7 and KeepOriginalFHIR do the same for HL7 v2
	// messages and FHIR resources, whose whole text is PHI (names,
	// addresses, diagnoses) beyond the fields Vigil parses from it: off
	// unless chosen (KeepOriginal does not apply to them).
	KeepOriginalHL7, KeepOriginalFHIR bool
	// Now is the clock: the receive time given to records without a time
	// of their own (nil: time.Now).
	Now func() time.Time
	// MaxRecordBytes bounds one record (default 1 MiB); syslog messages
	// longer than it are truncated and flagged.
	MaxRecordBytes int
	// Preset and MappingFile select the column mapping of format ehr.
	Preset, MappingFile string
	// Notice, when set, is told what a parser has to say about the input
	// as a whole (e.g. the columns of an EHR export its mapping does not
	// read).
	Notice func(msg string)
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) location() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.UTC
}

// DefaultMaxRecordBytes bounds a record when Options.MaxRecordBytes is 0.
const DefaultMaxRecordBytes = 1 << 20

func (o Options) maxRecord() int {
	if o.MaxRecordBytes > 0 {
		return o.MaxRecordBytes
	}
	return DefaultMaxRecordBytes
}

// RecordParser parses one record (a line, a datagram, one JSON object)
// into e, which the caller passes empty or holding fields of its own
// (log.source.address). A record that does not parse is still an event:
// it keeps its text and says why in vigil.parse_error, and the parser
// returns nil. The error is for a record that cannot be an event at all
// (JSON that is not an object), which senders are told about instead.
// A RecordParser is safe for concurrent use.
type RecordParser func(rec []byte, e *event.Event) error

// Emit takes one event; returning an error stops the parse.
type Emit func(e *event.Event) error

// FileParser parses a whole input, emitting events in order. Problems with
// single records are returned as problems (the events carry them in
// vigil.parse_error) with where they are; the error is for the input as a
// whole.
type FileParser func(r io.Reader, opt Options, emit Emit) (problems []error, err error)

// Upload says how `vigil ingest` sends a file of a format.
type Upload int

const (
	// UploadNone: the format has its own way in, named by UploadHint.
	UploadNone Upload = iota
	// UploadJSON: the file is sent as it is, as JSON events.
	UploadJSON
	// UploadRecords: the file's lines are sent with ?format=NAME and the
	// server parses them with the format's RecordParser.
	UploadRecords
	// UploadConverted: the client converts the file with Convert and
	// sends the result as JSON events (binary formats).
	UploadConverted
)

// Format is one input format.
type Format struct {
	Name string
	// Doc says what the format is, in one line.
	Doc string
	// Record makes the parser of one record, for formats that come one
	// record at a time (syslog listeners, ?format=NAME). nil for formats
	// only read as whole files.
	Record func(opt Options) (RecordParser, error)
	// File parses a whole input. For record formats it is the records one
	// per line.
	File FileParser
	// Upload is how vigil ingest sends it; UploadHint says what to use
	// instead when it is UploadNone.
	Upload     Upload
	UploadHint string
	// Convert turns a file into JSON events, one per line, for
	// UploadConverted. It reports damaged data to errw.
	Convert func(path string, out, errw io.Writer) error
	// Extensions are file name endings that select the format when none
	// is given (".evtx").
	Extensions []string
}

// List is every input format, in the order help texts show them.
var List = []Format{
	ndjsonFormat,
	syslogFormat,
	recordFormat("cef", "ArcSight CEF records, one per line (a syslog header before the record is read too)"),
	recordFormat("leef", "IBM QRadar LEEF 1.0/2.0 records, one per line (a syslog header before the record is read too)"),
	recordFormat("kv", "key=value records as firewalls write them, one per line (a syslog header before the record is read too)"),
	fhirFormat,
	atnaFormat,
	hl7Format,
	ehrFormat,
	evtxFormat,
	gelfFormat,
	webFormats[0], webFormats[1], webFormats[2], webFormats[3],
}

// Lookup returns the format called name.
func Lookup(name string) (*Format, error) {
	for i := range List {
		if List[i].Name == name {
			return &List[i], nil
		}
	}
	return nil, fmt.Errorf("unknown format %q: want %s", name, strings.Join(Names(), ", "))
}

// Names lists the formats' names, sorted.
func Names() []string {
	var n []string
	for _, f := range List {
		n = append(n, f.Name)
	}
	slices.Sort(n)
	return n
}

// RecordNames lists the formats that have a RecordParser.
func RecordNames() []string {
	var n []string
	for _, f := range List {
		if f.Record != nil {
			n = append(n, f.Name)
		}
	}
	slices.Sort(n)
	return n
}

// ByExtension returns the format a file name's ending selects, if any.
func ByExtension(path string) (*Format, bool) {
	lower := strings.ToLower(path)
	for i := range List {
		for _, ext := range List[i].Extensions {
			if strings.HasSuffix(lower, ext) {
				return &List[i], true
			}
		}
	}
	return nil, false
}

// Sniff chooses the format of a file given without one: the one its name
// selects (ByExtension), else, from its first line, ndjson for JSON and
// the web server log formats for access and error lines (nginx-access for
// an access log whose path names nginx, apache-access otherwise). It
// reports false when neither says: the caller decides (vigil ingest sends
// the lines as JSON, which the server refuses with the reason).
func Sniff(path string) (*Format, bool) {
	if f, ok := ByExtension(path); ok {
		return f, true
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name := ""
		switch weblog.Detect(line) { // before JSON: Apache error lines start with '['
		case weblog.KindAccess:
			name = "apache-access"
			if strings.Contains(strings.ToLower(path), "nginx") {
				name = "nginx-access"
			}
		case weblog.KindApacheError:
			name = "apache-error"
		case weblog.KindNginxError:
			name = "nginx-error"
		default:
			if line[0] == '{' || line[0] == '[' {
				name = "ndjson"
			}
		}
		if name == "" {
			return nil, false
		}
		f, err := Lookup(name)
		return f, err == nil
	}
	return nil, false
}

// Records makes the RecordParser of every format that has one, by name.
func Records(opt Options) (map[string]RecordParser, error) {
	m := map[string]RecordParser{}
	for _, f := range List {
		if f.Record == nil {
			continue
		}
		p, err := f.Record(opt)
		if err != nil {
			return nil, fmt.Errorf("format %s: %w", f.Name, err)
		}
		m[f.Name] = p
	}
	return m, nil
}

// Help lists the formats with their descriptions, one per line, indented.
func Help() string {
	var b strings.Builder
	for _, n := range Names() {
		f, _ := Lookup(n)
		fmt.Fprintf(&b, "  %-13s %s\n", f.Name, f.Doc)
	}
	return b.String()
}

// lines makes the FileParser of a record format: every non-blank line is a
// record. Records that do not parse are emitted too, and reported as
// problems with their line number.
func lines(record func(Options) (RecordParser, error)) FileParser {
	return func(r io.Reader, opt Options, emit Emit) ([]error, error) {
		parse, err := record(opt)
		if err != nil {
			return nil, err
		}
		var problems []error
		err = ndjson.Lines(r, opt.maxRecord(), func(it ndjson.Item) error {
			var e event.Event
			if it.Err != nil {
				err := fmt.Errorf("line %d: %w", it.N, it.Err)
				problems = append(problems, err)
				e.Time = opt.now()
				e.Set(event.FieldParseError, it.Err.Error())
				return emit(&e)
			}
			if err := parse(it.Raw, &e); err != nil {
				problems = append(problems, fmt.Errorf("line %d: %w", it.N, err))
				refused(&e, it.Raw, err, opt)
			} else if v, ok := e.Get(event.FieldParseError); ok {
				problems = append(problems, fmt.Errorf("line %d: %s", it.N, v))
			}
			return emit(&e)
		})
		return problems, err
	}
}

// refused makes the event of a record its RecordParser refused: its text
// and the reason.
func refused(e *event.Event, raw []byte, err error, opt Options) {
	e.Reset()
	e.Time = opt.now()
	e.Set(event.FieldParseError, err.Error())
	if raw != nil {
		e.Set(event.FieldOriginal, string(raw))
	}
}

// ParseFile parses path ("-" for standard input) in a format and writes
// one JSON event per line to out (fields sorted by name when sorted). It
// returns the problems of single records.
func ParseFile(path string, f *Format, opt Options, sorted bool, out io.Writer) ([]error, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		in = file
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	var buf []byte
	problems, err := f.File(in, opt, func(e *event.Event) error {
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

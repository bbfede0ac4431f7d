package ehr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Options configure a Reader.
type Options struct {
	// Path names the file: its extension picks the delimiter when the
	// mapping says auto, and events get it as log.file.path.
	Path string
	// KeepOriginal stores each row as read in event.original (PHI).
	KeepOriginal bool
	// MaxRecordBytes bounds one row (default 1 MiB); longer rows are
	// reported and skipped.
	MaxRecordBytes int
	// StartOffset and StartLine resume reading after a row read before:
	// the byte offset just past it and the line number of the next row.
	// The header is still read from the start.
	StartOffset int64
	StartLine   int
	// Tail leaves a last line without its line end unread (a writer may
	// still be appending to it); otherwise it is a row.
	Tail bool
	// Now gives the time of rows whose time cannot be read (time.Now by
	// default).
	Now func() time.Time
}

// Row is one row of an access log.
type Row struct {
	// Line is the line the row starts on (1 is the header).
	Line int
	// Offset is the byte offset just past the row: where to resume;
	// NextLine the line number there.
	Offset   int64
	NextLine int
	// Event is the row's event; a row with problems still has one, with
	// vigil.parse_error.
	Event event.Event
	// Err says what was wrong with the row (nil when nothing).
	Err error
}

// FileError is a problem with the file as a whole (no header, a required
// column missing).
type FileError struct {
	Line int
	Msg  string
}

func (e *FileError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Reader reads the rows of an access log.
type Reader struct {
	m       *Mapping
	opt     Options
	rr      recordReader
	delim   byte
	header  []string
	cols    []column // mapped columns
	other   []int    // unmapped column indexes (KeepUnmapped)
	otherNm []string
	unread  []string // headers of the columns no field is read from
	nulls   map[string]bool
	unit    time.Duration
	fields  []string
	// HeaderEnd is the byte offset just past the header line.
	HeaderEnd int64
}

type column struct {
	field string
	index int
	alias string // the header used
}

// NewReader reads the header (or takes the mapping's header names) and
// resolves the mapping's columns. A missing required column is a
// *FileError naming what was looked for and what the header has.
func NewReader(r io.Reader, m *Mapping, opt Options) (*Reader, error) {
	if m.loc == nil {
		if err := m.Check(); err != nil {
			return nil, err
		}
	}
	if opt.MaxRecordBytes <= 0 {
		opt.MaxRecordBytes = 1 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	rd := &Reader{m: m, opt: opt, nulls: map[string]bool{}}
	rd.unit, _ = durationUnit(m.DurationUnit)
	nulls := m.NullValues
	if nulls == nil {
		nulls = []string{"NULL", `\N`}
	}
	for _, n := range nulls {
		rd.nulls[n] = true
	}
	var err error
	if rd.delim, err = m.delimiterFor(opt.Path); err != nil {
		return nil, err
	}
	rd.rr = recordReader{br: bufio.NewReaderSize(r, 64<<10), max: opt.MaxRecordBytes, tail: opt.Tail, line: 1}
	if len(m.HeaderNames) > 0 {
		rd.header = m.HeaderNames
		if rd.delim == 0 {
			rd.delim = ','
		}
	} else {
		rec, _, err := rd.rr.next(rd.delim != '\t')
		if errors.Is(err, io.EOF) {
			if opt.Tail {
				return nil, io.ErrUnexpectedEOF // the header is not complete yet
			}
			return nil, &FileError{Line: 1, Msg: "empty file: want a header line"}
		}
		if err != nil {
			return nil, &FileError{Line: 1, Msg: "reading the header: " + err.Error()}
		}
		rec = bytes.TrimPrefix(rec, []byte("\ufeff"))
		if rd.delim == 0 {
			rd.delim = sniffDelimiter(rec)
		}
		rd.header = rd.split(rec, nil)
		rd.HeaderEnd = rd.rr.off
	}
	if err := rd.resolve(); err != nil {
		return nil, err
	}
	if opt.StartOffset > rd.HeaderEnd {
		skip := opt.StartOffset - rd.rr.off
		if s, ok := r.(io.Seeker); ok && rd.rr.br.Buffered() < int(skip) {
			if _, err := s.Seek(opt.StartOffset, io.SeekStart); err != nil {
				return nil, fmt.Errorf("resuming at byte %d: %w", opt.StartOffset, err)
			}
			rd.rr.br.Reset(r)
		} else if _, err := rd.rr.br.Discard(int(skip)); err != nil {
			return nil, fmt.Errorf("resuming at byte %d: the file is shorter", opt.StartOffset)
		}
		rd.rr.off = opt.StartOffset
		if opt.StartLine > 0 {
			rd.rr.line = opt.StartLine
		}
	}
	return rd, nil
}

// Header returns the column names.
func (r *Reader) Header() []string { return r.header }

// Columns returns, for each mapped field, the header it is read from.
func (r *Reader) Columns() map[string]string {
	out := map[string]string{}
	for _, c := range r.cols {
		out[c.field] = c.alias
	}
	return out
}

func sniffDelimiter(line []byte) byte {
	counts := map[byte]int{}
	inQuote := false
	for _, c := range line {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best, n := byte(','), 0
	for _, c := range []byte{',', '\t', ';', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best
}

func (r *Reader) resolve() error {
	byNorm := map[string]int{}
	for i, h := range r.header {
		if _, dup := byNorm[normHeader(h)]; !dup {
			byNorm[normHeader(h)] = i
		}
	}
	used := map[int]bool{}
	fields := make([]string, 0, len(r.m.Columns))
	for f := range r.m.Columns {
		fields = append(fields, f)
	}
	sortFields(fields)
	for _, f := range fields {
		for _, h := range r.m.Columns[f] {
			if i, ok := byNorm[normHeader(h)]; ok {
				r.cols = append(r.cols, column{field: f, index: i, alias: r.header[i]})
				used[i] = true
				break
			}
		}
	}
	for _, f := range r.m.requiredFields() {
		found := false
		for _, c := range r.cols {
			found = found || c.field == f
		}
		if !found {
			q := make([]string, len(r.header))
			for i, h := range r.header {
				q[i] = strconv.Quote(h)
			}
			want := make([]string, len(r.m.Columns[f]))
			for i, h := range r.m.Columns[f] {
				want[i] = strconv.Quote(h)
			}
			return &FileError{Line: 1, Msg: fmt.Sprintf("no column for %s (mapping %s): looked for %s; the header has %s",
				f, r.m.Name, strings.Join(want, ", "), strings.Join(q, ", "))}
		}
	}
	for i, h := range r.header {
		if used[i] || snakeHeader(h) == "" {
			continue
		}
		if r.m.KeepUnmapped {
			r.other = append(r.other, i)
			r.otherNm = append(r.otherNm, "healthcare.ehr."+snakeHeader(h))
		} else {
			r.unread = append(r.unread, h)
		}
	}
	return nil
}

// Unmapped returns the headers of the columns the mapping reads nothing
// from (and does not keep as healthcare.ehr.*): what an import leaves
// behind, to be reported so that a column the mapping misses (a
// break-glass flag under an unexpected name) does not go unnoticed.
func (r *Reader) Unmapped() []string { return r.unread }

// UnmappedNotice says which columns a mapping leaves unread, in one line
// naming the mapping ("" when every column is read).
func UnmappedNotice(m *Mapping, cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = strconv.Quote(c)
	}
	return fmt.Sprintf("%d column(s) not read by mapping %s: %s (map them in a mapping file, e.g. from `vigil ehr presets %s`, or set keep_unmapped)",
		len(cols), m.Name, strings.Join(q, ", "), m.Name)
}

// sortFields orders fields so that @timestamp comes first and the rest
// alphabetically (a stable event layout).
func sortFields(f []string) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && less(f[j], f[j-1]); j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

func less(a, b string) bool {
	if a == FieldTimestamp || b == FieldTimestamp {
		return a == FieldTimestamp && b != FieldTimestamp
	}
	return a < b
}

// Next returns the next row, or io.EOF after the last.
func (r *Reader) Next() (Row, error) {
	rec, line, err := r.rr.next(r.delim != '\t')
	if err != nil {
		var te *tooLongError
		if errors.As(err, &te) {
			row := Row{Line: te.line, Offset: r.rr.off, NextLine: r.rr.line, Err: fmt.Errorf("line %d: %w", te.line, err)}
			row.Event = r.failed(row.Err, nil)
			return row, nil
		}
		return Row{}, err
	}
	row := Row{Line: line, Offset: r.rr.off, NextLine: r.rr.line}
	r.fields = r.split(rec, r.fields[:0])
	row.Event, row.Err = r.event(r.fields, rec, line)
	return row, nil
}

// failed is the event of a row that could not be read at all.
func (r *Reader) failed(err error, rec []byte) event.Event {
	e := event.Event{Time: r.opt.Now().UTC()}
	r.common(&e)
	e.Set(event.FieldMessage, "unreadable EHR access log row")
	e.Set(event.FieldParseError, err.Error())
	if r.opt.KeepOriginal && rec != nil {
		e.Set(event.FieldOriginal, string(rec))
	}
	return e
}

func (r *Reader) common(e *event.Event) {
	e.Set("event.kind", "event")
	e.Set("event.module", "ehr")
	ds := r.m.Dataset
	if ds == "" {
		ds = "ehr.access"
	}
	e.Set("event.dataset", ds)
	if r.m.Vendor != "" {
		e.Set("observer.vendor", r.m.Vendor)
	}
	if r.m.Product != "" {
		e.Set("observer.product", r.m.Product)
	}
	if r.opt.Path != "" {
		e.Set("log.file.path", r.opt.Path)
	}
}

// event builds a row's event. Problems are collected, recorded in
// vigil.parse_error and returned; the event is made anyway.
func (r *Reader) event(cells []string, rec []byte, line int) (event.Event, error) {
	e := event.Event{Fields: make([]event.Field, 0, len(r.cols)+12)}
	r.common(&e)
	var problems []string
	if len(cells) != len(r.header) && !(len(cells) == 1 && cells[0] == "") {
		problems = append(problems, fmt.Sprintf("%d columns, the header has %d", len(cells), len(r.header)))
	}
	for _, c := range r.cols {
		if c.index >= len(cells) {
			continue
		}
		v := strings.TrimSpace(cells[c.index])
		if r.nulls[v] {
			v = ""
		}
		if tr, ok := r.m.Values[c.field]; ok {
			for k, to := range tr {
				if strings.EqualFold(k, v) {
					v = to
					break
				}
			}
		}
		if v == "" {
			continue
		}
		switch {
		case timeFields[c.field] || slices.Contains(r.m.TimeFields, c.field):
			t, err := r.parseTime(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("column %q: %v", c.alias, err))
				if c.field == FieldTimestamp {
					e.Set("vigil.original_timestamp", v)
				}
				continue
			}
			if c.field == FieldTimestamp {
				e.Time = t
			} else {
				e.Set(c.field, t.Format(time.RFC3339Nano))
			}
		case c.field == "event.duration":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("column %q: duration %q is not a number", c.alias, v))
				continue
			}
			e.Set("event.duration", strconv.FormatInt(int64(f*float64(r.unit)), 10))
		case c.field == FieldBreakGlass:
			if truthy(v) {
				e.Set(FieldBreakGlass, "true")
				e.Set("healthcare.break_glass_reason", "ehr_flag")
			}
		case c.field == "event.outcome":
			e.Set("event.outcome", outcome(v))
		case c.field == "event.action":
			e.Set("event.action", kebab(v))
			e.SetIfAbsent("healthcare.ehr.action", v)
		case c.field == "source.ip":
			if a, err := netip.ParseAddr(v); err == nil {
				e.Set("source.ip", a.String())
			}
			e.Set("source.address", v)
		default:
			e.Set(c.field, v)
		}
	}
	for i, idx := range r.other {
		if idx < len(cells) {
			if v := strings.TrimSpace(cells[idx]); v != "" && !r.nulls[v] {
				e.Set(r.otherNm[i], v)
			}
		}
	}
	for k, v := range r.m.Set {
		e.Set(k, v)
	}
	classify(&e)
	if e.Time.IsZero() {
		e.Time = r.opt.Now().UTC()
		if !e.Has("vigil.original_timestamp") {
			problems = append(problems, "no time")
		}
	}
	if v := e.Value(FieldBreakGlassJustification); v != "" && !e.Has(FieldBreakGlass) && r.m.Columns[FieldBreakGlass] == nil {
		// Logs without a flag column: a stated reason means the glass was broken.
		e.Set(FieldBreakGlass, "true")
		e.Set("healthcare.break_glass_reason", "ehr_flag")
	}
	e.Set(event.FieldMessage, summary(&e, r.m))
	if r.opt.KeepOriginal {
		e.Set(event.FieldOriginal, string(rec))
	}
	if len(problems) > 0 {
		err := fmt.Errorf("line %d: %s", line, strings.Join(problems, "; "))
		e.Set(event.FieldParseError, err.Error())
		return e, err
	}
	return e, nil
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "y", "yes", "true", "t", "1", "x", "bg", "btg", "on":
		return true
	}
	return false
}

func outcome(v string) string {
	switch strings.ToLower(v) {
	case "1", "true", "t", "y", "yes", "success", "succeeded", "ok", "s", "0 success":
		return "success"
	case "0", "false", "f", "n", "no", "failure", "failed", "fail", "error", "denied":
		return "failure"
	}
	return "unknown"
}

func kebab(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// classify derives event.category and event.type from the action words
// unless the mapping set them.
func classify(e *event.Event) {
	action := e.Value("event.action")
	tokens := strings.Split(action, "-")
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(w, "-") {
				if strings.Contains("-"+action+"-", "-"+w+"-") {
					return true
				}
				continue
			}
			for _, t := range tokens {
				if t == w {
					return true
				}
			}
		}
		return false
	}
	cat, typ := "database", "access"
	switch {
	case has("login", "logon", "signin", "sign-in", "authenticate", "authentication"):
		cat, typ = "authentication", "start"
	case has("logout", "logoff", "signout", "sign-out"):
		cat, typ = "authentication", "end"
	case has("delete", "deleted", "deletes", "remove", "removed", "purge", "purged"):
		typ = "deletion"
	case has("insert", "inserted", "create", "created", "creates", "add", "added", "new"):
		typ = "creation"
	case has("update", "updated", "updates", "modify", "modified", "edit", "edited", "change", "changed", "sign", "signed"):
		typ = "change"
	}
	e.SetIfAbsent("event.category", cat)
	e.SetIfAbsent("event.type", typ)
}

// summary is the event's message: the product, action and user, never
// the patient.
func summary(e *event.Event, m *Mapping) string {
	var b strings.Builder
	b.WriteString("EHR ")
	if m.Product != "" {
		b.WriteString(m.Product + " ")
	}
	if a := e.Value("event.action"); a != "" {
		b.WriteString(a)
	} else {
		b.WriteString("access")
	}
	if u := e.Value("user.name"); u != "" {
		b.WriteString(" by " + u)
	}
	if e.Value(FieldBreakGlass) == "true" {
		b.WriteString(" (break-glass)")
	}
	return b.String()
}

// builtinLayouts are the time forms tried after the mapping's.
var builtinLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"01/02/2006 15:04:05",
	"1/2/2006 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006 15:04",
	"01/02/2006 03:04:05 PM",
	"2006-01-02 15:04",
	"02-Jan-2006 15:04:05",
	"20060102150405",
	"2006-01-02",
}

func (r *Reader) parseTime(v string) (time.Time, error) {
	for _, l := range r.m.TimeFormats {
		if t, err := time.ParseInLocation(l, v, r.m.loc); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range builtinLayouts {
		if t, err := time.ParseInLocation(l, v, r.m.loc); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := event.ParseTime(v); err == nil && !strings.ContainsAny(v, "-/: ") {
		return t, nil // a Unix epoch
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: add its Go layout to time_formats", v)
}

// split cuts a record into cells: RFC 4180 quoting for , ; | (quotes
// doubled inside quoted cells; stray quotes kept as text), plain tabs
// (with optional backslash escapes) for tab-separated files.
func (r *Reader) split(rec []byte, dst []string) []string {
	if r.delim == '\t' {
		for _, c := range bytes.Split(rec, []byte{'\t'}) {
			s := string(c)
			if r.m.BackslashEscapes && strings.IndexByte(s, '\\') >= 0 {
				s = unescapeBackslash(s)
			}
			dst = append(dst, s)
		}
		return dst
	}
	var cell []byte
	i := 0
	for {
		cell = cell[:0]
		if i < len(rec) && rec[i] == '"' {
			i++
			for i < len(rec) {
				if rec[i] == '"' {
					if i+1 < len(rec) && rec[i+1] == '"' {
						cell = append(cell, '"')
						i += 2
						continue
					}
					i++
					break
				}
				cell = append(cell, rec[i])
				i++
			}
			// Text after the closing quote, up to the delimiter, is kept.
			for i < len(rec) && rec[i] != r.delim {
				cell = append(cell, rec[i])
				i++
			}
		} else {
			for i < len(rec) && rec[i] != r.delim {
				cell = append(cell, rec[i])
				i++
			}
		}
		dst = append(dst, string(cell))
		if i >= len(rec) {
			return dst
		}
		i++ // the delimiter
	}
}

func unescapeBackslash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'N':
			b.WriteString(`\N`)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// recordReader cuts a stream into records: lines, joined while a quoted
// cell spans line ends. It tracks the byte offset and line number.
type recordReader struct {
	br   *bufio.Reader
	max  int
	tail bool
	off  int64 // bytes consumed
	line int   // number of the next line
	buf  []byte
	// pending are lines read ahead while looking for the end of a quoted
	// cell that never came; they are served again one by one.
	pending []pendingLine
}

// pendingLine is a line read ahead, or (line nil) a too-long line that
// was skipped.
type pendingLine struct {
	line    []byte
	skipped int64
}

type tooLongError struct{ line, size int }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("row of more than %d bytes (or an unterminated quoted cell); skipped", e.size)
}

// errLong is readLine's report of a line longer than the limit, which it
// skipped (skipped bytes, line end included).
type errLong struct{ skipped int64 }

func (errLong) Error() string { return "line too long" }

// errPartial: a last line without line end in tail mode.
var errPartial = errors.New("partial line")

// readLine returns the next line with its line end, from pending lines
// first. At the end of the stream a last line without line end is
// returned, unless tail (then errPartial: the writer may still be
// writing it; the Reader must then be dropped and reopened at Offset).
func (rr *recordReader) readLine() ([]byte, error) {
	if len(rr.pending) > 0 {
		p := rr.pending[0]
		rr.pending = rr.pending[1:]
		if p.line == nil {
			return nil, errLong{p.skipped}
		}
		return p.line, nil
	}
	var line []byte
	for {
		chunk, err := rr.br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			if len(line) > rr.max+2 {
				return nil, errLong{int64(len(line))}
			}
			return line, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(line) > rr.max {
				skipped := int64(len(line))
				for errors.Is(err, bufio.ErrBufferFull) {
					chunk, err = rr.br.ReadSlice('\n')
					skipped += int64(len(chunk))
				}
				if err != nil && !errors.Is(err, io.EOF) {
					return nil, err
				}
				return nil, errLong{skipped}
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil, io.EOF
			}
			if rr.tail {
				return nil, errPartial
			}
			return line, nil
		}
		return nil, err
	}
}

// giveUp reports the first consumed line as a bad record and queues the
// others to be read again.
func (rr *recordReader) giveUp(consumed []pendingLine, first int) error {
	rr.pending = append(slices.Clone(consumed[1:]), rr.pending...)
	rr.off += int64(len(consumed[0].line))
	rr.line++
	return &tooLongError{line: first, size: rr.max}
}

// next returns the next non-blank record without its line end and the
// number of its first line, or io.EOF. A record that is too long (or
// whose quoted cell never closes) is a *tooLongError, already skipped.
func (rr *recordReader) next(quotes bool) ([]byte, int, error) {
	for {
		first := rr.line
		l, err := rr.readLine()
		if err != nil {
			var el errLong
			switch {
			case errors.As(err, &el):
				rr.off += el.skipped
				rr.line++
				return nil, first, &tooLongError{line: first, size: rr.max}
			case errors.Is(err, errPartial):
				return nil, first, io.EOF
			}
			return nil, first, err
		}
		rr.buf = append(rr.buf[:0], l...)
		consumed := []pendingLine{{line: l}}
		n := int64(len(l))
		lines := 1
		if quotes {
			for bytes.Count(rr.buf, []byte{'"'})%2 == 1 {
				if len(rr.buf) > rr.max || lines >= 10000 {
					// Never closed: report the first line, serve the rest again.
					return nil, first, rr.giveUp(consumed, first)
				}
				more, err := rr.readLine()
				var el errLong
				switch {
				case err == nil:
				case errors.As(err, &el):
					// A quoted cell does not run over a too-long line:
					// report the first line, serve the rest again.
					return nil, first, rr.giveUp(append(consumed, pendingLine{skipped: el.skipped}), first)
				case errors.Is(err, errPartial) || errors.Is(err, io.EOF) && rr.tail:
					// Wait for the rest of the record.
					rr.pending = append(consumed, rr.pending...)
					return nil, first, io.EOF
				case errors.Is(err, io.EOF):
					// An unterminated quote at the end: take what there is.
				default:
					return nil, first, err
				}
				if err != nil {
					break
				}
				consumed = append(consumed, pendingLine{line: more})
				rr.buf = append(rr.buf, more...)
				n += int64(len(more))
				lines++
			}
		}
		rr.off += n
		rr.line += lines
		rec := bytes.TrimRight(rr.buf, "\r\n")
		if len(rec) > rr.max {
			return nil, first, &tooLongError{line: first, size: rr.max}
		}
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		return rec, first, nil
	}
}

// Package report is Vigil's report document: a title, a period, and
// sections holding text, key figures, findings, tables and charts, rendered
// to PDF (charts drawn as vectors), self-contained HTML (charts as inline
// SVG, no external assets) and CSV.
//
// Feature packages build a Document and hand it to Render; they never deal
// with a format. Compliance packs, case reports and access reports all
// render through here, so they look alike and an auditor reads them alike.
//
//	doc := &report.Document{Title: "Access report", Period: report.Period{From: from, To: to}}
//	sec := doc.AddSection("summary", "Summary")
//	sec.Text("Every access to the record in the period.")
//	sec.Figures(report.Figure{Label: "Accesses", Value: "1,204"})
//	sec.Table(&report.Table{ID: "accesses", Columns: []report.Column{{Name: "When"}, {Name: "Who"}}, Rows: rows})
//	err := report.Render(w, doc, report.PDF)
package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Document is a report.
type Document struct {
	// Title is the report's name ("HIPAA Security Rule evidence").
	Title string
	// Subtitle is an optional second line (the organisation, the subject).
	Subtitle string
	// Period is the time the report covers; zero when it covers no period.
	Period Period
	// Generated is when the report was produced (default: now, at Render).
	Generated time.Time
	// Meta are labelled facts printed under the title: who generated it,
	// the filters, the Vigil instance.
	Meta []Fact
	// Notice is printed on every page (e.g. "Confidential: contains PHI").
	Notice string
	// Sections in order.
	Sections []*Section
	// Location is the time zone times are printed in (default UTC).
	Location *time.Location
}

// Period is a half-open time range [From, To).
type Period struct {
	From, To time.Time
}

// IsZero reports whether the period is unset.
func (p Period) IsZero() bool { return p.From.IsZero() && p.To.IsZero() }

// Fact is a label and a value.
type Fact struct {
	Label, Value string
}

// Section is a numbered part of a report.
type Section struct {
	// ID is stable and machine-readable ("164.312(b)", "timeline"); it
	// names the section in CSV output and HTML anchors.
	ID string
	// Title is shown as the heading.
	Title string
	// Ref is an optional citation shown beside the title
	// ("45 CFR 164.312(b) Audit controls").
	Ref string
	// Blocks are the contents in order.
	Blocks []Block
}

// Block is a piece of a section: *Paragraph, *FigureList, *Finding,
// *Table or *Chart.
type Block interface{ block() }

// Paragraph is text. Blank lines separate paragraphs.
type Paragraph struct{ Text string }

// FigureList is a row of key figures.
type FigureList struct{ Figures []Figure }

// Figure is one key figure: "Failed log-ons: 1,204".
type Figure struct {
	Label string
	Value string
	// Status colours the figure (default: none).
	Status Status
	// Note is a short explanation under the value.
	Note string
}

// Finding is a statement with a status: what a reviewer must look at.
type Finding struct {
	Status Status
	Text   string
}

// Status grades a figure or finding.
type Status int

// Statuses.
const (
	StatusNone Status = iota
	StatusOK
	StatusWarn
	StatusFail
	StatusInfo
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusWarn:
		return "attention"
	case StatusFail:
		return "failed"
	case StatusInfo:
		return "info"
	}
	return ""
}

// Table is rows of cells under named columns.
type Table struct {
	// ID is stable and machine-readable; RenderCSV can write one table
	// alone by its ID.
	ID      string
	Title   string
	Columns []Column
	Rows    [][]string
	// Total, when larger than len(Rows), says the rows shown are the first
	// of Total (the report prints how many were left out).
	Total int
	// Note is printed under the table.
	Note string
	// Empty is printed instead of an empty table (default "None in the period.").
	Empty string
}

// Column is a table column.
type Column struct {
	Name string
	// Align: AlignLeft (default) or AlignRight (numbers).
	Align Align
	// Weight is the column's share of the width relative to the others
	// (default: from the lengths of its contents).
	Weight float64
}

// Align is a column's alignment.
type Align int

// Alignments.
const (
	AlignLeft Align = iota
	AlignRight
)

// Chart is a chart drawn as vectors.
type Chart struct {
	Title string
	Kind  ChartKind
	// Labels name the categories (bar charts) or the x positions (line
	// charts), one per value of each series.
	Labels []string
	Series []Series
	// Unit is printed on the value axis ("events", "hours").
	Unit string
}

// ChartKind is the kind of chart.
type ChartKind int

// Chart kinds.
const (
	// Bars: one group of vertical bars per label, one bar per series.
	Bars ChartKind = iota
	// StackedBars: one bar per label, the series stacked.
	StackedBars
	// Lines: one line per series over the labels (a time axis).
	Lines
	// HBars: horizontal bars, one per label, first series only: a
	// ranking ("top users by failed log-ons").
	HBars
)

// Series is a named list of values, one per chart label.
type Series struct {
	Name   string
	Values []float64
}

func (*Paragraph) block()  {}
func (*FigureList) block() {}
func (*Finding) block()    {}
func (*Table) block()      {}
func (*Chart) block()      {}

// AddSection appends a section and returns it.
func (d *Document) AddSection(id, title string) *Section {
	s := &Section{ID: id, Title: title}
	d.Sections = append(d.Sections, s)
	return s
}

// Text appends a paragraph.
func (s *Section) Text(text string) *Section {
	s.Blocks = append(s.Blocks, &Paragraph{Text: text})
	return s
}

// Figures appends a row of key figures.
func (s *Section) Figures(fs ...Figure) *Section {
	s.Blocks = append(s.Blocks, &FigureList{Figures: fs})
	return s
}

// Find appends a finding.
func (s *Section) Find(st Status, text string) *Section {
	s.Blocks = append(s.Blocks, &Finding{Status: st, Text: text})
	return s
}

// Table appends a table.
func (s *Section) Table(t *Table) *Section {
	s.Blocks = append(s.Blocks, t)
	return s
}

// Chart appends a chart.
func (s *Section) Chart(c *Chart) *Section {
	s.Blocks = append(s.Blocks, c)
	return s
}

// Format is an output format.
type Format string

// Formats.
const (
	PDF  Format = "pdf"
	HTML Format = "html"
	CSV  Format = "csv"
)

// ParseFormat reads a format name ("pdf", "html", "csv").
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case PDF, HTML, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown report format %q (want pdf, html or csv)", s)
}

// ContentType is the MIME type of the format.
func (f Format) ContentType() string {
	switch f {
	case PDF:
		return "application/pdf"
	case HTML:
		return "text/html; charset=utf-8"
	case CSV:
		return "text/csv; charset=utf-8"
	}
	return "application/octet-stream"
}

// Ext is the file name extension of the format, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// Render writes the document in format f. CSV is the whole document in long
// form (see RenderCSV).
func Render(w io.Writer, d *Document, f Format) error {
	if err := d.Validate(); err != nil {
		return err
	}
	switch f {
	case PDF:
		return renderPDF(w, d.clean())
	case HTML:
		return renderHTML(w, d.clean())
	case CSV:
		return RenderCSV(w, d, "")
	}
	return fmt.Errorf("unknown report format %q", f)
}

// Limits that keep a rendering bounded whatever a caller passes in.
const (
	// MaxTableRows is the most rows a table may hold; callers keep the
	// first rows and set Total.
	MaxTableRows = 100_000
	// MaxChartPoints is the most labels a chart may have.
	MaxChartPoints = 2_000
	maxColumns     = 40
	maxSeries      = 12
)

// Validate checks the document's shape: series lengths match labels,
// rows have one cell per column, sizes are within limits.
func (d *Document) Validate() error {
	if d.Title == "" {
		return errors.New("report: document has no title")
	}
	if !d.Period.IsZero() && d.Period.To.Before(d.Period.From) {
		return fmt.Errorf("report: period ends (%s) before it starts (%s)", d.Period.To.Format(time.RFC3339), d.Period.From.Format(time.RFC3339))
	}
	for si, s := range d.Sections {
		where := func(bi int) string { return fmt.Sprintf("report: section %d (%q) block %d", si+1, s.ID, bi+1) }
		for bi, b := range s.Blocks {
			switch b := b.(type) {
			case *Table:
				if len(b.Columns) == 0 || len(b.Columns) > maxColumns {
					return fmt.Errorf("%s: table %q has %d columns (want 1 to %d)", where(bi), b.ID, len(b.Columns), maxColumns)
				}
				if len(b.Rows) > MaxTableRows {
					return fmt.Errorf("%s: table %q has %d rows (at most %d; keep the first and set Total)", where(bi), b.ID, len(b.Rows), MaxTableRows)
				}
				for ri, r := range b.Rows {
					if len(r) != len(b.Columns) {
						return fmt.Errorf("%s: table %q row %d has %d cells for %d columns", where(bi), b.ID, ri+1, len(r), len(b.Columns))
					}
				}
			case *Chart:
				if len(b.Labels) > MaxChartPoints {
					return fmt.Errorf("%s: chart %q has %d labels (at most %d)", where(bi), b.Title, len(b.Labels), MaxChartPoints)
				}
				if len(b.Series) == 0 || len(b.Series) > maxSeries {
					return fmt.Errorf("%s: chart %q has %d series (want 1 to %d)", where(bi), b.Title, len(b.Series), maxSeries)
				}
				for _, sr := range b.Series {
					if len(sr.Values) != len(b.Labels) {
						return fmt.Errorf("%s: chart %q series %q has %d values for %d labels", where(bi), b.Title, sr.Name, len(sr.Values), len(b.Labels))
					}
				}
			case *Paragraph, *FigureList, *Finding:
			case nil:
				return fmt.Errorf("%s: nil block", where(bi))
			default:
				return fmt.Errorf("%s: unknown block %T", where(bi), b)
			}
		}
	}
	return nil
}

// clean returns a copy of the document whose text is valid UTF-8 without
// control characters (newlines kept in paragraphs): whatever a log
// carried, it prints as text.
func (d *Document) clean() *Document {
	c := *d
	c.Title, c.Subtitle, c.Notice = cleanText(d.Title, false), cleanText(d.Subtitle, false), cleanText(d.Notice, false)
	c.Meta = make([]Fact, len(d.Meta))
	for i, m := range d.Meta {
		c.Meta[i] = Fact{cleanText(m.Label, false), cleanText(m.Value, false)}
	}
	c.Sections = make([]*Section, len(d.Sections))
	for i, s := range d.Sections {
		ns := &Section{ID: cleanText(s.ID, false), Title: cleanText(s.Title, false), Ref: cleanText(s.Ref, false), Blocks: make([]Block, len(s.Blocks))}
		for j, b := range s.Blocks {
			switch b := b.(type) {
			case *Paragraph:
				ns.Blocks[j] = &Paragraph{Text: cleanText(b.Text, true)}
			case *FigureList:
				fl := &FigureList{Figures: make([]Figure, len(b.Figures))}
				for k, f := range b.Figures {
					fl.Figures[k] = Figure{Label: cleanText(f.Label, false), Value: cleanText(f.Value, false), Status: f.Status, Note: cleanText(f.Note, false)}
				}
				ns.Blocks[j] = fl
			case *Finding:
				ns.Blocks[j] = &Finding{Status: b.Status, Text: cleanText(b.Text, true)}
			case *Table:
				t := *b
				t.ID, t.Title, t.Note, t.Empty = cleanText(b.ID, false), cleanText(b.Title, false), cleanText(b.Note, false), cleanText(b.Empty, false)
				t.Columns = make([]Column, len(b.Columns))
				for k, col := range b.Columns {
					col.Name = cleanText(col.Name, false)
					t.Columns[k] = col
				}
				t.Rows = make([][]string, len(b.Rows))
				for k, r := range b.Rows {
					nr := make([]string, len(r))
					for m, v := range r {
						nr[m] = cleanText(v, false)
					}
					t.Rows[k] = nr
				}
				ns.Blocks[j] = &t
			case *Chart:
				ch := *b
				ch.Title, ch.Unit = cleanText(b.Title, false), cleanText(b.Unit, false)
				ch.Labels = make([]string, len(b.Labels))
				for k, l := range b.Labels {
					ch.Labels[k] = cleanText(l, false)
				}
				ch.Series = make([]Series, len(b.Series))
				for k, sr := range b.Series {
					ch.Series[k] = Series{Name: cleanText(sr.Name, false), Values: sr.Values}
				}
				ns.Blocks[j] = &ch
			default:
				ns.Blocks[j] = b
			}
		}
		c.Sections[i] = ns
	}
	return &c
}

// cleanText makes s valid UTF-8 and replaces control characters (and
// bidirectional overrides, which could make text read differently than it
// is stored) with spaces; newlines stay when keepNewlines.
func cleanText(s string, keepNewlines bool) string {
	ok := utf8.ValidString(s)
	if ok {
		for _, r := range s {
			if unicode.IsControl(r) || isBidiControl(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && keepNewlines:
			return r
		case unicode.IsControl(r), isBidiControl(r):
			return ' '
		}
		return r
	}, s)
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}

// loc is the document's time zone.
func (d *Document) loc() *time.Location {
	if d.Location != nil {
		return d.Location
	}
	return time.UTC
}

// generated is the generation time, fixed once per rendering.
func (d *Document) generated() time.Time {
	if d.Generated.IsZero() {
		return time.Now()
	}
	return d.Generated
}

// PeriodText prints the period ("2026-11-01 00:00 – 2026-12-01 00:00 UTC").
func (d *Document) PeriodText() string {
	if d.Period.IsZero() {
		return ""
	}
	const layout = "2006-01-02 15:04"
	l := d.loc()
	from, to := "the beginning", "now"
	if !d.Period.From.IsZero() {
		from = d.Period.From.In(l).Format(layout)
	}
	if !d.Period.To.IsZero() {
		to = d.Period.To.In(l).Format(layout)
	}
	return from + " – " + to + " " + zoneName(d.Period.To.In(l))
}

func zoneName(t time.Time) string {
	name, _ := t.Zone()
	return name
}

// tableNote is what a table says when rows were left out.
func tableNote(t *Table) string {
	var parts []string
	if t.Total > len(t.Rows) {
		parts = append(parts, fmt.Sprintf("Showing the first %s of %s rows.", Count(len(t.Rows)), Count(t.Total)))
	}
	if t.Note != "" {
		parts = append(parts, t.Note)
	}
	return strings.Join(parts, " ")
}

func emptyText(t *Table) string {
	if t.Empty != "" {
		return t.Empty
	}
	return "None in the period."
}

// Count prints an integer with thousands separators ("12,345").
func Count[T ~int | ~int64 | ~uint64 | ~int32 | ~uint32](n T) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-int64(n))
	}
	s := fmt.Sprint(u)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Percent prints part/whole as a percentage with one decimal ("12.5%"), or
// "–" when whole is zero.
func Percent(part, whole float64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*part/whole)
}

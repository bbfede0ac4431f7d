package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// RenderCSV writes the document as CSV.
//
// With table empty, the whole document in long form, one value per line
// under the header
//
//	section,section_title,kind,name,row,column,value
//
// where kind is meta, text, figure, finding, table or chart: a table cell
// is (table ID, row number, column name, cell), a chart point is (chart
// title, label, series name, value), a figure is (label, "", "value" or
// "status", text). Every value of a report is there, in a shape a
// spreadsheet pivots.
//
// With a table ID, that table alone: its column names, then its rows.
//
// Cells that a spreadsheet would run as a formula (starting with =, +, -,
// @, tab or carriage return, and not a number) are prefixed with a single
// quote: a logged value must never execute on an auditor's machine.
func RenderCSV(w io.Writer, d *Document, table string) error {
	if err := d.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	write := func(rec ...string) {
		for i := range rec {
			rec[i] = SafeCell(rec[i])
		}
		_ = cw.Write(rec)
	}
	if table != "" {
		t := d.FindTable(table)
		if t == nil {
			return fmt.Errorf("report has no table %q", table)
		}
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		write(names...)
		for _, r := range t.Rows {
			write(append([]string(nil), r...)...)
		}
		cw.Flush()
		return cw.Error()
	}
	write("section", "section_title", "kind", "name", "row", "column", "value")
	write("", "", "meta", "title", "", "", d.Title)
	if d.Subtitle != "" {
		write("", "", "meta", "subtitle", "", "", d.Subtitle)
	}
	if !d.Period.From.IsZero() {
		write("", "", "meta", "period_from", "", "", d.Period.From.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if !d.Period.To.IsZero() {
		write("", "", "meta", "period_to", "", "", d.Period.To.UTC().Format("2006-01-02T15:04:05Z"))
	}
	write("", "", "meta", "generated", "", "", d.generated().UTC().Format("2006-01-02T15:04:05Z"))
	for _, m := range d.Meta {
		write("", "", "meta", m.Label, "", "", m.Value)
	}
	for _, s := range d.Sections {
		text := 0
		for _, b := range s.Blocks {
			switch b := b.(type) {
			case *Paragraph:
				text++
				write(s.ID, s.Title, "text", "", strconv.Itoa(text), "", b.Text)
			case *FigureList:
				for _, f := range b.Figures {
					write(s.ID, s.Title, "figure", f.Label, "", "value", f.Value)
					if f.Status != StatusNone {
						write(s.ID, s.Title, "figure", f.Label, "", "status", f.Status.String())
					}
					if f.Note != "" {
						write(s.ID, s.Title, "figure", f.Label, "", "note", f.Note)
					}
				}
			case *Finding:
				write(s.ID, s.Title, "finding", b.Status.String(), "", "", b.Text)
			case *Table:
				name := b.ID
				if name == "" {
					name = b.Title
				}
				for ri, r := range b.Rows {
					for ci, v := range r {
						write(s.ID, s.Title, "table", name, strconv.Itoa(ri+1), b.Columns[ci].Name, v)
					}
				}
				if b.Total > len(b.Rows) {
					write(s.ID, s.Title, "table", name, "", "total_rows", strconv.Itoa(b.Total))
				}
			case *Chart:
				for _, sr := range b.Series {
					for i, l := range b.Labels {
						write(s.ID, s.Title, "chart", b.Title, l, sr.Name, strconv.FormatFloat(sr.Values[i], 'f', -1, 64))
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// FindTable returns the table with the given ID, or nil.
func (d *Document) FindTable(id string) *Table {
	for _, s := range d.Sections {
		for _, b := range s.Blocks {
			if t, ok := b.(*Table); ok && t.ID == id {
				return t
			}
		}
	}
	return nil
}

// SafeCell neutralises a cell a spreadsheet would evaluate as a formula.
func SafeCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return v
		}
		return "'" + v
	}
	return v
}

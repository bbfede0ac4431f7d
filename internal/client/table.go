package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DefaultColumns are the columns vigil search prints.
var DefaultColumns = []string{"@timestamp", "host.name", "event.module", "message"}

// Table prints events as aligned columns, the last column taking the rest
// of width.
type Table struct {
	w       io.Writer
	columns []string
	width   int
	rows    [][]string
}

// NewTable returns a table of the given columns for a terminal width.
func NewTable(w io.Writer, columns []string, width int) *Table {
	if width <= 0 {
		width = 160
	}
	return &Table{w: w, columns: columns, width: width}
}

// Add adds one event (a flat JSON object).
func (t *Table) Add(line []byte) error {
	var m map[string]string
	if err := json.Unmarshal(line, &m); err != nil {
		return fmt.Errorf("bad result line: %w", err)
	}
	row := make([]string, len(t.columns))
	for i, c := range t.columns {
		v := m[c]
		if c == "message" && v == "" {
			v = m["event.original"]
		}
		row[i] = strings.Join(strings.Fields(v), " ") // one line per event
	}
	t.rows = append(t.rows, row)
	return nil
}

// Flush prints the table.
func (t *Table) Flush() {
	widths := make([]int, len(t.columns))
	for i, c := range t.columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.rows {
		for i, v := range r[:len(r)-1] {
			widths[i] = min(max(widths[i], utf8.RuneCountInString(v)), 40)
		}
	}
	used := 0
	for _, w := range widths[:len(widths)-1] {
		used += w + 2
	}
	widths[len(widths)-1] = max(t.width-used, 20)
	print := func(r []string) {
		var b strings.Builder
		for i, v := range r {
			v = clip(v, widths[i])
			b.WriteString(v)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)+2))
			}
		}
		fmt.Fprintln(t.w, strings.TrimRight(b.String(), " "))
	}
	header := make([]string, len(t.columns))
	for i, c := range t.columns {
		header[i] = strings.ToUpper(c)
	}
	print(header)
	for _, r := range t.rows {
		print(r)
	}
	t.rows = nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/event"
)

// Limits of the export API.
const (
	defaultExportLimit = 10_000
	maxExportLimit     = 1_000_000
)

// DefaultExportColumns are the CSV columns when the request names none.
var DefaultExportColumns = []string{"@timestamp", "host.name", "event.dataset", "message"}

// ExportDone, when set, is told about every export once it ended: who
// exported what is audit evidence.
type ExportDone func(r *http.Request, info ExportInfo)

// ExportInfo describes one export.
type ExportInfo struct {
	Query      string
	Start, End time.Time
	Format     string
	Rows       int
	Err        error
}

// export streams matching events as a file to download:
//
//	GET /api/v1/export?q=&start=&end=&format=csv|ndjson&fields=a,b&limit=N
//
// CSV has one column per field named in fields (default
// DefaultExportColumns); NDJSON has every field. Newest first, at most
// limit rows (default 10,000, at most 1,000,000).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	req, err := s.request(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	format := r.FormValue("format")
	if format == "" {
		format = "ndjson"
	}
	if format != "csv" && format != "ndjson" {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("format: want csv or ndjson, got %q", format))
		return
	}
	req.Limit = defaultExportLimit
	if l := r.FormValue("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxExportLimit {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("limit: want a number from 1 to %d", maxExportLimit))
			return
		}
		req.Limit = n
	}
	cols := DefaultExportColumns
	if f := strings.TrimSpace(r.FormValue("fields")); f != "" {
		cols = nil
		for _, c := range strings.Split(f, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
	}
	info := ExportInfo{Query: req.Query, Start: req.Start, End: req.End, Format: format}
	p := access.PrincipalFrom(r.Context())
	masked := false
	defer func() {
		s.recordExport(r, info, masked)
		if s.ExportDone != nil {
			s.ExportDone(r, info)
		}
	}()
	name := "vigil-export-" + s.Now().UTC().Format("20060102-150405") + "." + format
	started := false
	start := func() {
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		started = true
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if format == "csv" {
		cw.Write(cols)
	}
	idx := make(map[string]int, len(cols))
	for i, c := range cols {
		idx[c] = i
	}
	rec := make([]string, len(cols))
	var line []byte
	err = s.Store.Search(r.Context(), req, func(row []event.Field) error {
		if !started {
			start()
		}
		info.Rows++
		if s.Mask.Fields(p, row) {
			masked = true
		}
		if format == "csv" {
			clear(rec)
			for _, f := range row {
				if i, ok := idx[f.Name]; ok {
					rec[i] = csvSafe(f.Value)
				}
			}
			cw.Write(rec)
			cw.Flush()
		} else {
			line = appendRow(line[:0], row)
			buf.Write(line)
		}
		if buf.Len() > 32<<10 {
			_, err := w.Write(buf.Bytes())
			buf.Reset()
			return err
		}
		return nil
	})
	if err != nil && !started {
		info.Err = err
		s.queryFailed(w, err, req.Query)
		return
	}
	if !started {
		start()
	}
	cw.Flush()
	if err != nil {
		// Too late for a status: say so in the file itself.
		info.Err = err
		if format == "csv" {
			cw.Write([]string{"# export incomplete: " + err.Error()})
			cw.Flush()
		} else {
			buf.WriteString(`{"error":`)
			buf.Write(event.AppendJSONString(nil, err.Error()))
			buf.WriteString("}\n")
		}
	}
	w.Write(buf.Bytes())
}

// csvSafe keeps a spreadsheet from running a value as a formula (CSV
// injection): values starting with = + - @ tab or CR get a leading quote.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// appendRow appends a row as one JSON object and a newline.
func appendRow(buf []byte, row []event.Field) []byte {
	buf = append(buf, '{')
	for i, f := range row {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = event.AppendJSONString(buf, f.Name)
		buf = append(buf, ':')
		buf = event.AppendJSONString(buf, f.Value)
	}
	return append(buf, '}', '\n')
}

// recordExport writes the audit record of an export: its query, range,
// format, row count and whether PHI was masked.
func (s *Server) recordExport(r *http.Request, info ExportInfo, masked bool) {
	if s.Audit == nil {
		return
	}
	d := map[string]any{"query": info.Query, "start": info.Start.UTC().Format(time.RFC3339Nano),
		"end": info.End.UTC().Format(time.RFC3339Nano), "format": info.Format, "result_count": info.Rows}
	if masked {
		d["phi_masked"] = true
	}
	outcome := audit.Success
	if info.Err != nil {
		outcome, d["error"] = audit.Failure, info.Err.Error()
	}
	if err := s.Audit.Record(r.Context(), audit.Entry{Action: "events.export", Outcome: outcome, Details: d}); err != nil {
		s.Log.Error("audit record failed", "action", "events.export", "err", err)
	}
}

package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
)

// Handler serves the audit trail:
//
//	GET /api/v1/audit?since=&until=&actor=&action=&outcome=&target=&limit=&before_seq=&after_seq=&order=&format=json|ndjson|csv
//	GET /api/v1/audit/verify?seq=&hash=
//
// JSON answers {"records": [...], "next_before_seq": N} newest first
// (order=asc: oldest first, paging with after_seq); ndjson and csv stream
// every matching record oldest first, for export. Reading the trail is
// itself recorded (audit.read, audit.export, audit.verify).
type Handler struct {
	Trail *Trail
	// ParseTime reads since/until (RFC 3339 or relative like -24h).
	ParseTime func(s string, now time.Time) (time.Time, error)
}

// Routes returns the trail's routes; both need audit:read.
func (h *Handler) Routes() []access.Route {
	return []access.Route{
		access.Handle("GET /api/v1/audit", access.AuditRead, h.list),
		access.Handle("GET /api/v1/audit/verify", access.AuditRead, h.verify),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// maxJSONLimit bounds one page of the JSON answer.
const maxJSONLimit = 10000

func (h *Handler) filter(r *http.Request) (Filter, string, error) {
	q := r.URL.Query()
	f := Filter{Actor: q.Get("actor"), Action: q.Get("action"), Outcome: q.Get("outcome"), Target: q.Get("target")}
	now := time.Now()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := h.ParseTime(v, now)
			if err != nil {
				return f, "", fmt.Errorf("%s: %w", p.name, err)
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"after_seq", &f.AfterSeq}, {"before_seq", &f.BeforeSeq}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, "", fmt.Errorf("%s: want a record number", p.name)
			}
			*p.dst = n
		}
	}
	format := q.Get("format")
	switch format {
	case "", "json":
		format = "json"
		f.Limit = 1000
		f.Descending = true
	case "ndjson", "csv":
	default:
		return f, "", fmt.Errorf("format %q: want json, ndjson or csv", format)
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		f.Descending = false
	default:
		return f, "", fmt.Errorf("order: want asc or desc")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (format == "json" && n > maxJSONLimit) {
			return f, "", fmt.Errorf("limit: want a number from 1 to %d", maxJSONLimit)
		}
		f.Limit = n
	}
	if o := f.Outcome; o != "" && o != Success && o != Failure && o != Denied {
		return f, "", fmt.Errorf("outcome %q: want success, failure or denied", o)
	}
	return f, format, nil
}

func (f Filter) details() map[string]any {
	d := map[string]any{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "outcome": f.Outcome, "target": f.Target} {
		if v != "" {
			d[k] = v
		}
	}
	if !f.Since.IsZero() {
		d["since"] = f.Since.UTC().Format(time.RFC3339)
	}
	if !f.Until.IsZero() {
		d["until"] = f.Until.UTC().Format(time.RFC3339)
	}
	return d
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	f, format, err := h.filter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	d := f.details()
	d["format"] = format
	if format == "json" {
		recs, err := h.Trail.List(r.Context(), f)
		if err != nil {
			fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		d["result_count"] = len(recs)
		if err := h.Trail.Record(r.Context(), Entry{Action: "audit.read", Details: d}); err != nil {
			fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		out := map[string]any{"records": recs}
		if len(recs) > 0 && len(recs) == f.Limit {
			if f.Descending {
				out["next_before_seq"] = recs[len(recs)-1].Seq
			} else {
				out["next_after_seq"] = recs[len(recs)-1].Seq
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	// Exports are recorded before they start: a cut stream is still on record.
	if err := h.Trail.Record(r.Context(), Entry{Action: "audit.export", Details: d}); err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	var write func(Record) error
	if format == "ndjson" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="vigil-audit.ndjson"`)
		enc := json.NewEncoder(bw)
		write = func(rec Record) error { return enc.Encode(rec) }
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="vigil-audit.csv"`)
		cw := csv.NewWriter(bw)
		_ = cw.Write(CSVHeader)
		write = func(rec Record) error {
			if err := cw.Write(rec.CSV()); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		}
	}
	w.WriteHeader(http.StatusOK)
	if err := h.Trail.Each(r.Context(), f, write); err != nil {
		// Too late for a status: the export ends with a line saying so.
		fmt.Fprintf(bw, "\n# export failed: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	_ = bw.Flush()
}

// CSVHeader names the CSV export's columns.
var CSVHeader = []string{"seq", "time", "actor", "actor_kind", "actor_id", "roles", "client_addr", "action", "target", "outcome", "details", "prev_hash", "hash"}

// CSV is the record as a CSV row (columns of CSVHeader). Cells that a
// spreadsheet would run as a formula are prefixed with a quote.
func (r Record) CSV() []string {
	return []string{
		strconv.FormatInt(r.Seq, 10), r.Time.Format(time.RFC3339Nano), safeCell(r.Actor), r.ActorKind,
		strconv.FormatInt(r.ActorID, 10), strings.Join(r.Roles, " "), safeCell(r.ClientAddr), safeCell(r.Action),
		safeCell(r.Target), r.Outcome, safeCell(string(r.Details)), r.PrevHash, r.Hash,
	}
}

// safeCell defuses spreadsheet formula injection (OWASP CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var seq int64
	if v := q.Get("seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			fail(w, http.StatusBadRequest, "seq: want a record number")
			return
		}
		seq = n
	}
	v, err := h.Trail.Verify(r.Context(), seq, q.Get("hash"))
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	outcome := Success
	if !v.OK {
		outcome = Failure
	}
	_ = h.Trail.Record(r.Context(), Entry{Action: "audit.verify", Outcome: outcome,
		Details: map[string]any{"records": v.Records, "last_seq": v.LastSeq, "broken_at": v.BrokenAt}})
	writeJSON(w, http.StatusOK, v)
}

package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/audit"
)

// API serves the directory over HTTP: reads of patients, encounters and
// the workforce, and the workforce import. The server's access middleware
// authenticates; every read is recorded in the audit trail (who looked
// up which patient or worker), and patients' PHI is masked for callers
// without the phi permission, who may reveal one patient at a time with a
// stated reason. Requests and answers hold PHI; nothing of them is logged.
type API struct {
	Store *Store
	Log   *slog.Logger
	// MaxImportBytes bounds a roster upload (default 64 MiB).
	MaxImportBytes int64
	// Audit records reads, imports and reveals.
	Audit audit.Recorder
	// Mask hides PHI (nil: access.DefaultPHIFields).
	Mask *access.Masker
}

// Routes returns the API's routes with their permissions.
func (a *API) Routes() []access.Route {
	if a.Mask == nil {
		a.Mask, _ = access.NewMasker(nil)
	}
	return []access.Route{
		access.Handle("GET /api/v1/patients", access.DirectoryRead, a.patients),
		access.Handle("GET /api/v1/patients/{id}", access.DirectoryRead, a.patient),
		access.Handle("POST /api/v1/patients/{id}/reveal", access.PHIReveal, a.reveal),
		access.Handle("GET /api/v1/encounters", access.DirectoryRead, a.encounters),
		access.Handle("GET /api/v1/workforce", access.DirectoryRead, a.workforce),
		access.Handle("GET /api/v1/workforce/{id}", access.DirectoryRead, a.worker),
		access.Handle("POST /api/v1/workforce/import", access.DirectoryWrite, a.importWorkforce),
	}
}

// record writes an audit record; a read that cannot be recorded is not
// answered.
func (a *API) record(w http.ResponseWriter, r *http.Request, e audit.Entry) bool {
	if a.Audit == nil {
		return true
	}
	if err := a.Audit.Record(r.Context(), e); err != nil {
		writeError(w, http.StatusInternalServerError, "the read could not be recorded in the audit trail, so it is refused: "+err.Error())
		return false
	}
	return true
}

// masked returns v as JSON with PHI masked for the caller (prefix names
// its fields: "patient", "encounter").
func (a *API) masked(r *http.Request, prefix string, v any) (any, error) {
	p := access.PrincipalFrom(r.Context())
	if access.Sees(p) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m, _ = a.Mask.JSON(p, prefix, m)
	return m, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	if a.Log != nil {
		// Directory errors carry no PHI (see the package doc).
		a.Log.Error("directory request failed", "route", r.Pattern, "err", err) // the path may name a patient
	}
	writeError(w, http.StatusInternalServerError, "directory error: "+err.Error())
}

func limitParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("limit %q is not a count", v)
	}
	return n, nil
}

func (a *API) patients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ps, err := a.Store.SearchPatients(r.Context(), PatientQuery{
		Q: q.Get("q"), Identifier: q.Get("identifier"), IncludeMerged: q.Get("include_merged") == "true", Limit: limit,
	})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	ids := make([]int64, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if !a.record(w, r, audit.Entry{Action: "patient.search", Details: map[string]any{"q": q.Get("q"), "identifier": q.Get("identifier"),
		"result_count": len(ps), "patient_ids": ids}}) {
		return
	}
	out, err := a.masked(r, "patient", ps)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"patients": out, "count": len(ps)})
}

func (a *API) patient(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "patient id must be the number the patient list gives; find a patient by identifier with GET /api/v1/patients?identifier=VALUE")
		return
	}
	p, err := a.Store.Patient(r.Context(), id)
	outcome := audit.Success
	if err != nil {
		outcome = audit.Failure
	}
	if !a.record(w, r, audit.Entry{Action: "patient.read", Target: strconv.FormatInt(id, 10), Outcome: outcome}) {
		return
	}
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no patient %d", id))
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out, err := a.masked(r, "patient", p)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// reveal answers one patient unmasked to a caller with phi:reveal who
// states a reason: POST /api/v1/patients/{id}/reveal {"reason": "..."}.
func (a *API) reveal(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "patient id must be the number the patient list gives")
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `body: want {"reason": "why this patient's PHI is needed"}: `+err.Error())
		return
	}
	body.Reason = strings.TrimSpace(body.Reason)
	if len(body.Reason) < 8 || len(body.Reason) > 500 {
		writeError(w, http.StatusBadRequest, "reason: say in 8 to 500 characters why this patient's PHI is needed")
		return
	}
	p, err := a.Store.Patient(r.Context(), id)
	e := audit.Entry{Action: "phi.reveal", Target: "patient:" + strconv.FormatInt(id, 10), Details: map[string]any{"reason": body.Reason}}
	if err != nil {
		e.Outcome = audit.Failure
	}
	if !a.record(w, r, e) {
		return
	}
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no patient %d", id))
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) encounters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	eq := EncounterQuery{Identifier: q.Get("identifier"), Provider: q.Get("provider"), Status: q.Get("status"), Limit: limit}
	if v := q.Get("patient"); v != "" {
		if eq.PatientID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, "patient must be a patient id (a number); select by identifier with ?identifier=VALUE")
			return
		}
	}
	if eq.PatientID == 0 && eq.Identifier == "" && eq.Provider == "" {
		writeError(w, http.StatusBadRequest, "give patient=ID, identifier=VALUE or provider=ID")
		return
	}
	es, err := a.Store.Encounters(r.Context(), eq)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if !a.record(w, r, audit.Entry{Action: "encounter.read", Details: map[string]any{"patient": eq.PatientID, "identifier": eq.Identifier,
		"provider": eq.Provider, "status": eq.Status, "result_count": len(es)}}) {
		return
	}
	out, err := a.masked(r, "encounter", es)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"encounters": out, "count": len(es)})
}

func (a *API) workforce(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ws, err := a.Store.Workers(r.Context(), WorkerQuery{Q: q.Get("q"), Department: q.Get("department"), Limit: limit})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if !a.record(w, r, audit.Entry{Action: "workforce.search", Details: map[string]any{"q": q.Get("q"), "department": q.Get("department"),
		"result_count": len(ws)}}) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"workforce": ws, "count": len(ws)})
}

func (a *API) worker(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	wk, err := a.Store.Worker(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		wk, err = a.Store.WorkerByEHRUser(r.Context(), id)
	}
	e := audit.Entry{Action: "worker.read", Target: id}
	if err != nil {
		e.Outcome = audit.Failure
	}
	if !a.record(w, r, e) {
		return
	}
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no worker with this employee id or EHR user id")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wk)
}

// importRequest is the JSON form of an import: the CSV text and how to
// read it.
type importRequest struct {
	CSV       string          `json:"csv"`
	Preset    string          `json:"preset"`
	Mapping   json.RawMessage `json:"mapping"`
	Delimiter string          `json:"delimiter"`
	DayFirst  bool            `json:"day_first"`
}

func delimiterParam(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case ",", "comma":
		return ',', nil
	case "\t", "tab", `\t`:
		return '\t', nil
	case ";", "semicolon":
		return ';', nil
	case "|", "pipe":
		return '|', nil
	}
	return 0, fmt.Errorf("delimiter %q: want comma, tab, semicolon or pipe", s)
}

// importWorkforce: POST a CSV body (text/csv) with ?preset=NAME,
// ?mapping={"field":"Header",…} or ?map.FIELD=Header, ?delimiter= and
// ?date_order=dmy; or a JSON body {"csv": "...", "preset", "mapping",
// "delimiter", "day_first"}.
func (a *API) importWorkforce(w http.ResponseWriter, r *http.Request) {
	max := a.MaxImportBytes
	if max <= 0 {
		max = 64 << 20
	}
	body := http.MaxBytesReader(w, r.Body, max)
	q := r.URL.Query()
	var opt ImportOptions
	req := importRequest{Preset: q.Get("preset"), Delimiter: q.Get("delimiter"), DayFirst: strings.EqualFold(q.Get("date_order"), "dmy")}
	if m := q.Get("mapping"); m != "" {
		req.Mapping = json.RawMessage(m)
	}
	var csvBody io.Reader = body
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			writeError(w, bodyStatus(err), "reading JSON body: "+err.Error())
			return
		}
		csvBody = strings.NewReader(req.CSV)
	}
	var err error
	if opt.Delimiter, err = delimiterParam(req.Delimiter); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	opt.DayFirst = req.DayFirst
	switch {
	case len(req.Mapping) > 0:
		if opt.Mapping, err = ParseWorkforceMapping(req.Mapping); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		opt.Explicit = true
	case req.Preset != "":
		if opt.Mapping, err = WorkforcePreset(req.Preset); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	for k, v := range q {
		field, ok := strings.CutPrefix(k, "map.")
		if !ok {
			continue
		}
		if opt.Mapping == nil || !opt.Explicit {
			base := opt.Mapping
			if base == nil {
				base = workforcePresets["default"]
			}
			opt.Mapping = WorkforceMapping{}
			for f, h := range base {
				opt.Mapping[f] = h
			}
		}
		if !containsString(WorkforceFields, field) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("map.%s: unknown field; fields are %s", field, strings.Join(WorkforceFields, ", ")))
			return
		}
		opt.Mapping[field] = v
	}
	start := time.Now()
	res, err := a.Store.ImportWorkforce(r.Context(), csvBody, opt)
	e := audit.Entry{Action: "workforce.import"}
	if err != nil {
		e.Outcome, e.Details = audit.Failure, map[string]any{"error": err.Error()}
	} else {
		e.Details = map[string]any{"rows": res.Rows, "created": res.Created, "updated": res.Updated, "errors": res.ErrorTotal}
	}
	if !a.record(w, r, e) {
		return
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("roster exceeds %d bytes", max))
			return
		}
		if strings.HasPrefix(err.Error(), "directory:") {
			a.internal(w, r, err)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if a.Log != nil {
		a.Log.Info("workforce imported", "rows", res.Rows, "created", res.Created, "updated", res.Updated,
			"unchanged", res.Unchanged, "errors", res.ErrorTotal, "duration_ms", time.Since(start).Milliseconds())
	}
	status := http.StatusOK
	if res.Rows > 0 && res.ErrorTotal == res.Rows {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, res)
}

func bodyStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

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
)

// API serves the directory over HTTP: reads of patients, encounters and
// the workforce, and the workforce import. It does no authentication:
// mount it behind the API's bearer token. Requests and answers hold PHI;
// nothing of them is logged.
type API struct {
	Store *Store
	Log   *slog.Logger
	// MaxImportBytes bounds a roster upload (default 64 MiB).
	MaxImportBytes int64
}

// Routes returns the API's handlers by ServeMux pattern, for mounting
// under the authenticated /api/ prefix (web.Server.Handlers).
func (a *API) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/patients":          http.HandlerFunc(a.patients),
		"GET /api/v1/patients/{id}":     http.HandlerFunc(a.patient),
		"GET /api/v1/encounters":        http.HandlerFunc(a.encounters),
		"GET /api/v1/workforce":         http.HandlerFunc(a.workforce),
		"GET /api/v1/workforce/{id}":    http.HandlerFunc(a.worker),
		"POST /api/v1/workforce/import": http.HandlerFunc(a.importWorkforce),
	}
}

// Handler returns one handler serving every route.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for p, h := range a.Routes() {
		mux.Handle(p, h)
	}
	return mux
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
		a.Log.Error("directory request failed", "path", r.URL.Path, "err", err)
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
	writeJSON(w, http.StatusOK, map[string]any{"patients": ps, "count": len(ps)})
}

func (a *API) patient(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "patient id must be the number the patient list gives; find a patient by identifier with GET /api/v1/patients?identifier=VALUE")
		return
	}
	p, err := a.Store.Patient(r.Context(), id)
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
	writeJSON(w, http.StatusOK, map[string]any{"encounters": es, "count": len(es)})
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
	writeJSON(w, http.StatusOK, map[string]any{"workforce": ws, "count": len(ws)})
}

func (a *API) worker(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	wk, err := a.Store.Worker(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		wk, err = a.Store.WorkerByEHRUser(r.Context(), id)
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

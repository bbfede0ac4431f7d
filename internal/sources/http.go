package sources

import (
	"encoding/json"
	"net/http"
	"path"
	"strconv"

	"github.com/vigil-siem/vigil/internal/access"
)

// Handler serves the sources API (the caller authenticates):
//
//	GET /api/v1/sources?silent=true|false&host=<glob>&dataset=<glob>&limit=N
//
// It answers {"sources":[…], "total": matching, "tracked": all,
// "evicted": dropped because the tracker was full}.
type Handler struct {
	Tracker *Tracker
}

// Routes returns the handler's route (permission sources:read).
func (h *Handler) Routes() []access.Route {
	return []access.Route{{Pattern: "GET /api/v1/sources", Perm: access.SourcesRead, Handler: h}}
}

type listResponse struct {
	Sources []Source `json:"sources"`
	Total   int      `json:"total"`
	Tracked int      `json:"tracked"`
	Evicted int64    `json:"evicted"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Host: q.Get("host"), Dataset: q.Get("dataset"), Limit: 1000}
	if v := q.Get("silent"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail(w, "silent: want true or false, got "+strconv.Quote(v))
			return
		}
		f.Silent = &b
	}
	for name, g := range map[string]string{"host": f.Host, "dataset": f.Dataset} {
		if _, err := path.Match(g, ""); err != nil {
			fail(w, name+": bad glob "+strconv.Quote(g)+": use *, ? and [a-z]")
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 100000 {
			fail(w, "limit: want a number from 1 to 100000, got "+strconv.Quote(v))
			return
		}
		f.Limit = n
	}
	list, total := h.Tracker.List(f)
	if list == nil {
		list = []Source{}
	}
	tracked, evicted := h.Tracker.Stats()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(listResponse{Sources: list, Total: total, Tracked: tracked, Evicted: evicted})
}

func fail(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

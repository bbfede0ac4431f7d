package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/vigil-siem/vigil/internal/console"
	"github.com/vigil-siem/vigil/internal/dashboards"
	"github.com/vigil-siem/vigil/internal/searches"
	"github.com/vigil-siem/vigil/internal/sysinfo"
)

// consoleFront is the web console, answering browsers at / beside the
// Elasticsearch-compatible API.
func (s *Server) consoleFront() (func(http.Handler) http.Handler, error) {
	var exclude []string
	if p := strings.TrimRight(s.cfg.Elastic.Prefix, "/"); p != "" {
		exclude = append(exclude, p+"/")
	}
	ui, err := console.New(console.Options{Exclude: exclude})
	if err != nil {
		return nil, err
	}
	return ui.Wrap, nil
}

// consoleRoutes are the APIs the console saves its things through: saved
// searches and dashboards, kept in the control-plane database.
func (s *Server) consoleRoutes(ctx context.Context) (map[string]http.Handler, error) {
	ss, err := searches.Open(ctx, s.db)
	if err != nil {
		return nil, err
	}
	ds, err := dashboards.Open(ctx, s.db)
	if err != nil {
		return nil, err
	}
	// One token does everything until accounts exist: it owns what it
	// saves and may delete anything.
	user := func(*http.Request) string { return "" }
	admin := func(*http.Request) bool { return true }
	routes := map[string]http.Handler{}
	for _, rs := range []map[string]http.Handler{
		(&searches.Handler{Store: ss, User: user, Admin: admin}).Routes(),
		(&dashboards.Handler{Store: ds, User: user, Admin: admin}).Routes(),
	} {
		for p, h := range rs {
			routes[p] = h
		}
	}
	sys := &sysinfo.Handler{Source: &sysinfo.Source{Config: s.cfg, Gatherer: s.registry}}
	routes["GET /api/v1/system"] = http.HandlerFunc(sys.System)
	routes["GET /api/v1/config"] = http.HandlerFunc(sys.Config)
	return routes, nil
}

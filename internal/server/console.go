package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/vigil-siem/vigil/internal/access"
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
// searches and dashboards, kept in the control-plane database, owned by
// the user (or token) that saved them; an administrator may delete any.
// They need events:search, like the searches they hold.
func (s *Server) consoleRoutes(ctx context.Context) ([]access.Route, error) {
	ss, err := searches.Open(ctx, s.db)
	if err != nil {
		return nil, err
	}
	ds, err := dashboards.Open(ctx, s.db)
	if err != nil {
		return nil, err
	}
	user := func(r *http.Request) string { return access.PrincipalFrom(r.Context()).String() }
	admin := func(r *http.Request) bool { return access.PrincipalFrom(r.Context()).Can(access.UsersAdmin) }
	var routes []access.Route
	for _, rs := range []map[string]http.Handler{
		(&searches.Handler{Store: ss, User: user, Admin: admin}).Routes(),
		(&dashboards.Handler{Store: ds, User: user, Admin: admin}).Routes(),
	} {
		for p, h := range rs {
			routes = append(routes, access.Route{Pattern: p, Perm: access.EventsSearch, Handler: h})
		}
	}
	sys := &sysinfo.Handler{Source: &sysinfo.Source{Config: s.cfg, Gatherer: s.registry}}
	routes = append(routes, access.Handle("GET /api/v1/system", access.SystemRead, sys.System),
		access.Handle("GET /api/v1/config", access.ConfigRead, sys.Config))
	return routes, nil
}

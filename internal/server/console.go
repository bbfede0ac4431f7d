package server

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/console"
	"github.com/vigil-siem/vigil/internal/dashboards"
	"github.com/vigil-siem/vigil/internal/searches"
	"github.com/vigil-siem/vigil/internal/sysinfo"
	"github.com/vigil-siem/vigil/internal/web"
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
	// Sizes and free space are those of the working (plaintext) data dir.
	sysCfg := *s.cfg
	sysCfg.DataDir = s.dataDir
	sys := &sysinfo.Handler{Source: &sysinfo.Source{Config: &sysCfg, Gatherer: s.registry}}
	routes = append(routes, access.Handle("GET /api/v1/system", access.SystemRead, sys.System),
		access.Handle("GET /api/v1/config", access.ConfigRead, sys.Config),
		access.Handle("GET /api/v1/roles", access.Authenticated, s.roles))
	return routes, nil
}

// roleInfo is one role of GET /api/v1/roles.
type roleInfo struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Permissions []access.Permission `json:"permissions"`
	// MFARequired: local users with the role must enrol a second factor
	// (auth.mfa_roles).
	MFARequired bool `json:"mfa_required"`
}

type permInfo struct {
	Name        access.Permission `json:"name"`
	Description string            `json:"description"`
}

// roles answers the role and permission matrix (GET /api/v1/roles): what
// each role grants, for the roles page and for anyone signed in to see
// what their own roles allow. It is the table of internal/access, so it
// cannot drift from what the route guard enforces.
func (s *Server) roles(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Roles       []roleInfo `json:"roles"`
		Permissions []permInfo `json:"permissions"`
	}{}
	for _, name := range access.RoleNames() {
		out.Roles = append(out.Roles, roleInfo{Name: name, Description: access.RoleDescriptions[name],
			Permissions: access.PermissionsOf([]string{name}), MFARequired: slices.Contains(s.cfg.Auth.MFARoles, name)})
	}
	for _, p := range access.All {
		out.Permissions = append(out.Permissions, permInfo{Name: p, Description: access.PermissionDescriptions[p]})
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// Package dashboards defines dashboards as data: a title, a default time
// range and refresh, and panels, each a LogsQL query over the stored
// events (or the alerts or source-health API) and how to draw it. The
// built-in dashboards (Overview, Security, Healthcare) are YAML files
// shipped in the binary; users save their own in the control-plane
// database. The console draws them; nothing here runs queries.
package dashboards

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Dashboard is one dashboard.
type Dashboard struct {
	ID          string  `json:"id" yaml:"id"`
	Title       string  `json:"title" yaml:"title"`
	Description string  `json:"description,omitempty" yaml:"description,omitempty"`
	Range       string  `json:"range,omitempty" yaml:"range,omitempty"`     // default time range, e.g. -24h
	Refresh     int     `json:"refresh,omitempty" yaml:"refresh,omitempty"` // seconds, 0: off
	Panels      []Panel `json:"panels" yaml:"panels"`

	// Set in answers.
	Builtin bool   `json:"builtin" yaml:"-"`
	Owner   string `json:"owner,omitempty" yaml:"-"`
	Shared  bool   `json:"shared" yaml:"shared,omitempty"`
	Mine    bool   `json:"mine" yaml:"-"`
}

// Panel is one panel of a dashboard.
type Panel struct {
	Title       string `json:"title" yaml:"title"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Type: timeseries (rows of a stats by _time query), bars (a label and
	// a number per row), table (any rows), stat (one number), hits (the
	// hits API: query, group_by), alerts (the alerts API, grouped),
	// sources (source health).
	Type string `json:"type" yaml:"type"`
	// Query is LogsQL. $step becomes a bucket width fitting the range,
	// $tzoffset the viewer's time-zone offset for day_range filters.
	Query   string      `json:"query,omitempty" yaml:"query,omitempty"`
	GroupBy []string    `json:"group_by,omitempty" yaml:"group_by,omitempty"`
	Alerts  *AlertsSpec `json:"alerts,omitempty" yaml:"alerts,omitempty"`
	// Unit: per_second divides counts by the bucket width.
	Unit string `json:"unit,omitempty" yaml:"unit,omitempty"`
	// Width in twelfths of the page (default 6).
	Width int `json:"width,omitempty" yaml:"width,omitempty"`
}

// AlertsSpec groups alerts: by level, rule, user, host, tactic (ATT&CK,
// from the rules' attack.* tags), optionally over time.
type AlertsSpec struct {
	Group    string `json:"group" yaml:"group"`
	OverTime bool   `json:"over_time,omitempty" yaml:"over_time,omitempty"`
	MinLevel string `json:"min_level,omitempty" yaml:"min_level,omitempty"`
}

// Limits.
const (
	MaxPanels = 40
	maxText   = 500
	maxQuery  = 8 << 10
)

var (
	idRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	rangeRe  = regexp.MustCompile(`^-\d+(\.\d+)?[smhdw]$`)
	types    = map[string]bool{"timeseries": true, "bars": true, "table": true, "stat": true, "hits": true, "alerts": true, "sources": true}
	groups   = map[string]bool{"level": true, "rule": true, "user": true, "host": true, "tactic": true}
	levels   = map[string]bool{"": true, "informational": true, "low": true, "medium": true, "high": true, "critical": true}
	needsQry = map[string]bool{"timeseries": true, "bars": true, "table": true, "stat": true, "hits": true}
)

// InvalidError says what is wrong with a dashboard and where.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &InvalidError{fmt.Sprintf(format, a...)} }

// Validate checks a dashboard and fills defaults.
func Validate(d *Dashboard) error {
	d.Title = strings.TrimSpace(d.Title)
	switch {
	case !idRe.MatchString(d.ID):
		return invalid("id %q: lower-case letters, digits and dashes, at most 63", d.ID)
	case d.Title == "" || utf8.RuneCountInString(d.Title) > 200:
		return invalid("title: 1 to 200 characters")
	case utf8.RuneCountInString(d.Description) > maxText:
		return invalid("description: at most %d characters", maxText)
	case d.Range != "" && !rangeRe.MatchString(d.Range):
		return invalid("range %q: a relative range such as -24h or -7d", d.Range)
	case d.Refresh < 0 || d.Refresh > 86400:
		return invalid("refresh: seconds from 0 (off) to 86400")
	case len(d.Panels) == 0:
		return invalid("panels: a dashboard needs at least one")
	case len(d.Panels) > MaxPanels:
		return invalid("panels: at most %d", MaxPanels)
	}
	if d.Range == "" {
		d.Range = "-24h"
	}
	for i := range d.Panels {
		p := &d.Panels[i]
		where := fmt.Sprintf("panels[%d] (%q)", i, p.Title)
		p.Query = strings.TrimSpace(p.Query)
		switch {
		case strings.TrimSpace(p.Title) == "" || utf8.RuneCountInString(p.Title) > 200:
			return invalid("panels[%d]: title of 1 to 200 characters", i)
		case !types[p.Type]:
			return invalid("%s: type %q: want one of timeseries, bars, table, stat, hits, alerts, sources", where, p.Type)
		case needsQry[p.Type] && p.Query == "":
			return invalid("%s: a %s panel needs a query", where, p.Type)
		case len(p.Query) > maxQuery:
			return invalid("%s: query longer than %d bytes", where, maxQuery)
		case p.Type == "alerts" && (p.Alerts == nil || !groups[p.Alerts.Group]):
			return invalid("%s: an alerts panel needs alerts.group: level, rule, user, host or tactic", where)
		case p.Alerts != nil && !levels[p.Alerts.MinLevel]:
			return invalid("%s: alerts.min_level %q: informational, low, medium, high or critical", where, p.Alerts.MinLevel)
		case p.Unit != "" && p.Unit != "per_second":
			return invalid("%s: unit %q: only per_second", where, p.Unit)
		case p.Width < 0 || p.Width > 12:
			return invalid("%s: width %d: twelfths of the page, 1 to 12", where, p.Width)
		case len(p.GroupBy) > 3:
			return invalid("%s: group_by: at most 3 fields", where)
		case utf8.RuneCountInString(p.Description) > maxText:
			return invalid("%s: description: at most %d characters", where, maxText)
		}
		if p.Width == 0 {
			p.Width = 6
		}
	}
	return nil
}

// Parse reads a dashboard from YAML (JSON is YAML too), refusing unknown
// keys, and validates it.
func Parse(data []byte) (*Dashboard, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var d Dashboard
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("dashboard: %v", err)
	}
	if err := Validate(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns the dashboards shipped in the binary, in the order of
// their file names (10-overview.yaml, …). A broken built-in dashboard is a
// bug (tested).
func Builtin() ([]*Dashboard, error) {
	files, err := fs.Glob(builtinFS, "builtin/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Dashboard
	for _, f := range files {
		data, err := builtinFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.Builtin, d.Shared = true, true
		out = append(out, d)
	}
	return out, nil
}

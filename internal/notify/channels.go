package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/config"
)

// ChannelSpec is a channel defined in the console (through the API), as
// config.Channel is one of the configuration file. Console channels are
// kept in the control-plane database, secrets included (the data
// directory is private to Vigil, as the configuration file should be);
// the API never answers a secret back.
type ChannelSpec struct {
	Name            string   `json:"name"`
	Kind            string   `json:"kind"` // webhook, slack, teams, pagerduty, email, syslog
	URL             string   `json:"url,omitempty"`
	Secret          string   `json:"secret,omitempty"`
	To              []string `json:"to,omitempty"`
	RoutingKey      string   `json:"routing_key,omitempty"`
	Address         string   `json:"address,omitempty"`
	Protocol        string   `json:"protocol,omitempty"`
	Format          string   `json:"format,omitempty"`
	MinLevel        string   `json:"min_level,omitempty"`
	Rules           []string `json:"rules,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	Schedule        string   `json:"schedule,omitempty"`
	Digest          string   `json:"digest,omitempty"`
	IncludeEntities *bool    `json:"include_entities,omitempty"`
}

// Errors of console channel changes.
var (
	ErrChannelExists = apierr.Conflict("a channel of that name exists")
	ErrNoChannel     = apierr.NotFound("no such channel")
	ErrFromConfig    = apierr.Conflict("the channel is defined in the configuration file: change it there")
)

// ChannelError is a channel definition that cannot be used, naming the
// field at fault.
type ChannelError struct {
	Field, Msg string
}

func (e *ChannelError) Error() string { return e.Field + ": " + e.Msg }

// HTTPStatus: a channel definition that cannot be used is bad input.
func (e *ChannelError) HTTPStatus() int { return http.StatusBadRequest }

var channelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks a console channel's definition field by field.
func (s ChannelSpec) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &ChannelError{Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	if !channelName.MatchString(s.Name) {
		return bad("name", "want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	httpURL := func(field, u string, required bool) error {
		if u == "" {
			if required {
				return bad(field, "required for a %s channel", s.Kind)
			}
			return nil
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || len(u) > 2048 {
			return bad(field, "want an http:// or https:// address of at most 2048 bytes")
		}
		return nil
	}
	switch s.Kind {
	case "webhook", "slack", "teams":
		if err := httpURL("url", s.URL, true); err != nil {
			return err
		}
	case "pagerduty":
		if err := httpURL("url", s.URL, false); err != nil {
			return err
		}
		if s.RoutingKey == "" || len(s.RoutingKey) > 256 {
			return bad("routing_key", "want the integration key of the PagerDuty service (at most 256 bytes)")
		}
	case "email":
		if len(s.To) == 0 || len(s.To) > 100 {
			return bad("to", "want 1 to 100 recipients")
		}
		for _, a := range s.To {
			if _, err := mail.ParseAddress(a); err != nil {
				return bad("to", "%q is not an e-mail address", a)
			}
		}
	case "syslog":
		if _, _, err := net.SplitHostPort(s.Address); err != nil {
			return bad("address", "want host:port")
		}
		if s.Protocol != "" && !slices.Contains([]string{"udp", "tcp", "tls"}, s.Protocol) {
			return bad("protocol", "want udp, tcp or tls")
		}
		if s.Format != "" && !slices.Contains([]string{"cef", "json"}, s.Format) {
			return bad("format", "want cef or json")
		}
	default:
		return bad("kind", "want webhook, slack, teams, pagerduty, email or syslog")
	}
	if len(s.Secret) > 1024 {
		return bad("secret", "at most 1024 bytes")
	}
	if s.MinLevel != "" && !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, s.MinLevel) {
		return bad("min_level", "want informational, low, medium, high or critical")
	}
	for field, l := range map[string][]string{"rules": s.Rules, "tags": s.Tags} {
		if len(l) > 100 {
			return bad(field, "at most 100")
		}
		for _, v := range l {
			if v == "" || len(v) > 200 {
				return bad(field, "each from 1 to 200 bytes")
			}
		}
	}
	return nil
}

func (s ChannelSpec) config() config.Channel {
	return config.Channel{Name: s.Name, Kind: s.Kind, URL: s.URL, Secret: s.Secret, To: s.To, RoutingKey: s.RoutingKey, Address: s.Address,
		Protocol: s.Protocol, Format: s.Format, MinLevel: s.MinLevel, Rules: s.Rules, Tags: s.Tags, Schedule: s.Schedule, Digest: s.Digest,
		IncludeEntities: s.IncludeEntities, Where: "console"}
}

// buildSpec validates a console channel and builds it.
func (n *Dispatcher) buildSpec(s ChannelSpec) (*Channel, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	ch, err := n.build(s.config(), n.entities)
	if err != nil {
		var ce *ChannelError
		if !errors.As(err, &ce) {
			field, _, _ := strings.Cut(err.Error(), ":")
			err = &ChannelError{Field: field, Msg: strings.TrimSpace(strings.TrimPrefix(err.Error(), field+":"))}
		}
		return nil, err
	}
	ch.Console = true
	return ch, nil
}

// loadConsoleChannels adds the channels saved from the console. One that
// no longer builds (e.g. an e-mail channel once the SMTP server is gone
// from the configuration) is left out with a warning; its deliveries die
// with "channel no longer configured".
func (n *Dispatcher) loadConsoleChannels(ctx context.Context) error {
	rows, err := n.db.QueryContext(ctx, `SELECT name, spec FROM notify_channels ORDER BY name`)
	if err != nil {
		return fmt.Errorf("read the console's notification channels: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, js string
		if err := rows.Scan(&name, &js); err != nil {
			return err
		}
		var s ChannelSpec
		if err := json.Unmarshal([]byte(js), &s); err != nil {
			n.opt.Log.Warn("notification channel from the console not readable", "channel", name, "err", err)
			continue
		}
		if n.byName[s.Name] != nil {
			n.opt.Log.Warn("notification channel from the console ignored: the configuration file defines one of the same name", "channel", name)
			continue
		}
		ch, err := n.buildSpec(s)
		if err != nil {
			n.opt.Log.Warn("notification channel from the console not usable", "channel", name, "err", err)
			continue
		}
		n.channels = append(n.channels, ch)
		n.byName[ch.Name] = ch
	}
	return rows.Err()
}

// SaveChannel creates (create) or replaces a console channel. On replace,
// an empty url, secret or routing_key keeps the one stored, so the console
// need not know secrets to change a route.
func (n *Dispatcher) SaveChannel(ctx context.Context, s ChannelSpec, create bool, actor string) (*Channel, error) {
	n.chMu.Lock()
	defer n.chMu.Unlock()
	if old := n.byName[s.Name]; old != nil && !old.Console {
		return nil, ErrFromConfig
	}
	var js string
	err := n.db.QueryRowContext(ctx, `SELECT spec FROM notify_channels WHERE name = ?`, s.Name).Scan(&js)
	switch {
	case err == nil && create:
		return nil, ErrChannelExists
	case errors.Is(err, sql.ErrNoRows) && !create:
		return nil, ErrNoChannel
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return nil, err
	case err == nil:
		var old ChannelSpec
		if err := json.Unmarshal([]byte(js), &old); err == nil && old.Kind == s.Kind {
			s.URL = cmp(s.URL, old.URL)
			s.Secret = cmp(s.Secret, old.Secret)
			s.RoutingKey = cmp(s.RoutingKey, old.RoutingKey)
		}
	}
	ch, err := n.buildSpec(s)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(s)
	now := n.opt.Now().UnixNano()
	if _, err := n.db.ExecContext(ctx, `INSERT INTO notify_channels (name, spec, author, created, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, author = excluded.author, updated = excluded.updated`, s.Name, string(b), actor, now, now); err != nil {
		return nil, err
	}
	n.channels = slices.DeleteFunc(slices.Clone(n.channels), func(c *Channel) bool { return c.Name == s.Name })
	n.channels = append(n.channels, ch)
	n.byName[ch.Name] = ch
	return ch, nil
}

// DeleteChannel removes a console channel. Its pending deliveries die
// ("channel no longer configured") and stay listed.
func (n *Dispatcher) DeleteChannel(ctx context.Context, name string) error {
	n.chMu.Lock()
	defer n.chMu.Unlock()
	if old := n.byName[name]; old != nil && !old.Console {
		return ErrFromConfig
	}
	res, err := n.db.ExecContext(ctx, `DELETE FROM notify_channels WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrNoChannel
	}
	n.channels = slices.DeleteFunc(slices.Clone(n.channels), func(c *Channel) bool { return c.Name == name })
	delete(n.byName, name)
	return nil
}

func cmp(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

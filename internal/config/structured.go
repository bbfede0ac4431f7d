package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Channel is one notification channel: an entry of notify.webhooks,
// notify.slack, notify.teams, notify.pagerduty, notify.email or
// notify.syslog. Only the keys of its kind are accepted.
type Channel struct {
	Name string `yaml:"name"`
	// Webhooks, Slack, Teams (and PagerDuty, to override the Events API
	// address).
	URL string `yaml:"url"`
	// Secret signs webhook bodies (HMAC-SHA256).
	Secret string `yaml:"secret"`
	// To are the e-mail recipients.
	To []string `yaml:"to"`
	// RoutingKey is PagerDuty's integration key.
	RoutingKey string `yaml:"routing_key"`
	// Address, Protocol (udp, tcp, tls), Format (cef, json) and CA (PEM
	// file for tls) of a syslog destination.
	Address  string `yaml:"address"`
	Protocol string `yaml:"protocol"`
	Format   string `yaml:"format"`
	CA       string `yaml:"ca"`
	// Routing: the least level, rule ids or names and tags (globs with
	// *), and the schedule ("mon-fri 08:00-18:00", "18:00-08:00") of the
	// alerts the channel takes.
	MinLevel string   `yaml:"min_level"`
	Rules    []string `yaml:"rules"`
	Tags     []string `yaml:"tags"`
	Schedule string   `yaml:"schedule"`
	// Digest, when set, sends the channel's alerts in one message per
	// period (e.g. 1h) instead of one each.
	Digest string `yaml:"digest"`
	// IncludeEntities overrides notify.include_entities for the channel.
	IncludeEntities *bool `yaml:"include_entities"`

	// Kind (webhook, slack, teams, pagerduty, email, syslog) and Where
	// (file:line) are set when the configuration is read.
	Kind  string `yaml:"-"`
	Where string `yaml:"-"`
}

// Action is a response action (response.actions): an HTTP request built
// from an alert.
type Action struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// URL, Method (default POST), Headers and Body are templates with the
	// alert's variables ({{.Alert.ID}}, {{index .Fields "source.ip"}}, …).
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// Secret signs the request body like webhook notifications.
	Secret string `yaml:"secret"`
	// Disruptive actions (disable an account, block an address) need an
	// approval before they run; so does any action whose alert names an
	// address in response.protected_networks.
	Disruptive bool `yaml:"disruptive"`
	// Rules the action is attached to (ids or names, globs): it is
	// proposed for their alerts, and with Auto run when they are raised
	// (after approval when that is needed).
	Rules   []string `yaml:"rules"`
	Auto    bool     `yaml:"auto"`
	Timeout string   `yaml:"timeout"`

	Where string `yaml:"-"`
}

// structured are the settings whose values are lists of objects: YAML
// only, each object checked key by key with its file and line.
var structured = map[string]func(c *Config, n *yaml.Node, file string) error{
	"notify.webhooks":  channelList("webhook", func(c *Config) *[]Channel { return &c.Notify.Webhooks }),
	"notify.slack":     channelList("slack", func(c *Config) *[]Channel { return &c.Notify.Slack }),
	"notify.teams":     channelList("teams", func(c *Config) *[]Channel { return &c.Notify.Teams }),
	"notify.pagerduty": channelList("pagerduty", func(c *Config) *[]Channel { return &c.Notify.PagerDuty }),
	"notify.email":     channelList("email", func(c *Config) *[]Channel { return &c.Notify.Email }),
	"notify.syslog":    channelList("syslog", func(c *Config) *[]Channel { return &c.Notify.Syslog }),
	"response.actions": actionList,
}

// structuredHelp explains the structured settings in the reference.
var structuredHelp = map[string]string{
	"notify.webhooks":  "YAML list of webhook channels: {name, url, secret, min_level, rules, tags, schedule, digest} — JSON signed with HMAC-SHA256 (docs/response.md)",
	"notify.slack":     "YAML list of Slack incoming webhooks: {name, url, min_level, rules, tags, schedule, digest}",
	"notify.teams":     "YAML list of Microsoft Teams incoming webhooks (Workflows): {name, url, min_level, …}",
	"notify.pagerduty": "YAML list of PagerDuty Events v2 services: {name, routing_key, min_level, …}",
	"notify.email":     "YAML list of e-mail channels: {name, to: [addresses], min_level, …, digest} (needs notify.smtp.host)",
	"notify.syslog":    "YAML list of syslog/CEF forwards to another SIEM: {name, address, protocol: udp|tcp|tls, format: cef|json, ca, min_level, …}",
	"response.actions": "YAML list of response actions: {name, url, method, headers, body, secret, disruptive, rules, auto, timeout} (docs/response.md)",
}

// channelKeys are the keys each kind of channel takes.
var channelKeys = map[string][]string{
	"webhook":   {"url", "secret"},
	"slack":     {"url"},
	"teams":     {"url"},
	"pagerduty": {"routing_key", "url"},
	"email":     {"to"},
	"syslog":    {"address", "protocol", "format", "ca"},
}

var routingKeys = []string{"name", "min_level", "rules", "tags", "schedule", "digest", "include_entities"}

func channelList(kind string, field func(*Config) *[]Channel) func(c *Config, n *yaml.Node, file string) error {
	return func(c *Config, n *yaml.Node, file string) error {
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s:%d: want a list of channels", file, n.Line)
		}
		allowed := append(append([]string{}, routingKeys...), channelKeys[kind]...)
		var out []Channel
		for _, it := range n.Content {
			where := fmt.Sprintf("%s:%d", file, it.Line)
			var ch Channel
			if err := decodeStrict(it, &ch, allowed, file); err != nil {
				return err
			}
			ch.Kind, ch.Where = kind, where
			if err := checkChannel(ch); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, ch)
		}
		*field(c) = out
		return nil
	}
}

var levels = []string{"informational", "low", "medium", "high", "critical"}

func checkChannel(ch Channel) error {
	if ch.Name == "" {
		return errors.New("name: every channel needs a name (deliveries are listed by it)")
	}
	if ch.MinLevel != "" && !slices.Contains(levels, ch.MinLevel) {
		return fmt.Errorf("min_level: %q: want one of %s", ch.MinLevel, strings.Join(levels, ", "))
	}
	if ch.Digest != "" {
		if d, err := ParseDuration(ch.Digest); err != nil || d.Minutes() < 1 {
			return fmt.Errorf("digest: %q: want a period of at least 1m, such as 1h", ch.Digest)
		}
	}
	checkURL := func(v string, required bool) error {
		if v == "" && !required {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url: %q: want an http or https URL", v)
		}
		return nil
	}
	switch ch.Kind {
	case "webhook", "slack", "teams":
		return checkURL(ch.URL, true)
	case "pagerduty":
		if ch.RoutingKey == "" {
			return errors.New("routing_key: PagerDuty's integration key is required")
		}
		return checkURL(ch.URL, false)
	case "email":
		if len(ch.To) == 0 {
			return errors.New("to: at least one recipient")
		}
		for _, a := range ch.To {
			if !strings.Contains(a, "@") {
				return fmt.Errorf("to: %q is not an e-mail address", a)
			}
		}
	case "syslog":
		if _, _, err := net.SplitHostPort(ch.Address); err != nil {
			return fmt.Errorf("address: %q: want host:port", ch.Address)
		}
		if ch.Protocol != "" && !slices.Contains([]string{"udp", "tcp", "tls"}, ch.Protocol) {
			return fmt.Errorf("protocol: %q: want udp, tcp or tls", ch.Protocol)
		}
		if ch.Format != "" && !slices.Contains([]string{"cef", "json"}, ch.Format) {
			return fmt.Errorf("format: %q: want cef or json", ch.Format)
		}
	}
	return nil
}

func actionList(c *Config, n *yaml.Node, file string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s:%d: want a list of actions", file, n.Line)
	}
	allowed := []string{"name", "description", "url", "method", "headers", "body", "secret", "disruptive", "rules", "auto", "timeout"}
	var out []Action
	seen := map[string]bool{}
	for _, it := range n.Content {
		where := fmt.Sprintf("%s:%d", file, it.Line)
		var a Action
		if err := decodeStrict(it, &a, allowed, file); err != nil {
			return err
		}
		a.Where = where
		switch {
		case a.Name == "":
			return fmt.Errorf("%s: name: every action needs a name", where)
		case seen[a.Name]:
			return fmt.Errorf("%s: name: %q is defined twice", where, a.Name)
		case a.URL == "":
			return fmt.Errorf("%s: url: the request's URL (a template) is required", where)
		}
		if a.Method != "" && !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, strings.ToUpper(a.Method)) {
			return fmt.Errorf("%s: method: %q: want GET, POST, PUT, PATCH or DELETE", where, a.Method)
		}
		if a.Timeout != "" {
			if d, err := ParseDuration(a.Timeout); err != nil || d <= 0 {
				return fmt.Errorf("%s: timeout: %q: want a duration such as 10s", where, a.Timeout)
			}
		}
		seen[a.Name] = true
		out = append(out, a)
	}
	c.Response.Actions = out
	return nil
}

// decodeStrict decodes a YAML mapping into v, refusing keys not in
// allowed (naming the file and line of the key).
func decodeStrict(n *yaml.Node, v any, allowed []string, file string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of keys", file, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("%s:%d: unknown key %q: want %s", file, k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	if err := n.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s:%d: %s", file, n.Line, strings.Join(te.Errors, "; "))
		}
		return fmt.Errorf("%s:%d: %w", file, n.Line, err)
	}
	return nil
}

// Channels lists every configured notification channel.
func (c *Config) Channels() []Channel {
	var out []Channel
	for _, l := range [][]Channel{c.Notify.Webhooks, c.Notify.Slack, c.Notify.Teams, c.Notify.PagerDuty, c.Notify.Email, c.Notify.Syslog} {
		out = append(out, l...)
	}
	return out
}

// checkStructured checks what lists of objects need together: unique
// channel names, SMTP settings for e-mail channels.
func (c *Config) checkStructured() error {
	seen := map[string]string{}
	for _, ch := range c.Channels() {
		if w, ok := seen[ch.Name]; ok {
			return &Error{Key: "notify", Source: ch.Where, Err: fmt.Errorf("channel name %q is also used at %s", ch.Name, w)}
		}
		seen[ch.Name] = ch.Where
		if ch.Kind == "email" && c.Notify.SMTP.Host == "" {
			return &Error{Key: "notify.smtp.host", Source: ch.Where, Err: errors.New("the e-mail channel needs an SMTP server: set notify.smtp.host")}
		}
	}
	return nil
}

// Package notify tells people and other systems about alerts: e-mail over
// SMTP, signed JSON webhooks, Slack, Microsoft Teams, PagerDuty Events v2
// and syslog (CEF or JSON) to another SIEM. Each channel takes the alerts
// its route selects (least level, rules, tags, schedule), one message per
// alert or a digest per period.
//
// Deliveries are queued in the control-plane database when an alert is
// raised (a quick insert: detection never waits for a channel) and sent by
// the dispatcher, each channel on its own goroutine, with retries and
// exponential back-off; a delivery that keeps failing goes to the
// dead-letter list, from which it can be retried by hand. Every delivery's
// status is kept per alert.
//
// Notifications carry no PHI: the alert's title, level, rule, tags,
// counts, times and a link to the console; the user, host and addresses
// only when include_entities is set; never patient fields or event
// contents.
package notify

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
)

// Message is what a notification says about one alert.
type Message struct {
	AlertID   int64     `json:"id"`
	Title     string    `json:"title"`
	RuleID    string    `json:"rule_id"`
	Level     string    `json:"level"`
	Kind      string    `json:"kind"`
	Tags      []string  `json:"tags"`
	Status    string    `json:"status"`
	Count     int       `json:"count"`
	Value     float64   `json:"value,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Raised    time.Time `json:"raised"`
	URL       string    `json:"url,omitempty"`
	// Entities are the alert's user, host and addresses, when allowed.
	Entities map[string]string `json:"entities,omitempty"`
}

// EntityFields are the only alert fields a notification may name (with
// include_entities): identifiers of accounts, machines and addresses,
// never of patients.
var EntityFields = []string{"user.name", "user.domain", "host.name", "source.ip", "destination.ip", "destination.port"}

// NewMessage builds the message of an alert; consoleURL is the console's
// address for the link ("" for none).
func NewMessage(a alerts.Alert, consoleURL string, entities bool) Message {
	m := Message{AlertID: a.ID, Title: a.RuleTitle, RuleID: a.RuleID, Level: a.Level, Kind: a.Kind, Tags: a.Tags, Status: a.Status,
		Count: a.Count, Value: a.Value, FirstSeen: a.FirstSeen, LastSeen: a.Time, Raised: a.Created}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	if consoleURL != "" {
		m.URL = strings.TrimRight(consoleURL, "/") + "/alerts/" + itoa(a.ID)
	}
	if entities {
		for _, f := range EntityFields {
			v, ok := a.GroupBy[f]
			if !ok {
				v, ok = a.Fields[f]
			}
			if ok && v != "" {
				if m.Entities == nil {
					m.Entities = map[string]string{}
				}
				m.Entities[f] = v
			}
		}
	}
	return m
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Summary is the one-line text of a message: "[HIGH] SSH brute force (×12)".
func (m Message) Summary() string {
	s := "[" + strings.ToUpper(m.Level) + "] " + m.Title
	if m.Count > 1 {
		s += " (×" + itoa(int64(m.Count)) + ")"
	}
	return s
}

// Text is a plain-text description of the message, one fact a line.
func (m Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Summary() + "\n")
	b.WriteString("Alert " + itoa(m.AlertID) + ", rule " + m.RuleID + ", " + m.Kind + "\n")
	b.WriteString("Seen " + m.FirstSeen.UTC().Format(time.RFC3339) + " to " + m.LastSeen.UTC().Format(time.RFC3339) + "\n")
	if len(m.Tags) > 0 {
		b.WriteString("Tags: " + strings.Join(m.Tags, ", ") + "\n")
	}
	for _, f := range EntityFields {
		if v, ok := m.Entities[f]; ok {
			b.WriteString(f + ": " + v + "\n")
		}
	}
	if m.URL != "" {
		b.WriteString(m.URL + "\n")
	}
	return b.String()
}

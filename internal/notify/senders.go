package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// Sender sends one message about one or more alerts (a digest).
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// Delivery is what a sender sends: the messages and the id of the
// delivery (the first when several are sent as a digest).
type Delivery struct {
	ID       int64
	Channel  string
	Messages []Message
	Digest   bool
	Now      time.Time
}

// Sign returns the X-Vigil-Signature of a webhook body: HMAC-SHA256 of
// the raw body with the channel's secret, hex-encoded, as "sha256=<hex>".
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook delivery as a receiver should: the signature
// over the raw body, then the timestamp in the body (and header) within
// maxAge of now, against replay.
func Verify(secret string, body []byte, signature string, now time.Time, maxAge time.Duration) error {
	if !hmac.Equal([]byte(Sign(secret, body)), []byte(signature)) {
		return errors.New("bad signature")
	}
	var p struct {
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if d := now.Sub(time.Unix(p.Timestamp, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("timestamp %d is %s away from now: replayed or clock wrong", p.Timestamp, d.Round(time.Second))
	}
	return nil
}

// WebhookBody is the JSON a webhook receives.
type WebhookBody struct {
	Version int    `json:"version"`
	Type    string `json:"type"` // alert, digest or test
	// Delivery identifies the delivery (a retry carries the same one).
	Delivery int64  `json:"delivery"`
	Channel  string `json:"channel"`
	// Timestamp (Unix seconds) is when this attempt was sent: covered by
	// the signature, receivers refuse old ones.
	Timestamp int64     `json:"timestamp"`
	SentAt    time.Time `json:"sent_at"`
	Alerts    []Message `json:"alerts"`
}

func bodyType(d Delivery) string {
	switch {
	case d.ID == 0:
		return "test"
	case d.Digest:
		return "digest"
	}
	return "alert"
}

// httpPost posts a JSON body and wants a 2xx answer.
func httpPost(ctx context.Context, client *http.Client, url string, body []byte, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return redactURL(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}

// redactURL drops the URL from a client error: webhook URLs (Slack,
// Teams) carry their secret in the path.
func redactURL(err error) error {
	var ue interface {
		Unwrap() error
	}
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return fmt.Errorf("request failed: %w", inner)
		}
	}
	return err
}

// webhook posts the signed JSON body.
type webhook struct {
	url, secret string
	client      *http.Client
}

func (w *webhook) Send(ctx context.Context, d Delivery) error {
	b := WebhookBody{Version: 1, Type: bodyType(d), Delivery: d.ID, Channel: d.Channel, Timestamp: d.Now.Unix(), SentAt: d.Now.UTC(), Alerts: d.Messages}
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	h := map[string]string{"X-Vigil-Timestamp": strconv.FormatInt(b.Timestamp, 10), "X-Vigil-Delivery": strconv.FormatInt(d.ID, 10)}
	if w.secret != "" {
		h["X-Vigil-Signature"] = Sign(w.secret, body)
	}
	return httpPost(ctx, w.client, w.url, body, h)
}

// slack posts Slack's incoming-webhook format: text plus blocks.
type slack struct {
	url    string
	client *http.Client
}

func (s *slack) Send(ctx context.Context, d Delivery) error {
	var blocks []map[string]any
	head := "Vigil alert"
	if d.Digest {
		head = fmt.Sprintf("Vigil: %d alerts", len(d.Messages))
	}
	blocks = append(blocks, map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": head}})
	for _, m := range d.Messages {
		text := "*" + slackEscape(m.Summary()) + "*\n" + slackEscape("rule "+m.RuleID+" · "+m.LastSeen.UTC().Format(time.RFC3339))
		for _, f := range EntityFields {
			if v, ok := m.Entities[f]; ok {
				text += "\n" + f + ": `" + slackEscape(v) + "`"
			}
		}
		if m.URL != "" {
			text += "\n<" + m.URL + "|Open in Vigil>"
		}
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}})
	}
	body, _ := json.Marshal(map[string]any{"text": summaryOf(d), "blocks": blocks})
	return httpPost(ctx, s.client, s.url, body, nil)
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func summaryOf(d Delivery) string {
	if len(d.Messages) == 1 {
		return d.Messages[0].Summary()
	}
	return fmt.Sprintf("Vigil: %d alerts", len(d.Messages))
}

// teams posts an Adaptive Card, as Microsoft Teams' incoming webhooks
// (Workflows) take it.
type teams struct {
	url    string
	client *http.Client
}

func (t *teams) Send(ctx context.Context, d Delivery) error {
	body := []map[string]any{{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": summaryOf(d), "wrap": true}}
	var actions []map[string]any
	for _, m := range d.Messages {
		facts := []map[string]string{{"title": "Level", "value": m.Level}, {"title": "Rule", "value": m.RuleID},
			{"title": "Last seen", "value": m.LastSeen.UTC().Format(time.RFC3339)}, {"title": "Count", "value": strconv.Itoa(m.Count)}}
		for _, f := range EntityFields {
			if v, ok := m.Entities[f]; ok {
				facts = append(facts, map[string]string{"title": f, "value": v})
			}
		}
		body = append(body, map[string]any{"type": "TextBlock", "text": m.Summary(), "wrap": true, "separator": true},
			map[string]any{"type": "FactSet", "facts": facts})
		if m.URL != "" && len(actions) < 5 {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Open alert " + itoa(m.AlertID), "url": m.URL})
		}
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	msg, _ := json.Marshal(map[string]any{"type": "message", "attachments": []map[string]any{{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
	return httpPost(ctx, t.client, t.url, msg, nil)
}

// pagerDuty sends Events API v2 trigger events, one per alert (deduplicated
// by alert id, so a retry or a digest never pages twice).
type pagerDuty struct {
	url, key string
	client   *http.Client
}

// DefaultPagerDutyURL is the Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

var pdSeverity = map[string]string{"critical": "critical", "high": "error", "medium": "warning", "low": "info", "informational": "info"}

func (p *pagerDuty) Send(ctx context.Context, d Delivery) error {
	for _, m := range d.Messages {
		details := map[string]any{"alert_id": m.AlertID, "rule_id": m.RuleID, "level": m.Level, "count": m.Count, "tags": m.Tags,
			"first_seen": m.FirstSeen.UTC().Format(time.RFC3339)}
		for k, v := range m.Entities {
			details[k] = v
		}
		ev := map[string]any{
			"routing_key":  p.key,
			"event_action": "trigger",
			"dedup_key":    "vigil-alert-" + itoa(m.AlertID),
			"payload": map[string]any{"summary": clip(m.Summary(), 1024), "source": "vigil", "severity": pdSeverity[m.Level],
				"timestamp": m.LastSeen.UTC().Format(time.RFC3339), "component": m.Kind, "class": m.RuleID, "custom_details": details},
			"client": "Vigil",
		}
		if m.URL != "" {
			ev["client_url"] = m.URL
			ev["links"] = []map[string]string{{"href": m.URL, "text": "Open in Vigil"}}
		}
		body, _ := json.Marshal(ev)
		if err := httpPost(ctx, p.client, p.url, body, nil); err != nil {
			return err
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// SMTP is the mail server of the e-mail channels.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	// StartTLS: mandatory, opportunistic or none.
	StartTLS string
	// RootCAs verifies the server (nil: the system's).
	TLS *tls.Config
}

type email struct {
	to   []string
	smtp SMTP
}

func (e *email) Send(ctx context.Context, d Delivery) error {
	m := mail.NewMsg()
	if err := m.From(e.smtp.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := m.To(e.to...); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	m.Subject(clip(summaryOf(d), 200))
	m.SetDate()
	m.SetMessageID()
	var b strings.Builder
	for i, msg := range d.Messages {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(msg.Text())
	}
	b.WriteString("\n-- \nVigil. This message names no patient; open the console for the details.\n")
	m.SetBodyString(mail.TypeTextPlain, b.String())
	policy := mail.TLSMandatory
	switch e.smtp.StartTLS {
	case "opportunistic":
		policy = mail.TLSOpportunistic
	case "none":
		policy = mail.NoTLS
	}
	opts := []mail.Option{mail.WithPort(e.smtp.Port), mail.WithTLSPolicy(policy), mail.WithTimeout(15 * time.Second)}
	tc := e.smtp.TLS
	if tc == nil {
		tc = &tls.Config{}
	}
	tc = tc.Clone()
	tc.ServerName = e.smtp.Host
	tc.MinVersion = tls.VersionTLS12
	opts = append(opts, mail.WithTLSConfig(tc))
	if e.smtp.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(e.smtp.Username), mail.WithPassword(e.smtp.Password))
	}
	c, err := mail.NewClient(e.smtp.Host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, m)
}

// syslogSender forwards alerts to another SIEM: RFC 5424 over UDP, TCP or
// TLS (octet-counted), the message in CEF or JSON.
type syslogSender struct {
	addr, proto, format string
	tls                 *tls.Config
	hostname            string
}

var cefSeverity = map[string]int{"informational": 1, "low": 3, "medium": 5, "high": 8, "critical": 10}
var syslogSeverity = map[string]int{"informational": 6, "low": 5, "medium": 4, "high": 3, "critical": 2}

func (s *syslogSender) Send(ctx context.Context, d Delivery) error {
	var frames [][]byte
	for _, m := range d.Messages {
		var msg string
		if s.format == "json" {
			b, _ := json.Marshal(m)
			msg = string(b)
		} else {
			msg = CEF(m)
		}
		pri := 20*8 + syslogSeverity[m.Level] // local4
		frames = append(frames, []byte(fmt.Sprintf("<%d>1 %s %s vigil - alert - %s", pri, d.Now.UTC().Format(time.RFC3339), s.hostname, msg)))
	}
	dl := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	switch s.proto {
	case "udp":
		conn, err = dl.DialContext(ctx, "udp", s.addr)
	case "tls":
		td := tls.Dialer{NetDialer: &dl, Config: s.tls}
		conn, err = td.DialContext(ctx, "tcp", s.addr)
	default:
		conn, err = dl.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	for _, f := range frames {
		if s.proto != "udp" {
			f = append([]byte(strconv.Itoa(len(f))+" "), f...)
		}
		if _, err := conn.Write(f); err != nil {
			return err
		}
	}
	return nil
}

// CEF renders a message as an ArcSight CEF record.
func CEF(m Message) string {
	hdr := strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\n", " ", "\r", " ")
	ext := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
	var b strings.Builder
	fmt.Fprintf(&b, "CEF:0|Vigil|Vigil|1|%s|%s|%d|", hdr.Replace(m.RuleID), hdr.Replace(m.Title), cefSeverity[m.Level])
	kv := [][2]string{{"rt", strconv.FormatInt(m.LastSeen.UnixMilli(), 10)}, {"start", strconv.FormatInt(m.FirstSeen.UnixMilli(), 10)},
		{"cat", m.Kind}, {"cnt", strconv.Itoa(m.Count)}, {"externalId", itoa(m.AlertID)},
		{"cs1Label", "tags"}, {"cs1", strings.Join(m.Tags, ",")}, {"cs2Label", "level"}, {"cs2", m.Level}}
	if m.URL != "" {
		kv = append(kv, [2]string{"request", m.URL})
	}
	for _, p := range [][2]string{{"user.name", "suser"}, {"host.name", "dhost"}, {"source.ip", "src"}, {"destination.ip", "dst"}} {
		if v, ok := m.Entities[p[0]]; ok {
			kv = append(kv, [2]string{p[1], v})
		}
	}
	for i, p := range kv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p[0] + "=" + ext.Replace(p[1]))
	}
	return b.String()
}

// loadCA reads a PEM bundle into a TLS configuration.
func loadCA(path string) (*tls.Config, error) {
	if path == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

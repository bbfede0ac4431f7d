package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/notify/mailtest"
	"github.com/vigil-siem/vigil/internal/parse/cef"
)

// receiver is a real HTTP server recording what it gets; check validates
// each body (the format of the service it stands for) and answers.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
}

func newReceiver(t *testing.T, check func(h http.Header, body []byte) (int, error)) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		code, err := check(req.Header, body)
		if err != nil {
			t.Errorf("%s received a bad body: %v\n%s", req.URL.Path, err, body)
			code = 400
		}
		r.mu.Lock()
		r.bodies, r.heads = append(r.bodies, body), append(r.heads, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprint(w, `{"status":"success"}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type rig struct {
	alerts *alerts.Store
	d      *Dispatcher
	cancel func()
}

func newRig(t *testing.T, cfg *config.Config, opt Options) *rig {
	t.Helper()
	d, err := db.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	as, err := alerts.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	opt.Alerts = as
	if opt.BaseDelay == 0 {
		opt.BaseDelay = 20 * time.Millisecond
	}
	n, err := New(context.Background(), d, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	as.OnChange(n.OnChange)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &rig{alerts: as, d: n, cancel: cancel}
}

// phiAlert is an alert whose fields hold patient data, which no
// notification may carry.
func phiAlert(key, level string) alerts.Alert {
	return alerts.Alert{Key: key, Kind: "correlation", RuleID: "vigil_lnx_ssh_brute_force", RuleTitle: "SSH brute force", Level: level,
		Tags: []string{"attack.t1110", "hipaa.164.308.a.5.ii.c"}, Time: time.Now(), Count: 12,
		GroupBy: map[string]string{"source.ip": "10.6.6.6", "host.name": "ehr-db-01"},
		Fields:  map[string]string{"healthcare.patient.id": "MRN-4242", "healthcare.patient.name": "Jane Roe", "user.name": "root"}}
}

func noPHI(t *testing.T, where string, b []byte) {
	t.Helper()
	for _, s := range []string{"MRN-4242", "Jane Roe", "healthcare.patient"} {
		if strings.Contains(string(b), s) {
			t.Errorf("%s carries PHI (%s): %s", where, s, b)
		}
	}
}

func TestChannelsDeliverEveryFormat(t *testing.T) {
	secret := "s3cret-hmac-key"
	hook := newReceiver(t, func(h http.Header, body []byte) (int, error) {
		if err := Verify(secret, body, h.Get("X-Vigil-Signature"), time.Now(), 5*time.Minute); err != nil {
			return 0, err
		}
		return 204, nil
	})
	slackR := newReceiver(t, func(h http.Header, body []byte) (int, error) {
		var m struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text struct{ Type, Text string }
			} `json:"blocks"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Text == "" || len(m.Blocks) < 2 || m.Blocks[1].Type != "section" || m.Blocks[1].Text.Type != "mrkdwn" {
			return 0, fmt.Errorf("not a Slack message: %v", err)
		}
		return 200, nil
	})
	teamsR := newReceiver(t, func(h http.Header, body []byte) (int, error) {
		var m struct {
			Type        string `json:"type"`
			Attachments []struct {
				ContentType string `json:"contentType"`
				Content     struct {
					Type    string           `json:"type"`
					Version string           `json:"version"`
					Body    []map[string]any `json:"body"`
				} `json:"content"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.Type != "message" || len(m.Attachments) != 1 ||
			m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || m.Attachments[0].Content.Type != "AdaptiveCard" || len(m.Attachments[0].Content.Body) == 0 {
			return 0, fmt.Errorf("not a Teams adaptive card message: %v", err)
		}
		return 202, nil
	})
	pd := newReceiver(t, func(h http.Header, body []byte) (int, error) {
		var m struct {
			RoutingKey  string `json:"routing_key"`
			EventAction string `json:"event_action"`
			DedupKey    string `json:"dedup_key"`
			Payload     struct {
				Summary, Source, Severity string
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &m); err != nil || m.RoutingKey != "R0UTINGKEY0123456789abcdefabcdef" || m.EventAction != "trigger" || m.DedupKey == "" ||
			m.Payload.Summary == "" || m.Payload.Source == "" || !strings.Contains(" critical error warning info ", " "+m.Payload.Severity+" ") ||
			(strings.Contains(m.Payload.Summary, "HIGH") && m.Payload.Severity != "error") {
			return 0, fmt.Errorf("not a PagerDuty Events v2 trigger: %v %+v", err, m)
		}
		return 202, nil
	})
	// A syslog receiver over TCP, octet-counted frames, CEF inside.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	frames := make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					ls, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(ls))
					buf := make([]byte, n)
					if _, err := io.ReadFull(br, buf); err != nil {
						return
					}
					frames <- string(buf)
				}
			}()
		}
	}()
	mp := mailtest.Start(t)

	cfg := config.Default()
	cfg.Notify.SMTP.Host, cfg.Notify.SMTP.Port, cfg.Notify.SMTP.Username, cfg.Notify.SMTP.Password = mp.Host, mp.Port, "vigil", "pw"
	cfg.Notify.Webhooks = []config.Channel{{Name: "soc", Kind: "webhook", URL: hook.URL + "/hook", Secret: secret, MinLevel: "medium"}}
	cfg.Notify.Slack = []config.Channel{{Name: "slack", Kind: "slack", URL: slackR.URL + "/services/T/B/X"}}
	cfg.Notify.Teams = []config.Channel{{Name: "teams", Kind: "teams", URL: teamsR.URL + "/workflows/x"}}
	cfg.Notify.PagerDuty = []config.Channel{{Name: "pager", Kind: "pagerduty", URL: pd.URL + "/v2/enqueue", RoutingKey: "R0UTINGKEY0123456789abcdefabcdef"}}
	cfg.Notify.Email = []config.Channel{{Name: "mail", Kind: "email", To: []string{"soc@example.org"}}}
	cfg.Notify.Syslog = []config.Channel{{Name: "siem", Kind: "syslog", Address: ln.Addr().String(), Protocol: "tcp"}}
	// The low-level channel only takes low alerts; the webhook only medium
	// and above.
	cfg.Notify.Webhooks = append(cfg.Notify.Webhooks, config.Channel{Name: "never", Kind: "webhook", URL: hook.URL + "/never", Rules: []string{"other_*"}})
	r := newRig(t, cfg, Options{ConsoleURL: "https://vigil.example.org", SMTP: SMTP{Host: mp.Host, Port: mp.Port, Username: "vigil", Password: "pw",
		From: "vigil@example.org", StartTLS: "mandatory", TLS: mp.TLS}})
	added, err := r.alerts.Add(context.Background(), []alerts.Alert{phiAlert("k1", "high"), {Key: "k2", Kind: "sigma", RuleID: "x", RuleTitle: "low thing", Level: "low", Time: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every channel", func() bool {
		ds, _ := r.d.Deliveries(context.Background(), Filter{Status: "sent"})
		return len(ds) == 11 // k1 on 6 channels, k2 on 5 (not the webhook's medium minimum)
	})
	bodies := hook.got()
	if len(bodies) != 1 {
		t.Fatalf("webhook got %d bodies, want 1 (the high alert only)", len(bodies))
	}
	var wb WebhookBody
	json.Unmarshal(bodies[0], &wb)
	if wb.Type != "alert" || len(wb.Alerts) != 1 || wb.Alerts[0].AlertID != added[0].ID || wb.Alerts[0].URL != fmt.Sprintf("https://vigil.example.org/alerts/%d", added[0].ID) ||
		wb.Alerts[0].Entities != nil || hook.heads[0].Get("X-Vigil-Timestamp") != strconv.FormatInt(wb.Timestamp, 10) {
		t.Fatalf("webhook body %s", bodies[0])
	}
	// A replay later than 5 minutes is refused by the documented check.
	if err := Verify(secret, bodies[0], hook.heads[0].Get("X-Vigil-Signature"), time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Fatal("a replayed delivery verified")
	}
	if err := Verify("wrong", bodies[0], hook.heads[0].Get("X-Vigil-Signature"), time.Now(), 5*time.Minute); err == nil {
		t.Fatal("a wrong secret verified")
	}
	for _, rc := range []*receiver{hook, slackR, teamsR, pd} {
		for _, b := range rc.got() {
			noPHI(t, rc.URL, b)
		}
	}
	// Syslog: two CEF records that our own CEF parser reads back.
	for range 2 {
		select {
		case f := <-frames:
			noPHI(t, "syslog", []byte(f))
			i := strings.Index(f, "CEF:")
			rec, err := cef.Decode([]byte(f[i:]), cef.Options{})
			if err != nil || rec.DeviceVendor != "Vigil" || (rec.Severity != "8" && rec.Severity != "3") || !strings.HasPrefix(f, "<16") {
				t.Fatalf("syslog frame %q: %+v %v", f, rec, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no syslog frame")
		}
	}
	// E-mail through a real SMTP server, over STARTTLS with a login.
	ms := mp.Wait(t, 2, 10*time.Second)
	if len(ms) != 2 || ms[0].To[0].Address != "soc@example.org" || ms[0].From.Address != "vigil@example.org" {
		t.Fatalf("mail %+v", ms)
	}
	subjects := ms[0].Subject + "|" + ms[1].Subject
	if !strings.Contains(subjects, "[HIGH] SSH brute force (×12)") {
		t.Fatalf("subjects %q", subjects)
	}
	for _, m := range ms {
		text := mp.Text(t, m.ID)
		noPHI(t, "e-mail", []byte(text))
		if strings.Contains(m.Subject, "HIGH") && !strings.Contains(text, "https://vigil.example.org/alerts/") {
			t.Fatalf("mail text %q", text)
		}
	}
	if per, _ := r.d.Deliveries(context.Background(), Filter{AlertID: added[0].ID}); len(per) != 6 {
		t.Fatalf("deliveries of the high alert: %+v", per)
	}
}

// An unreachable channel is retried with back-off and then dead-lettered;
// a channel that hangs does not hold up the others, nor the raising of
// alerts.
func TestRetriesDeadLetterAndNoBlocking(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	// A black hole: accepts and never answers.
	hole, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hole.Close()
	var held []net.Conn
	var hmu sync.Mutex
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			hmu.Lock()
			held = append(held, c)
			hmu.Unlock()
		}
	}()
	defer func() {
		hmu.Lock()
		for _, c := range held {
			c.Close()
		}
		hmu.Unlock()
	}()
	ok := newReceiver(t, func(http.Header, []byte) (int, error) { return 200, nil })
	cfg := config.Default()
	cfg.Notify.Webhooks = []config.Channel{{Name: "down", Kind: "webhook", URL: deadURL}, {Name: "hole", Kind: "webhook", URL: "http://" + hole.Addr().String() + "/"},
		{Name: "up", Kind: "webhook", URL: ok.URL}}
	r := newRig(t, cfg, Options{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, SendTimeout: 30 * time.Second})
	ctx := context.Background()
	for i := range 3 {
		// Raising returns while the hole holds its first delivery.
		if _, err := r.alerts.Add(ctx, []alerts.Alert{{Key: fmt.Sprint(i), Kind: "sigma", RuleID: "r", RuleTitle: "t", Level: "high", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the working channel to deliver all three", func() bool { return len(ok.got()) == 3 })
	waitFor(t, "the unreachable channel to give up", func() bool {
		ds, _ := r.d.Deliveries(ctx, Filter{Channel: "down", Status: "dead"})
		return len(ds) == 3
	})
	ds, _ := r.d.Deliveries(ctx, Filter{Channel: "down"})
	if ds[0].Attempts != 3 || !strings.Contains(ds[0].LastError, "connection refused") {
		t.Fatalf("dead delivery %+v", ds[0])
	}
	if hs, _ := r.d.Deliveries(ctx, Filter{Channel: "hole", Status: "pending"}); len(hs) != 3 {
		t.Fatalf("the hanging channel's deliveries: %+v", hs)
	}
	// Retried by hand: back in the queue (and dead again, three tries on).
	if err := r.d.Retry(ctx, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Retry(ctx, ds[0].ID); err != ErrNotDead {
		waitFor(t, "the retried delivery", func() bool {
			d, _ := r.d.Deliveries(ctx, Filter{Channel: "down", Status: "dead"})
			return len(d) == 3
		})
	}
	hs, _ := r.d.Deliveries(ctx, Filter{Channel: "up"})
	if err := r.d.Retry(ctx, hs[0].ID); err != ErrNotDead {
		t.Fatalf("retry of a sent delivery: %v", err)
	}
}

func TestRoutingScheduleAndDigest(t *testing.T) {
	loc := time.UTC
	night := time.Date(2026, 12, 8, 23, 30, 0, 0, loc) // a Tuesday
	clock := night
	var cmu sync.Mutex
	now := func() time.Time { cmu.Lock(); defer cmu.Unlock(); return clock }
	hook := newReceiver(t, func(http.Header, []byte) (int, error) { return 200, nil })
	cfg := config.Default()
	cfg.Notify.Webhooks = []config.Channel{
		{Name: "pager-night", Kind: "webhook", URL: hook.URL + "/night", MinLevel: "critical", Schedule: "18:00-08:00; sat-sun"},
		{Name: "hourly", Kind: "webhook", URL: hook.URL + "/digest", MinLevel: "medium", Tags: []string{"hipaa.*"}, Digest: "1h"},
	}
	r := newRig(t, cfg, Options{Location: loc, Now: now})
	ctx := context.Background()
	raise := func(key, level string, tags ...string) {
		if _, err := r.alerts.Add(ctx, []alerts.Alert{{Key: key, Kind: "sigma", RuleID: "r", RuleTitle: key, Level: level, Tags: tags, Time: now()}}); err != nil {
			t.Fatal(err)
		}
	}
	raise("crit-night", "critical")
	raise("med-a", "medium", "hipaa.164.312.b")
	raise("med-b", "high", "hipaa.164.308")
	raise("med-untagged", "high")
	raise("low", "low", "hipaa.x")
	waitFor(t, "the night page", func() bool { return len(hook.got()) == 1 })
	// Daytime: the critical alert does not page.
	cmu.Lock()
	clock = time.Date(2026, 12, 9, 10, 0, 0, 0, loc)
	cmu.Unlock()
	raise("crit-day", "critical")
	if ds, _ := r.d.Deliveries(ctx, Filter{Channel: "pager-night"}); len(ds) != 1 {
		t.Fatalf("day page queued: %+v", ds)
	}
	// The digest of the hour before went out as one message of two.
	waitFor(t, "the digest", func() bool { return len(hook.got()) == 2 })
	var wb WebhookBody
	json.Unmarshal(hook.got()[1], &wb)
	if wb.Type != "digest" || len(wb.Alerts) != 2 {
		t.Fatalf("digest %+v", wb)
	}
	for _, c := range []struct {
		sched string
		at    time.Time
		want  bool
	}{
		{"mon-fri 08:00-18:00", time.Date(2026, 12, 7, 9, 0, 0, 0, loc), true},
		{"mon-fri 08:00-18:00", time.Date(2026, 12, 6, 9, 0, 0, 0, loc), false}, // Sunday
		{"fri 22:00-06:00", time.Date(2026, 12, 12, 3, 0, 0, 0, loc), true},     // Saturday morning
		{"fri 22:00-06:00", time.Date(2026, 12, 11, 3, 0, 0, 0, loc), false},
		{"sat,sun", time.Date(2026, 12, 13, 12, 0, 0, 0, loc), true},
	} {
		s, err := ParseSchedule(c.sched, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Active(c.at); got != c.want {
			t.Errorf("%q at %s: %v, want %v", c.sched, c.at.Format("Mon 15:04"), got, c.want)
		}
	}
	for _, bad := range []string{"mon-fry", "25:00-26:00", "mon 08:00 18:00 x", "08:00"} {
		if _, err := ParseSchedule(bad, loc); err == nil {
			t.Errorf("schedule %q accepted", bad)
		}
	}
}

// TestBackoffAndBoundedRecords: retries wait longer each time up to the
// maximum; the dead-letter list keeps at most MaxDead deliveries (the
// newest) and sent or dead records older than Keep are deleted.
func TestBackoffAndBoundedRecords(t *testing.T) {
	n := &Dispatcher{opt: Options{BaseDelay: 10 * time.Second, MaxDelay: time.Hour}}
	for _, c := range []struct {
		attempts int
		want     time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {9, 2560 * time.Second}, {10, time.Hour}, {60, time.Hour}} {
		if got := n.backoff(c.attempts); got < c.want*8/10 || got > min(c.want*12/10, time.Hour) {
			t.Errorf("backoff after %d attempts: %v, want %v ± 20%%", c.attempts, got, c.want)
		}
	}

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + closed.Addr().String() + "/hook"
	closed.Close()
	ok := newReceiver(t, func(http.Header, []byte) (int, error) { return 200, nil })
	cfg := config.Default()
	cfg.Notify.Webhooks = []config.Channel{{Name: "down", Kind: "webhook", URL: down}, {Name: "up", Kind: "webhook", URL: ok.URL}}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newRig(t, cfg, Options{MaxAttempts: 1, MaxDead: 2, Keep: 24 * time.Hour, Now: clock})
	ctx := context.Background()
	for i := range 4 {
		if _, err := r.alerts.Add(ctx, []alerts.Alert{{Key: fmt.Sprint(i), Kind: "sigma", RuleID: "r", RuleTitle: "t", Level: "high", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(status string) int {
		ds, err := r.d.Deliveries(ctx, Filter{Status: status})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	waitFor(t, "four dead and four sent deliveries", func() bool { return count("dead") == 4 && count("sent") == 4 })
	if n, err := r.d.Prune(ctx); err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want the 2 oldest dead deliveries", n, err)
	}
	dead, _ := r.d.Deliveries(ctx, Filter{Status: "dead"})
	if len(dead) != 2 || dead[0].AlertID != 4 || dead[1].AlertID != 3 {
		t.Fatalf("the dead-letter list kept %+v, want the deliveries of alerts 4 and 3", dead)
	}
	if count("sent") != 4 {
		t.Fatal("sent deliveries younger than Keep were deleted")
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if n, err := r.d.Prune(ctx); err != nil || n != 6 || count("") != 0 {
		t.Fatalf("a day later pruned %d (%v), %d left, want every record gone", n, err, count(""))
	}
}

package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
)

// TestConsoleChannels: a channel defined through the API delivers (signed
// with its secret), survives a restart, keeps its secret when its route is
// changed without it, never shows the secret back; bad definitions are
// refused naming the field; the configuration file's channels cannot be
// changed or removed there.
func TestConsoleChannels(t *testing.T) {
	const secret = "console-secret"
	hook := newReceiver(t, func(h http.Header, body []byte) (int, error) {
		return 204, Verify(secret, body, h.Get("X-Vigil-Signature"), time.Now(), time.Minute)
	})
	path := filepath.Join(t.TempDir(), "vigil.db")
	d, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	as, err := alerts.Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Notify.Webhooks = []config.Channel{{Name: "from-file", Kind: "webhook", URL: hook.URL + "/file", Secret: secret, Where: "vigil.yaml:3"}}
	start := func() (*Dispatcher, *httptest.Server, func()) {
		n, err := New(context.Background(), d, cfg, Options{Alerts: as, BaseDelay: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()
		mux := http.NewServeMux()
		for _, r := range (&Handler{Dispatcher: n, Actor: func(context.Context) string { return "dana" }}).Routes() {
			mux.Handle(r.Pattern, r.Handler)
		}
		srv := httptest.NewServer(mux)
		return n, srv, func() { srv.Close(); cancel(); <-done }
	}
	n, srv, stop := start()
	as.OnChange(func(ctx context.Context, cs []alerts.Change) { n.OnChange(ctx, cs) })
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"webhook","url":"ftp://x"}`, 400, "url: want an http"},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"fax","url":"https://x"}`, 400, "kind: want webhook"},
		{"POST", "/api/v1/notify/channels", `{"name":"bad name!","kind":"webhook","url":"https://x"}`, 400, "name: want"},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"email","to":["not an address"]}`, 400, "is not an e-mail address"},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"webhook","url":"https://x","schedule":"someday"}`, 400, "schedule"},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"webhook","url":"https://x","min_level":"urgent"}`, 400, "min_level"},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"webhook","url":"https://x","colour":"red"}`, 400, "unknown field"},
		{"POST", "/api/v1/notify/channels", `{"name":"from-file","kind":"webhook","url":"https://x"}`, 409, "configuration file"},
		{"DELETE", "/api/v1/notify/channels/from-file", ``, 409, "configuration file"},
		{"PUT", "/api/v1/notify/channels/nobody", `{"kind":"webhook","url":"https://x"}`, 404, "no such channel"},
		{"POST", "/api/v1/notify/channels", fmt.Sprintf(`{"name":"soc","kind":"webhook","url":%q,"secret":%q,"min_level":"high"}`, hook.URL+"/console", secret), 201, `"console":true`},
		{"POST", "/api/v1/notify/channels", `{"name":"soc","kind":"webhook","url":"https://x"}`, 409, "exists"},
	} {
		if code, body := call(c.method, c.path, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", c.method, c.path, c.body, code, body, c.code, c.want)
		}
	}
	raise := func(key, level string) {
		if _, err := as.Add(context.Background(), []alerts.Alert{{Key: key, Kind: "sigma", RuleID: "r", RuleTitle: "t", Level: level, Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	paths := func() (file, console int) {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		for _, b := range hook.bodies {
			var wb WebhookBody
			json.Unmarshal(b, &wb)
			if wb.Channel == "soc" {
				console++
			} else {
				file++
			}
		}
		return
	}
	raise("a", "high")
	waitFor(t, "both channels to deliver", func() bool { f, c := paths(); return f == 1 && c == 1 })
	code, list := call("GET", "/api/v1/notify/channels", "")
	if code != 200 || strings.Contains(list, secret) || !strings.Contains(list, `"defined_at":"console"`) {
		t.Fatalf("channels %d %s", code, list)
	}
	// After a restart the console's channel is there; its route changes
	// without the secret, which is kept (the deliveries still verify).
	stop()
	n, srv, stop = start()
	defer func() { stop() }()
	if code, body := call("PUT", "/api/v1/notify/channels/soc", `{"kind":"webhook","min_level":"critical"}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	raise("b", "high")
	raise("c", "critical")
	waitFor(t, "the critical alert on both channels, the high one on the file's only", func() bool { f, c := paths(); return f == 3 && c == 2 })
	if code, body := call("DELETE", "/api/v1/notify/channels/soc", ""); code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if chs := n.Channels(); len(chs) != 1 || chs[0].Name != "from-file" {
		t.Fatalf("channels after delete: %+v", chs)
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/client"
)

var vigilBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin, "../cmd/vigil")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vigil:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is a running vigil serve.
type instance struct {
	t       *testing.T
	cmd     *exec.Cmd
	dataDir string
	token   string // the ingest token (--ingest-token): sends only
	admin   string // the admin token the server wrote to admin.token

	httpURL string
	udp     string
	tcp     string
	tls     string
	mllp    string
	gelfUDP string
	gelfTCP string
	mu      sync.Mutex
	api     *client.Client
	logs    strings.Builder
	exited  chan struct{}
}

const testToken = "e2e-test-token-0123456789"

// startVigil runs vigil serve on data dir with every listener on a free
// loopback port, and waits until it is ready.
func startVigil(t *testing.T, dataDir string, extra ...string) *instance {
	t.Helper()
	return startVigilUnder(t, nil, dataDir, extra...)
}

// startVigilUnder is startVigil run through a wrapper command (e.g.
// prlimit --nofile=1024:1024 --).
func startVigilUnder(t *testing.T, wrapper []string, dataDir string, extra ...string) *instance {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0",
		"--syslog-udp-addr", "127.0.0.1:0", "--syslog-tcp-addr", "127.0.0.1:0", "--syslog-tls-addr", "127.0.0.1:0",
		"--mllp-addr", "127.0.0.1:0", "--ingest-token", testToken, "--log-format", "json"}, extra...)
	cmd := exec.Command(vigilBin, args...)
	if len(wrapper) > 0 {
		cmd = exec.Command(wrapper[0], append(append(wrapper[1:], vigilBin), args...)...)
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, cmd: cmd, dataDir: dataDir, token: testToken, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			in.mu.Lock()
			in.logs.WriteString(line + "\n")
			in.mu.Unlock()
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			str := func(k string) string { s, _ := m[k].(string); return s }
			switch str("msg") {
			case "HTTP API listening":
				in.mu.Lock()
				in.httpURL = str("url")
				in.mu.Unlock()
			case "syslog listening":
				in.mu.Lock()
				in.udp, in.tcp, in.tls = str("udp"), str("tcp"), str("tls")
				in.mu.Unlock()
			case "GELF listening":
				in.mu.Lock()
				in.gelfUDP, in.gelfTCP = str("udp"), str("tcp")
				in.mu.Unlock()
			case "HL7 MLLP listening":
				in.mu.Lock()
				in.mllp = str("addr")
				in.mu.Unlock()
			case "vigil ready":
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() { in.kill() })
	select {
	case <-ready:
	case <-in.exited:
		t.Fatalf("vigil exited during start-up:\n%s", in.Logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("vigil not ready after 60s:\n%s", in.Logs())
	}
	admin, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if errors.Is(err, fs.ErrNotExist) { // encrypted at rest: in the plaintext view
		admin, err = os.ReadFile(filepath.Join(dataDir, "plain", "admin.token"))
	}
	if err != nil {
		t.Fatalf("the server wrote no admin token: %v", err)
	}
	in.admin = strings.TrimSpace(string(admin))
	return in
}

func (in *instance) Logs() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.logs.String()
}

// client reads with the admin token (the ingest token cannot).
// client is the instance's one API client: its keep-alive connections are
// reused across calls, as a real client's are (a new client per call
// would leave its idle connections open until the server's idle timeout,
// and a long poll would run into the limit of connections per address).
func (in *instance) client() *client.Client {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.api == nil {
		in.api = client.New(in.httpURL, in.admin, false)
	}
	return in.api
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() {
	if in.cmd.Process == nil {
		return
	}
	_ = in.cmd.Process.Kill()
	<-in.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() {
	in.t.Helper()
	_ = in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.exited:
	case <-time.After(2 * time.Minute):
		in.t.Fatalf("vigil did not stop within 2 minutes:\n%s", in.Logs())
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		in.t.Fatalf("vigil exited with %d:\n%s", code, in.Logs())
	}
}

// search returns every event matching q in the last day (and up to a day
// ahead), as flat maps.
func (in *instance) search(q string) []map[string]string {
	in.t.Helper()
	var rows []map[string]string
	err := in.client().Search(context.Background(), client.SearchParams{Query: q, Start: "-3650d", End: time.Now().Add(24 * time.Hour).Format(time.RFC3339), Limit: 0},
		func(line []byte) error {
			var m map[string]string
			if err := json.Unmarshal(line, &m); err != nil {
				return err
			}
			rows = append(rows, m)
			return nil
		})
	if err != nil {
		in.t.Fatalf("search %q: %v", q, err)
	}
	return rows
}

// waitFor polls q until it returns at least n events.
func (in *instance) waitFor(q string, n int, timeout time.Duration) []map[string]string {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows := in.search(q)
		if len(rows) >= n || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// metric reads one sample of /metrics ("name{labels}" as printed).
func (in *instance) metric(series string) (float64, bool) {
	in.t.Helper()
	r, err := newAuthedGet(in.httpURL+"/metrics", in.admin)
	if err != nil {
		return 0, false
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &v)
			return v, true
		}
	}
	return 0, false
}

func hostPort(addr string) (string, string) {
	u, err := url.Parse("x://" + addr)
	if err != nil {
		return addr, ""
	}
	return u.Hostname(), u.Port()
}

// adminCall sends a JSON request with the admin token and decodes the
// answer into out (when not nil); a non-2xx answer is an error.
func (in *instance) adminCall(method, path, body string, out any) error {
	req, err := http.NewRequest(method, in.httpURL+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+in.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// newUser creates a user with roles through the API and replaces its
// one-time password, as a person does at first sign-in; it returns the
// new password.
func (in *instance) newUser(t *testing.T, name string, roles ...string) string {
	t.Helper()
	var created struct {
		OneTimePassword string `json:"one_time_password"`
	}
	body, _ := json.Marshal(map[string]any{"name": name, "roles": roles})
	if err := in.adminCall("POST", "/api/v1/users", string(body), &created); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, csrf string, v any) map[string]any {
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", in.httpURL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, m)
		}
		return m
	}
	m := post("/api/v1/auth/login", "", map[string]string{"username": name, "password": created.OneTimePassword})
	csrf, _ := m["session"].(map[string]any)["csrf_token"].(string)
	pw := "Quartz-lantern-7391"
	post("/api/v1/auth/password", csrf, map[string]string{"current_password": created.OneTimePassword, "new_password": pw})
	post("/api/v1/auth/logout", csrf, map[string]string{})
	return pw
}

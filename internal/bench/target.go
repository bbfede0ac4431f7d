package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-siem/vigil/internal/keyring"
)

// Target is a receiver under test, run as a child process.
type Target interface {
	Name() string
	// Start runs the receiver with its data in dir.
	Start(ctx context.Context, dir string) error
	// SyslogTCP is the address taking octet-counted syslog over TCP.
	SyslogTCP() string
	// PostNDJSON sends one HTTP ingest request; nil when acknowledged.
	PostNDJSON(ctx context.Context, body []byte) error
	// SupportsHTTP tells whether PostNDJSON works.
	SupportsHTTP() bool
	// Stored is how many events are stored so far.
	Stored(ctx context.Context) (int64, error)
	// DataDir is where the receiver keeps everything it writes; StoreDir
	// the part holding the stored events.
	DataDir() string
	StoreDir() string
	PID() int
	// Stop stops the receiver and reports whether it exited by itself.
	Stop() bool
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type proc struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func (p *proc) start(name string, args ...string) error {
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	return p.cmd.Start()
}

func (p *proc) stop() bool {
	if p.cmd == nil || p.cmd.Process == nil {
		return true
	}
	if p.cmd.ProcessState != nil {
		return p.cmd.ProcessState.Success()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(2 * time.Minute):
		p.cmd.Process.Kill()
		<-done
		return false
	}
}

// --- vigil -------------------------------------------------------------

// Vigil runs "vigil serve" from the given binary.
type Vigil struct {
	Bin string
	// Label names this build in the results ("" for the one running).
	Label      string
	SyncAlways bool
	// NoDetect runs without the detector: ingest and storage alone.
	NoDetect bool
	// Encrypted keeps the data dir encrypted at rest (a fresh key in a
	// file beside it).
	Encrypted bool
	// Rules are more rule directories (e.g. the whole SigmaHQ set) and
	// Placeholders their placeholder file.
	Rules        []string
	Placeholders string
	// Args are more flags for vigil serve.
	Args      []string
	p         proc
	dir       string
	http, tcp string
	token     string
	client    *http.Client
}

func (v *Vigil) Name() string {
	name := "vigil"
	if v.Label != "" {
		name += " [" + v.Label + "]"
	}
	if len(v.Rules) > 0 {
		name += " (+" + strconv.Itoa(len(v.Rules)) + " rule dirs)"
	}
	if v.SyncAlways {
		name += " (fsync every batch)"
	}
	if v.NoDetect {
		name += " (detection off)"
	}
	if v.Encrypted {
		name += " (encrypted at rest)"
	}
	if len(v.Args) > 0 {
		name += " (" + strings.Join(v.Args, " ") + ")"
	}
	return name
}

func (v *Vigil) Start(ctx context.Context, dir string) error {
	v.dir, v.token, v.client = dir, "bench-token-0123456789abcdef", &http.Client{}
	var err error
	if v.http, err = freePort(); err != nil {
		return err
	}
	if v.tcp, err = freePort(); err != nil {
		return err
	}
	args := []string{"serve", "--data-dir", dir, "--http-addr", v.http, "--syslog-tcp-addr", v.tcp,
		"--syslog-udp-addr", "", "--syslog-tls-addr", "", "--mllp-addr", "", "--ingest-token", v.token, "--log-level", "warn"}
	if v.SyncAlways {
		args = append(args, "--bus-sync-always")
	}
	if len(v.Rules) > 0 {
		args = append(args, "--detect-rules", strings.Join(v.Rules, ","))
	}
	if v.Placeholders != "" {
		args = append(args, "--detect-placeholders", v.Placeholders)
	}
	if v.NoDetect {
		args = append(args, "--detect-enabled=false")
	}
	if v.Encrypted {
		line, err := keyring.NewKeyLine("bench")
		if err != nil {
			return err
		}
		keys := strings.TrimRight(dir, "/") + ".keys"
		if err := os.WriteFile(keys, []byte(line+"\n"), 0o600); err != nil {
			return err
		}
		args = append(args, "--encryption-key-file", keys)
	}
	args = append(args, v.Args...)
	if err := v.p.start(v.Bin, args...); err != nil {
		return err
	}
	// Compiling thousands of rules takes a while on a busy machine.
	return waitTCP(ctx, v.http, 5*time.Minute)
}

func (v *Vigil) SyslogTCP() string  { return v.tcp }
func (v *Vigil) SupportsHTTP() bool { return true }
func (v *Vigil) DataDir() string    { return v.dir }

// StoreDir is the store's directory; encrypted at rest the store cannot
// be told apart in the ciphertext, so it is the whole data dir.
func (v *Vigil) StoreDir() string {
	if v.Encrypted {
		return v.dir
	}
	return filepath.Join(v.dir, "store")
}

func (v *Vigil) PID() int { return v.p.cmd.Process.Pid }

func (v *Vigil) Stop() bool {
	ok := v.p.stop()
	if v.Encrypted {
		os.Remove(strings.TrimRight(v.dir, "/") + ".keys")
	}
	return ok
}

// Profile writes a CPU profile of the receiver over the next seconds.
func (v *Vigil) Profile(ctx context.Context, seconds int, w io.Writer) error {
	return v.getDebug(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds), w)
}

// getDebug copies one of vigil's /debug/pprof documents to w.
func (v *Vigil) getDebug(ctx context.Context, path string, w io.Writer) error {
	admin, err := v.adminToken()
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

func (v *Vigil) PostNDJSON(ctx context.Context, body []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+v.http+"/api/v1/ingest", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+v.token)
	return doPost(v.client, req)
}

func (v *Vigil) Stored(ctx context.Context) (int64, error) {
	var total int64
	err := v.readMetrics(ctx, func(name, value string) {
		if strings.HasPrefix(name, "vigil_events_stored_total{") {
			f, _ := strconv.ParseFloat(value, 64)
			total += int64(f)
		}
	})
	return total, err
}

// Allocs returns how many heap objects and bytes vigil allocated since it
// started (the Go runtime's counters on /metrics).
func (v *Vigil) Allocs(ctx context.Context) (objects, bytes float64, err error) {
	err = v.readMetrics(ctx, func(name, value string) {
		switch name {
		case "go_memstats_mallocs_total":
			objects, _ = strconv.ParseFloat(value, 64)
		case "go_memstats_alloc_bytes_total":
			bytes, _ = strconv.ParseFloat(value, 64)
		}
	})
	return objects, bytes, err
}

// AllocProfile writes vigil's allocation profile (every allocation
// sampled since it started; go tool pprof -sample_index=alloc_space).
func (v *Vigil) AllocProfile(ctx context.Context, w io.Writer) error {
	return v.getDebug(ctx, "/debug/pprof/allocs", w)
}

// readMetrics calls fn with the name (labels included) and value of every
// sample on vigil's /metrics.
func (v *Vigil) readMetrics(ctx context.Context, fn func(name, value string)) error {
	admin, err := v.adminToken()
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			fn(line[:i], line[i+1:])
		}
	}
	return sc.Err()
}

// adminToken is the token vigil wrote to its data dir at first start: the
// ingest token only sends, it reads neither /metrics nor the profiler.
func (v *Vigil) adminToken() (string, error) {
	admin, err := os.ReadFile(filepath.Join(v.dir, "admin.token"))
	if errors.Is(err, fs.ErrNotExist) { // encrypted at rest: in the view
		admin, err = os.ReadFile(filepath.Join(v.dir, "plain", "admin.token"))
	}
	if err != nil {
		return "", fmt.Errorf("vigil's admin token: %w", err)
	}
	return strings.TrimSpace(string(admin)), nil
}

func doPost(c *http.Client, req *http.Request) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// --- rsyslog -----------------------------------------------------------

// Rsyslog runs rsyslogd receiving octet-counted TCP syslog and writing each
// message to one file (no index, no search).
type Rsyslog struct {
	Bin string
	p   proc
	dir string
	tcp string
	out string
	// counting state
	off   int64
	lines int64
}

func (r *Rsyslog) Name() string       { return "rsyslog → file" }
func (r *Rsyslog) SyslogTCP() string  { return r.tcp }
func (r *Rsyslog) SupportsHTTP() bool { return false }
func (r *Rsyslog) DataDir() string    { return filepath.Join(r.dir, "out") }
func (r *Rsyslog) StoreDir() string   { return r.DataDir() }
func (r *Rsyslog) PID() int           { return r.p.cmd.Process.Pid }
func (r *Rsyslog) Stop() bool         { return r.p.stop() }
func (r *Rsyslog) PostNDJSON(context.Context, []byte) error {
	return fmt.Errorf("rsyslog has no HTTP input here")
}

func (r *Rsyslog) Start(ctx context.Context, dir string) error {
	r.dir = dir
	var err error
	if r.tcp, err = freePort(); err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(r.tcp)
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		return err
	}
	r.out = filepath.Join(dir, "out", "messages.log")
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k")
module(load="imtcp" MaxSessions="1000")
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="line" type="string" string="%%TIMESTAMP:::date-rfc3339%% %%HOSTNAME%% %%syslogtag%%%%msg%%\n")
action(type="omfile" file=%q template="line" asyncWriting="on" ioBufferSize="256k" flushOnTXEnd="off")
`, dir, port, r.out)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	if err := r.p.start(r.Bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslog.pid")); err != nil {
		return err
	}
	return waitTCP(ctx, r.tcp, 30*time.Second)
}

// Stored counts the lines written so far.
func (r *Rsyslog) Stored(context.Context) (int64, error) {
	f, err := os.Open(r.out)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		r.lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		r.off += int64(n)
		if err != nil {
			break
		}
	}
	return r.lines, nil
}

// --- VictoriaLogs ------------------------------------------------------

// VictoriaLogs runs a victoria-logs server taking syslog over TCP and JSON
// lines over HTTP.
type VictoriaLogs struct {
	Bin       string
	p         proc
	dir       string
	http, tcp string
	client    *http.Client
}

func (v *VictoriaLogs) Name() string       { return "VictoriaLogs server" }
func (v *VictoriaLogs) SyslogTCP() string  { return v.tcp }
func (v *VictoriaLogs) SupportsHTTP() bool { return true }
func (v *VictoriaLogs) DataDir() string    { return filepath.Join(v.dir, "data") }
func (v *VictoriaLogs) StoreDir() string   { return v.DataDir() }
func (v *VictoriaLogs) PID() int           { return v.p.cmd.Process.Pid }
func (v *VictoriaLogs) Stop() bool         { return v.p.stop() }

// Profile writes a CPU profile of the server over the next seconds (it
// serves Go's profiler on its HTTP port), to compare where it spends its
// time on the same library with Vigil's profile.
func (v *VictoriaLogs) Profile(ctx context.Context, seconds int, w io.Writer) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", v.http, seconds), nil)
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: HTTP %d", resp.StatusCode)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

func (v *VictoriaLogs) Start(ctx context.Context, dir string) error {
	v.dir, v.client = dir, &http.Client{}
	var err error
	if v.http, err = freePort(); err != nil {
		return err
	}
	if v.tcp, err = freePort(); err != nil {
		return err
	}
	if err := v.p.start(v.Bin, "-storageDataPath", v.DataDir(), "-httpListenAddr", v.http,
		"-syslog.listenAddr.tcp", v.tcp, "-retentionPeriod", "400d", "-loggerLevel", "WARN"); err != nil {
		return err
	}
	return waitTCP(ctx, v.http, 60*time.Second)
}

func (v *VictoriaLogs) PostNDJSON(ctx context.Context, body []byte) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost,
		"http://"+v.http+"/insert/jsonline?_msg_field=message&_time_field=@timestamp&_stream_fields=host.name,process.name", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/stream+json")
	return doPost(v.client, req)
}

// Stored counts rows searchable so far.
func (v *VictoriaLogs) Stored(ctx context.Context) (int64, error) {
	q := "http://" + v.http + "/select/logsql/query?query=" + "*%20%7C%20stats%20count()%20n"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, q, nil)
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var row struct {
		N string `json:"n"`
	}
	data, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &row); err != nil {
		return 0, fmt.Errorf("VictoriaLogs count: %s", data)
	}
	return strconv.ParseInt(row.N, 10, 64)
}

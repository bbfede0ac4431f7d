package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The privacy benchmark: a hospital's history loaded the way a hospital
// loads its own into a running server — the roster (vigil workforce
// import), the ADT history over MLLP (vigil hl7 send), then the EHR access
// log (vigil ehr import, Epic preset) — timing the import of the access
// log until every access is stored and has passed the detector (the
// explanation happens on the way in, before an event is stored; the
// privacy rules run in the detector). The files are those vigil simulate
// --export writes.

// PrivacyConfig is one privacy benchmark run.
type PrivacyConfig struct {
	// Bin is the vigil binary: the server and the import commands.
	Bin string
	// Dir holds the export: roster.csv, adt.hl7, access_log.csv.
	Dir string
	// Accesses is how many rows access_log.csv holds.
	Accesses int
	// Timezone is the hospital's (detect.timezone of the server).
	Timezone string
	Timeout  time.Duration
	// Profile, when set, receives a CPU profile of the server taken
	// during the import, over ProfileSeconds.
	Profile        io.Writer
	ProfileSeconds int
	// Args are more flags for vigil serve.
	Args []string
	// Status receives progress lines.
	Status io.Writer
}

// PrivacyResult is what a privacy benchmark run measured.
type PrivacyResult struct {
	Accesses int
	// ImportSeconds is how long vigil ehr import ran (until its last
	// request was acknowledged); Seconds until every access was stored and
	// through the detector.
	ImportSeconds, Seconds float64
	AccessesPerSec         float64
	// CPUSeconds is the server's CPU time over the import (from the first
	// request to the last access through the detector); ImportCPUSeconds
	// the import command's.
	CPUSeconds, ImportCPUSeconds float64
	PeakRSS                      int64
	// Explained and Unexplained count the accesses the server explained
	// or not during the import; PrivacyAlerts the privacy alerts raised.
	Explained, Unexplained, PrivacyAlerts int64
	ADTMessages                           int64
	ADTSeconds                            float64
	// Load and LoadAfter are the machine's load averages when the import
	// started and when it was through.
	Load, LoadAfter string
}

// CPUMicrosPerAccess is the server's CPU time per access imported.
func (r PrivacyResult) CPUMicrosPerAccess() float64 {
	return r.CPUSeconds * 1e6 / float64(r.Accesses)
}

// RunPrivacy starts a server in dir and runs the privacy benchmark.
func RunPrivacy(ctx context.Context, dir string, cfg PrivacyConfig) (PrivacyResult, error) {
	res := PrivacyResult{Accesses: cfg.Accesses}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.Status == nil {
		cfg.Status = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	mllp, err := freePort()
	if err != nil {
		return res, err
	}
	v := &Vigil{Bin: cfg.Bin, Args: append([]string{"--mllp-addr", mllp, "--detect-timezone", cfg.Timezone}, cfg.Args...)}
	if err := v.Start(ctx, dir); err != nil {
		return res, fmt.Errorf("start vigil: %w\n%s", err, v.p.out.String())
	}
	defer v.Stop()
	admin, err := v.adminToken()
	if err != nil {
		return res, err
	}
	server := "http://" + v.http
	run := func(args ...string) (float64, error) {
		cmd := exec.CommandContext(ctx, cfg.Bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("vigil %s: %w\n%s", args[0]+" "+args[1], err, lastLines(out.String(), 10))
		}
		fmt.Fprint(cfg.Status, "  ", lastLines(out.String(), 2))
		ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if ru == nil {
			return 0, nil
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
	}
	if _, err := run("workforce", "import", "--server", server, "--token", admin, filepath.Join(cfg.Dir, "roster.csv")); err != nil {
		return res, err
	}
	t0 := time.Now()
	if _, err := run("hl7", "send", "--mllp", mllp, filepath.Join(cfg.Dir, "adt.hl7")); err != nil {
		return res, err
	}
	// Every ADT message is an event too: wait until the server has stored
	// and evaluated all of them, then start from its counters.
	if err := waitQuiet(ctx, v); err != nil {
		return res, err
	}
	res.ADTSeconds = time.Since(t0).Seconds()
	base, err := v.metrics(ctx)
	if err != nil {
		return res, err
	}
	res.ADTMessages = base.sum("vigil_events_stored_total{")
	fmt.Fprintf(cfg.Status, "  ADT history stored and evaluated: %d events in %.1f s\n", res.ADTMessages, res.ADTSeconds)

	res.Load = loadAverage()
	cpu0, err := cpuSeconds(v.PID())
	if err != nil {
		return res, err
	}
	profiled := make(chan error, 1)
	if cfg.Profile != nil {
		secs := max(cfg.ProfileSeconds, 1)
		go func() { profiled <- v.Profile(ctx, secs, cfg.Profile) }()
	} else {
		profiled <- nil
	}
	start := time.Now()
	state := filepath.Join(dir, "import-state.json")
	importCPU, err := run("ehr", "import", "--preset", "epic", "--server", server, "--token", admin, "--state", state,
		filepath.Join(cfg.Dir, "access_log.csv"))
	if err != nil {
		return res, err
	}
	res.ImportSeconds, res.ImportCPUSeconds = time.Since(start).Seconds(), importCPU
	want := int64(cfg.Accesses)
	for {
		m, err := v.metrics(ctx)
		if err != nil {
			return res, err
		}
		stored := m.sum("vigil_events_stored_total{") - base.sum("vigil_events_stored_total{")
		detected := m.sum("vigil_detect_events_total") - base.sum("vigil_detect_events_total")
		if stored >= want && detected >= want {
			res.Seconds = time.Since(start).Seconds()
			cpu1, err := cpuSeconds(v.PID())
			if err != nil {
				return res, err
			}
			res.CPUSeconds, res.LoadAfter = cpu1-cpu0, loadAverage()
			res.Explained = m.sum(`vigil_privacy_accesses_total{explained="true"}`) - base.sum(`vigil_privacy_accesses_total{explained="true"}`)
			res.Unexplained = m.sum(`vigil_privacy_accesses_total{explained="false"}`) - base.sum(`vigil_privacy_accesses_total{explained="false"}`)
			res.PrivacyAlerts = m.sum(`vigil_alerts_raised_total{kind="privacy"`) - base.sum(`vigil_alerts_raised_total{kind="privacy"`)
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("after %s: %d of %d accesses stored, %d through the detector: %w",
				time.Since(start).Round(time.Second), stored, want, detected, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.AccessesPerSec = float64(cfg.Accesses) / res.Seconds
	if rss, err := peakRSS(v.PID()); err == nil {
		res.PeakRSS = rss
	}
	if err := <-profiled; err != nil {
		fmt.Fprintf(cfg.Status, "  profile: %v\n", err)
	}
	return res, nil
}

// waitQuiet waits until the server has stored and evaluated every event
// it took: the counters agree and stay still for a second.
func waitQuiet(ctx context.Context, v *Vigil) error {
	var last int64 = -1
	still := time.Time{}
	for {
		m, err := v.metrics(ctx)
		if err != nil {
			return err
		}
		stored, detected := m.sum("vigil_events_stored_total{"), m.sum("vigil_detect_events_total")
		switch {
		case stored != detected || stored != last:
			last, still = stored, time.Now()
		case time.Since(still) >= time.Second:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metricLines are the lines of a /metrics answer.
type metricLines []string

// sum adds the values of the series whose line starts with prefix.
func (m metricLines) sum(prefix string) int64 {
	var total float64
	for _, line := range m {
		if strings.HasPrefix(line, prefix) {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			total += f
		}
	}
	return int64(total)
}

// metrics reads the server's /metrics.
func (v *Vigil) metrics(ctx context.Context) (metricLines, error) {
	admin, err := v.adminToken()
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+v.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	var out metricLines
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && line[0] != '#' {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// lastLines is the end of a command's output.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// loadAverage is the machine's load average, as uptime shows it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

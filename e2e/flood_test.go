package e2e

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/bench"
)

// TestSyslogFloodStaysWithinMemory is issue 11's memory item: offered far
// more syslog than it can store (four connections writing as fast as the
// server reads, hundreds of times its storing rate here), the server
// does not buffer in memory: the listeners take what the bus accepts, the
// backlog waits in the bus on disk, the queues between the bus and the
// store writer and detector hold a few batches each. Every event sent is
// stored in the end, and the peak RSS of the process (VmHWM) stays within
// memory.limit plus 128 MiB (the limit is Go's soft limit on its heap;
// stacks, the runtime's own structures and pages not yet returned to the
// system come on top). The 60,000 events held in memory as decoded events
// would be ~200 MiB more.
func TestSyslogFloodStaysWithinMemory(t *testing.T) {
	const (
		limitMiB = 256
		conns    = 4
		perConn  = 15_000
	)
	// A bus far smaller than the flood: the senders are held back by a
	// full bus and must go on as soon as the consumers free space (they
	// hold acknowledgements until their checkpoints, every 30 s for the
	// detector, unless the bus is full).
	in := startVigil(t, t.TempDir(), "--memory-limit", strconv.Itoa(limitMiB)+"MiB", "--bus-max-bytes", "2MiB")
	pid := in.cmd.Process.Pid

	g := bench.NewWorkload(bench.WorkloadOpenSSH, 11)
	payloads := make([][]byte, conns)
	for c := range payloads {
		var b []byte
		for range perConn {
			e := g.Next()
			b = strconv.AppendInt(b, int64(len(e.Syslog)), 10)
			b = append(b, ' ')
			b = append(b, e.Syslog...)
		}
		payloads[c] = b
	}
	start := time.Now()
	errs := make(chan error, conns)
	for _, p := range payloads {
		go func() {
			conn, err := net.Dial("tcp", in.tcp)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			_, err = conn.Write(p)
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	sendTime := time.Since(start)

	// Until everything is stored, watch the backlog in the bus.
	want := float64(conns * perConn)
	deadline := time.Now().Add(3 * time.Minute)
	var stored, busPeak float64
	for {
		select {
		case <-in.exited:
			t.Fatalf("vigil exited during the flood:\n%s", in.Logs())
		default:
		}
		if v, ok := in.metric("vigil_bus_bytes"); ok {
			busPeak = max(busPeak, v)
		}
		stored = in.metricSum("vigil_events_stored_total")
		if stored >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	storeTime := time.Since(start)
	peak := vmKB(t, pid, "VmHWM")
	t.Logf("%d events: sent in %s, stored in %s; bus backlog peak %.1f MiB; peak RSS %d MiB (memory.limit %d MiB)",
		int(want), sendTime.Round(time.Millisecond), storeTime.Round(time.Millisecond), busPeak/(1<<20), peak>>10, limitMiB)
	if stored != want {
		t.Fatalf("stored %.0f events, sent %.0f", stored, want)
	}
	if peak>>10 > limitMiB+128 {
		t.Errorf("peak RSS %d MiB over memory.limit (%d MiB) + 128 MiB", peak>>10, limitMiB)
	}
	// It was an overload: the backlog filled the bus, which refused
	// batches until the consumers freed space.
	if refused := in.metricSum("vigil_bus_full_refusals_total"); busPeak < 1<<20 || refused == 0 {
		t.Errorf("bus backlog peaked at %.0f bytes, %.0f batches refused: the flood did not overload the server", busPeak, refused)
	}
}

// metricSum adds every series of a metric in /metrics.
func (in *instance) metricSum(name string) float64 {
	in.t.Helper()
	r, err := newAuthedGet(in.httpURL+"/metrics", in.admin)
	if err != nil {
		return 0
	}
	defer r.Close()
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			sum += v
		}
	}
	return sum
}

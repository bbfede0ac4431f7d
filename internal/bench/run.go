package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Config is one benchmark run.
type Config struct {
	Transport string // "tcp" or "http"
	Workload  string // WorkloadOpenSSH or WorkloadMix
	Events    int
	Conns     int // TCP connections or concurrent HTTP clients
	Batch     int // events per HTTP request
	Seed      uint64
	Timeout   time.Duration
	// Profile, when set, receives a CPU profile of the receiver (when it
	// can give one) taken while it ingests, over ProfileSeconds.
	Profile        io.Writer
	ProfileSeconds int
	// AllocProfile, when set, receives the receiver's allocation profile
	// of the whole run (when it can give one), once every event is stored.
	AllocProfile io.Writer
}

// Profiler is a receiver that can profile itself.
type Profiler interface {
	Profile(ctx context.Context, seconds int, w io.Writer) error
}

// AllocCounter is a receiver that counts its heap allocations since it
// started.
type AllocCounter interface {
	Allocs(ctx context.Context) (objects, bytes float64, err error)
}

// AllocProfiler is a receiver that can give its allocation profile.
type AllocProfiler interface {
	AllocProfile(ctx context.Context, w io.Writer) error
}

// Result is what one run measured.
type Result struct {
	Target, Transport string
	Events            int
	InputBytes        int64
	SendSeconds       float64 // until the last byte was sent / last request acknowledged
	StoredSeconds     float64 // until every event was stored
	EventsPerSec      float64 // Events / StoredSeconds
	// DiskBytes is the receiver's whole data dir after a clean stop;
	// StoreBytes the part holding the searchable events (Vigil's store, the
	// others' whole data), for comparison with the peers.
	DiskBytes, StoreBytes int64
	PeakRSS               int64
	// Load is the machine's load average when the run started.
	Load string
	// CleanStop is false when the receiver had to be killed at the end
	// (its disk figures may then miss what it would have flushed).
	CleanStop bool
	// CPUSeconds is the receiver's CPU time from start to all stored: a
	// measure that other load on the machine does not inflate.
	CPUSeconds float64
	// AllocObjects and AllocBytes are the heap allocations of the
	// receiver from the first byte sent to the last event stored (0 when
	// it does not count them: the peers).
	AllocObjects, AllocBytes float64
}

// EventsPerCPUSecond is events stored per second of the receiver's CPU.
func (r Result) EventsPerCPUSecond() float64 {
	if r.CPUSeconds == 0 {
		return 0
	}
	return float64(r.Events) / r.CPUSeconds
}

// BytesPerEvent is disk use per stored event: the whole data dir.
func (r Result) BytesPerEvent() float64 { return float64(r.DiskBytes) / float64(r.Events) }

// StoreBytesPerEvent is the store's disk use per stored event.
func (r Result) StoreBytesPerEvent() float64 { return float64(r.StoreBytes) / float64(r.Events) }

// CPUMicrosPerEvent is the receiver's CPU time per stored event.
func (r Result) CPUMicrosPerEvent() float64 { return r.CPUSeconds * 1e6 / float64(r.Events) }

// AllocsPerEvent is the receiver's heap allocations per stored event.
func (r Result) AllocsPerEvent() float64 { return r.AllocObjects / float64(r.Events) }

// AllocBytesPerEvent is the receiver's allocated heap bytes per stored event.
func (r Result) AllocBytesPerEvent() float64 { return r.AllocBytes / float64(r.Events) }

// Run starts t in dir, sends the events and measures.
func Run(ctx context.Context, t Target, dir string, cfg Config) (Result, error) {
	res := Result{Target: t.Name(), Transport: cfg.Transport, Events: cfg.Events}
	if cfg.Conns <= 0 {
		cfg.Conns = 2
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.Transport == "http" && !t.SupportsHTTP() {
		return res, fmt.Errorf("%s has no HTTP input", t.Name())
	}
	// Build the payloads first so generation is not measured.
	if cfg.Workload == "" {
		cfg.Workload = WorkloadOpenSSH
	}
	g := NewWorkload(cfg.Workload, cfg.Seed)
	payloads := make([][][]byte, cfg.Conns) // per connection/client: chunks to send
	for i := 0; i < cfg.Events; {
		for c := 0; c < cfg.Conns && i < cfg.Events; c++ {
			var chunk []byte
			for j := 0; j < cfg.Batch && i < cfg.Events; j, i = j+1, i+1 {
				e := g.Next()
				if cfg.Transport == "tcp" {
					chunk = strconv.AppendInt(chunk, int64(len(e.Syslog)), 10)
					chunk = append(chunk, ' ')
					chunk = append(chunk, e.Syslog...)
				} else {
					chunk = append(chunk, e.JSON...)
					chunk = append(chunk, '\n')
				}
			}
			res.InputBytes += int64(len(chunk))
			payloads[c] = append(payloads[c], chunk)
		}
	}
	if err := t.Start(ctx, dir); err != nil {
		t.Stop()
		return res, fmt.Errorf("start %s: %w", t.Name(), err)
	}
	defer t.Stop()

	cpu0, _ := cpuSeconds(t.PID())
	ac, counts := t.(AllocCounter)
	var objects0, bytes0 float64
	if counts {
		var err error
		if objects0, bytes0, err = ac.Allocs(ctx); err != nil {
			counts = false
		}
	}
	start := time.Now()
	profiled := make(chan error, 1)
	if p, ok := t.(Profiler); ok && cfg.Profile != nil {
		secs := cfg.ProfileSeconds
		if secs <= 0 {
			secs = 10
		}
		go func() { profiled <- p.Profile(ctx, secs, cfg.Profile) }()
	} else {
		profiled <- nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Conns)
	for c := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.Transport == "tcp" {
				errs <- sendTCP(t.SyslogTCP(), payloads[c])
				return
			}
			for _, body := range payloads[c] {
				if err := t.PostNDJSON(ctx, body); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return res, fmt.Errorf("sending to %s: %w", t.Name(), err)
		}
	}
	res.SendSeconds = time.Since(start).Seconds()
	deadline := start.Add(cfg.Timeout)
	var stored int64
	for {
		n, err := t.Stored(ctx)
		if err == nil {
			stored = n
		}
		if stored >= int64(cfg.Events) {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%s stored %d of %d events within %s", t.Name(), stored, cfg.Events, cfg.Timeout)
		}
		time.Sleep(storedPoll)
	}
	res.StoredSeconds = time.Since(start).Seconds()
	res.EventsPerSec = float64(cfg.Events) / res.StoredSeconds
	if cpu, err := cpuSeconds(t.PID()); err == nil {
		res.CPUSeconds = cpu - cpu0
	}
	if rss, err := peakRSS(t.PID()); err == nil {
		res.PeakRSS = rss
	}
	if counts {
		if objects, bytes, err := ac.Allocs(ctx); err == nil {
			res.AllocObjects, res.AllocBytes = objects-objects0, bytes-bytes0
		}
	}
	if ap, ok := t.(AllocProfiler); ok && cfg.AllocProfile != nil {
		if err := ap.AllocProfile(ctx, cfg.AllocProfile); err != nil {
			return res, fmt.Errorf("allocation profile of %s: %w", t.Name(), err)
		}
	}
	if err := <-profiled; err != nil {
		return res, fmt.Errorf("profiling %s: %w", t.Name(), err)
	}
	res.CleanStop = t.Stop() // flush everything before measuring the disk
	res.DiskBytes = diskUsage(t.DataDir())
	res.StoreBytes = diskUsage(t.StoreDir())
	return res, nil
}

// storedPoll is how often Run asks a receiver how many events it stored.
// Each ask of vigil is a scrape of its /metrics (some 30,000 allocations
// of the receiver's own): every 50 ms, as before, that was most of the
// allocations counted per message on a loaded machine, where the last
// events take minutes to be stored. A quarter second bounds the error
// on the time until stored to 0.25 s.
const storedPoll = 250 * time.Millisecond

func sendTCP(addr string, chunks [][]byte) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, c := range chunks {
		if _, err := conn.Write(c); err != nil {
			return err
		}
	}
	return nil // Close sends what is buffered, then FIN
}

// Markdown formats results as a table.
func Markdown(rs []Result) string {
	s := "| receiver | transport | events | msgs/s (until stored) | CPU µs/msg | allocs/msg | alloc B/msg | peak RSS MiB | disk B/msg (data dir) | store B/msg | send s | stored s | input B/msg | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
	for _, r := range rs {
		clean := ""
		if !r.CleanStop {
			clean = " (killed at stop)"
		}
		allocs, allocBytes := "—", "—"
		if r.AllocObjects > 0 {
			allocs, allocBytes = fmt.Sprintf("%.1f", r.AllocsPerEvent()), fmt.Sprintf("%.0f", r.AllocBytesPerEvent())
		}
		s += fmt.Sprintf("| %s | %s | %d | %.0f | %.1f | %s | %s | %.0f | %.1f%s | %.1f | %.2f | %.2f | %.1f | %s |\n", r.Target, r.Transport, r.Events, r.EventsPerSec,
			r.CPUMicrosPerEvent(), allocs, allocBytes, float64(r.PeakRSS)/(1<<20), r.BytesPerEvent(), clean, r.StoreBytesPerEvent(), r.SendSeconds, r.StoredSeconds, float64(r.InputBytes)/float64(r.Events), r.Load)
	}
	return s
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMixedFloodBesideSteadySender is issue 10's soak: while a mixed flood
// runs (UDP syslog garbage and future-dated lines, idle TCP syslog
// connections, idle HTTP connections, HTTP requests with bad tokens and
// bad bodies), a steady sender posts batches over HTTP and resends what
// was not acknowledged. Every acknowledged event is stored exactly once,
// the server stays up and ready, and its peak RSS stays under the ceiling
// its memory budget sets.
func TestMixedFloodBesideSteadySender(t *testing.T) {
	const budget = 128 << 20
	in := startVigil(t, t.TempDir(), "--ingest-memory-budget", "128MiB", "--http-unauthenticated-idle-timeout", "2s")
	pid := in.cmd.Process.Pid
	base := vmKB(t, pid, "VmRSS")
	run := fmt.Sprintf("soak%d", time.Now().UnixNano())
	httpAddr := strings.TrimPrefix(in.httpURL, "http://")

	stop := make(chan struct{})
	var badAnswered atomic.Int64
	var flood sync.WaitGroup
	var held []net.Conn
	var heldMu sync.Mutex
	hold := func(c net.Conn) {
		heldMu.Lock()
		held = append(held, c)
		heldMu.Unlock()
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// UDP syslog: garbage and lines dated 2030, as fast as they go.
	flood.Add(1)
	go func() {
		defer flood.Done()
		c, err := net.Dial("udp", in.udp)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				fmt.Fprintf(c, "<13>1 2030-01-01T00:00:00Z attacker app - - - flood %d", i)
			} else {
				c.Write([]byte{0, 0xff, '<', '9', '9', '9', '>', byte(i)})
			}
		}
	}()
	// Idle TCP syslog and idle HTTP connections.
	flood.Add(1)
	go func() {
		defer flood.Done()
		for i := 0; i < 300; i++ {
			for _, addr := range []string{in.tcp, httpAddr} {
				if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
					hold(c)
				}
			}
		}
	}()
	// Bad HTTP: wrong tokens, garbage gzip, garbage JSON.
	flood.Add(1)
	go func() {
		defer flood.Done()
		hc := &http.Client{Timeout: 10 * time.Second}
		for i := 0; i < 300; i++ {
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodPost, in.httpURL+"/api/v1/ingest", strings.NewReader("{not json\n\x00\x01"))
			switch i % 3 {
			case 0:
				req.Header.Set("Authorization", "Bearer wrong-token")
			case 1:
				req.Header.Set("Authorization", "Bearer "+in.token)
				req.Header.Set("Content-Encoding", "gzip")
			case 2:
				req.Header.Set("Authorization", "Bearer "+in.token)
			}
			if resp, err := hc.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 4 {
					badAnswered.Add(1)
				}
			}
		}
	}()

	// The steady sender: 40 batches of 25 events; what is not
	// acknowledged is sent again.
	hc := &http.Client{Timeout: 30 * time.Second}
	acked := map[int]bool{}
	pending := []int{}
	next := 0
	deadline := time.Now().Add(3 * time.Minute)
	for (next < 1000 || len(pending) > 0) && time.Now().Before(deadline) {
		for len(pending) < 25 && next < 1000 {
			pending = append(pending, next)
			next++
		}
		var body bytes.Buffer
		for _, seq := range pending {
			fmt.Fprintf(&body, `{"message":"%s event %d","labels":{"seq":"%d"}}`+"\n", run, seq, seq)
		}
		req, _ := http.NewRequest(http.MethodPost, in.httpURL+"/api/v1/ingest", &body)
		req.Header.Set("Authorization", "Bearer "+in.token)
		resp, err := hc.Do(req)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var res struct {
			Accepted int `json:"accepted"`
		}
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 503 {
			t.Fatalf("steady sender answered %d", resp.StatusCode)
		}
		// Accepted events are a prefix of the request.
		for _, seq := range pending[:res.Accepted] {
			if acked[seq] {
				t.Fatalf("event %d acknowledged twice", seq)
			}
			acked[seq] = true
		}
		pending = pending[res.Accepted:]
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	flood.Wait()
	if badAnswered.Load() == 0 || len(held) == 0 {
		t.Fatalf("the flood did not reach the server: %d bad requests refused, %d idle connections", badAnswered.Load(), len(held))
	}
	if len(acked) != 1000 {
		t.Fatalf("%d of 1000 events acknowledged within the time", len(acked))
	}

	rows := in.waitFor(`"`+run+`"`, 1000, 60*time.Second)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["labels.seq"]]++
	}
	for seq := range 1000 {
		if n := seen[fmt.Sprint(seq)]; n != 1 {
			t.Errorf("event %d stored %d times", seq, n)
		}
	}
	select {
	case <-in.exited:
		t.Fatalf("vigil exited:\n%s", in.Logs())
	default:
	}
	if c := readyz(in); c != 200 {
		t.Errorf("/readyz after the flood: %d", c)
	}
	peak := vmKB(t, pid, "VmHWM")
	t.Logf("%d events stored beside %d bad requests refused and %d idle connections; RSS at start %d MiB, peak %d MiB", len(rows), badAnswered.Load(), len(held), base>>10, peak>>10)
	if ceiling := base + 2*budget>>10 + 256<<10; peak > ceiling {
		t.Errorf("peak RSS %d MiB over the ceiling of %d MiB", peak>>10, ceiling>>10)
	}
}

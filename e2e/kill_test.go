package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// loader posts batches of uniquely numbered events until stopped or the
// server goes away, and remembers which were acknowledged (HTTP 2xx).
type loader struct {
	mu    sync.Mutex
	acked map[string]bool
	sent  int
}

func (l *loader) run(ctx context.Context, url, token, prefix string, batch int) {
	hc := &http.Client{Timeout: 30 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		var body bytes.Buffer
		ids := make([]string, batch)
		for i := range batch {
			ids[i] = fmt.Sprintf("%s-%d-%d", prefix, n, i)
			fmt.Fprintf(&body, `{"message":"kill test event %s","test.id":"%s","host.name":"loader","user.name":"u%d"}`+"\n", ids[i], ids[i], i)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/ingest", &body)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		l.mu.Lock()
		l.sent += batch
		l.mu.Unlock()
		if err != nil {
			return // killed: this batch's fate is unknown, and it was not acknowledged
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			l.mu.Lock()
			for _, id := range ids {
				l.acked[id] = true
			}
			l.mu.Unlock()
		}
	}
}

// TestKill9LosesNothingAcknowledged kills vigil serve with SIGKILL at random
// moments while four clients send, restarts it on the same data dir, and
// checks that every acknowledged event is searchable exactly once and no
// event is stored twice.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test takes about a minute; skipped with -short")
	}
	dataDir := t.TempDir()
	l := &loader{acked: map[string]bool{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	const cycles = 3
	var in *instance
	for cycle := range cycles {
		in = startVigil(t, dataDir)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.run(ctx, in.httpURL, in.token, fmt.Sprintf("c%dw%d", cycle, w), 20+w*40)
			}()
		}
		// Kill at a random moment: during request handling, bus publish,
		// store writes, flushes or checkpoint writes.
		time.Sleep(time.Duration(800+rng.IntN(2500)) * time.Millisecond)
		in.kill()
		cancel()
		wg.Wait()
		t.Logf("cycle %d: killed after %d events sent, %d acknowledged so far", cycle, l.sent, len(l.acked))
	}
	in = startVigil(t, dataDir)
	// Wait until the store writer has caught up: the bus is empty and the
	// stored count no longer moves.
	deadline := time.Now().Add(60 * time.Second)
	last := -1.0
	for time.Now().Before(deadline) {
		lag, ok1 := in.metric(`vigil_bus_lag_batches{consumer="store-writer"}`)
		seq, ok2 := in.metric("vigil_store_checkpoint_sequence")
		t.Logf("waiting for the store writer: lag %v, checkpoint %v", lag, seq)
		if ok1 && ok2 && lag == 0 && seq == last {
			break
		}
		last = seq
		time.Sleep(1500 * time.Millisecond)
	}
	counts := map[string]int{}
	for _, r := range in.search(`test.id:* | fields test.id`) {
		counts[r["test.id"]]++
	}
	missing, doubled := 0, 0
	var examples []string
	for id := range l.acked {
		if counts[id] == 0 {
			missing++
			if len(examples) < 5 {
				examples = append(examples, "missing "+id)
			}
		}
	}
	for id, n := range counts {
		if n > 1 {
			doubled++
			if len(examples) < 10 {
				examples = append(examples, fmt.Sprintf("%s stored %d times", id, n))
			}
		}
	}
	t.Logf("%d events sent, %d acknowledged, %d stored", l.sent, len(l.acked), len(counts))
	if len(l.acked) < 1000 {
		t.Fatalf("only %d events acknowledged: the load did not run", len(l.acked))
	}
	if missing > 0 || doubled > 0 {
		for _, line := range strings.Split(in.Logs(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				t.Log(line)
			}
		}
		t.Fatalf("%d acknowledged events missing, %d events stored more than once: %s", missing, doubled, strings.Join(examples, "; "))
	}
	// Every batch stored across the kills, including those a killed run
	// stored in part, is sealed, and the stored events match their seals.
	out, code := runVigil(t, "verify", "--server", in.httpURL, "--token", in.admin)
	if code != 0 {
		t.Fatalf("vigil verify after the kills: exit %d:\n%s", code, out)
	}
	t.Logf("vigil verify: %s", strings.TrimSpace(out))
}

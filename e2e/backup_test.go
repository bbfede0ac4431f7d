package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/backup"
)

// timedLoader posts batches of numbered events and remembers when each
// was acknowledged.
type timedLoader struct {
	mu    sync.Mutex
	acked map[string]time.Time
}

func (l *timedLoader) run(ctx context.Context, url, token, prefix string) {
	hc := &http.Client{Timeout: 30 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		var body bytes.Buffer
		ids := make([]string, 50)
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%d-%d", prefix, n, i)
			fmt.Fprintf(&body, `{"message":"backup test event %s","test.id":"%s","user.name":"u%d"}`+"\n", ids[i], ids[i], i%7)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/ingest", &body)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			now := time.Now()
			l.mu.Lock()
			for _, id := range ids {
				l.acked[id] = now
			}
			l.mu.Unlock()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedIDs maps test.id to vigil.id for every stored event.
func (in *instance) storedIDs() map[string]string {
	out := map[string]string{}
	for _, r := range in.search(`test.id:* | fields test.id, vigil.id`) {
		out[r["test.id"]] = r["vigil.id"]
	}
	return out
}

func seqOf(id string) uint64 {
	s, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// TestBackupUnderLoadRestore backs up a server twice while clients send,
// restores the second backup into a new data dir, starts it, and checks
// that it holds exactly the events the backup says it holds (every event
// stored up to the snapshot's bus sequence), that they verify against
// their seals, and that the restored server takes new events. It measures
// the recovery time (restore plus start until ready) and the recovery
// point (acknowledged events the backup lacks, by how long before the
// snapshot they were acknowledged).
func TestBackupUnderLoadRestore(t *testing.T) {
	dataDir := t.TempDir()
	target := filepath.Join(t.TempDir(), "backups")
	in := startVigil(t, dataDir)
	l := &timedLoader{acked: map[string]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() { l.run(ctx, in.httpURL, in.token, fmt.Sprintf("w%d", w)) })
	}
	server := []string{"--server", in.httpURL, "--token", in.admin}
	time.Sleep(2 * time.Second)
	if out, code := runVigil(t, append([]string{"backup", "--to", target}, server...)...); code != 0 {
		t.Fatalf("first backup: exit %d\n%s", code, out)
	}
	time.Sleep(2 * time.Second)
	out, code := runVigil(t, append([]string{"backup", "--to", target}, server...)...)
	if code != 0 {
		t.Fatalf("second backup: exit %d\n%s", code, out)
	}
	t.Logf("second backup under load:\n%s", out)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	tg, err := backup.OpenTarget(target, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := backup.List(context.Background(), tg)
	if err != nil || len(ms) != 2 {
		t.Fatalf("%d backups (%v), want 2", len(ms), err)
	}
	first, m := ms[0], ms[1]
	if m.Stats.NewBytes >= m.Stats.Bytes || m.Previous != first.ID {
		t.Fatalf("second backup not incremental: %+v", m.Stats)
	}
	// What the original holds, once everything on the bus is stored.
	var orig map[string]string
	for range 50 {
		orig = in.storedIDs()
		l.mu.Lock()
		n := len(l.acked)
		l.mu.Unlock()
		if len(orig) >= n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	newDir := filepath.Join(t.TempDir(), "restored")
	start := time.Now()
	out, code = runVigil(t, "restore", "--from", target, "--data-dir", newDir)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
	restoreTook := time.Since(start)
	in2 := startVigil(t, newDir)
	rto := time.Since(start)
	got := in2.storedIDs()
	want := map[string]string{}
	for tid, vid := range orig {
		if seqOf(vid) <= m.Stored {
			want[tid] = vid
		}
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("restored instance holds %d events, the original %d up to bus sequence %d", len(got), len(want), m.Stored)
	}
	for tid, vid := range want {
		if got[tid] != vid {
			t.Fatalf("event %s: restored as %q, original %q", tid, got[tid], vid)
		}
	}
	// Recovery point: acknowledged before the snapshot but not in the
	// backup (they were on the bus, not yet in the store).
	var lost int
	var oldest time.Duration
	l.mu.Lock()
	for id, at := range l.acked {
		if at.Before(m.Snapshot) && got[id] == "" {
			lost++
			oldest = max(oldest, m.Snapshot.Sub(at))
		}
	}
	total := len(l.acked)
	l.mu.Unlock()
	t.Logf("RTO: restore %s, restore + start until ready %s (%d files, %.1f MiB); RPO: %d of %d acknowledged events were acknowledged before the snapshot but not in it, the oldest %s before it; %d events in the backup",
		restoreTook.Round(time.Millisecond), rto.Round(time.Millisecond), len(m.Files), float64(m.Stats.Bytes)/(1<<20), lost, total, oldest.Round(time.Millisecond), len(got))
	if oldest > 10*time.Second {
		t.Errorf("an event acknowledged %s before the snapshot is not in the backup", oldest)
	}
	// The restored instance verifies, and goes on.
	server2 := []string{"--server", in2.httpURL, "--token", in2.admin}
	if out, code := runVigil(t, append([]string{"verify"}, server2...)...); code != 0 {
		t.Fatalf("verify the restored instance: exit %d\n%s", code, out)
	}
	in2.ingestNDJSON(t, `{"message":"after the restore","test.id":"after-1"}`)
	rows := in2.waitFor(`test.id:after-1`, 1, 20*time.Second)
	if len(rows) != 1 || seqOf(rows[0]["vigil.id"]) <= m.Stored {
		t.Fatalf("event after the restore: %v (its bus sequence must follow %d)", rows, m.Stored)
	}
	time.Sleep(time.Second)
	out, code = runVigil(t, append([]string{"verify"}, server2...)...)
	if code != 0 {
		t.Fatalf("verify the restored instance after new events: exit %d\n%s", code, out)
	}
	t.Logf("restored instance: %s", strings.TrimSpace(out))
}

package bus

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/fdlimit"
)

// TestPublishRecoversAfterDescriptorExhaustion: with every file descriptor
// of the process taken, publishing may fail; once they are free again the
// bus takes batches without being reopened (issue 10: after a connection
// flood, ingest kept failing until a restart).
func TestPublishRecoversAfterDescriptorExhaustion(t *testing.T) {
	h := fdlimit.Headroom()
	if h < 0 || h > 100_000 {
		t.Skipf("descriptor headroom unknown or too large to exhaust here (%d)", h)
	}
	b, err := Open(context.Background(), Config{Dir: t.TempDir(), MaxBatchBytes: 1 << 20}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	payload := make([]byte, 512<<10)
	publish := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := b.Publish(ctx, "test", payload)
		return err
	}
	if err := publish(); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			break
		}
		files = append(files, f)
	}
	failed := 0
	for range 40 { // 20 MiB: new message blocks are needed
		if publish() != nil {
			failed++
		}
	}
	for _, f := range files {
		f.Close()
	}
	t.Logf("%d of 40 publishes failed while descriptors were exhausted", failed)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := publish()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bus still refuses batches 10s after descriptors were freed: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for range 20 {
		if err := publish(); err != nil {
			t.Fatalf("publish after recovery: %v", err)
		}
	}
}

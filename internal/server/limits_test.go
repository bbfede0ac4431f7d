package server

import (
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/fdlimit"
	"github.com/vigil-siem/vigil/internal/store"
)

type countingStore struct {
	store.Store
	added atomic.Int64
}

func (c *countingStore) Add(evs []event.Event) { c.added.Add(int64(len(evs))) }
func (c *countingStore) Flush()                {}

// TestStoreWaitsForDescriptors: when the process runs short of file
// descriptors, the store writer waits instead of letting the store fail
// to create a file (it exits then), /readyz says why, and storing resumes
// on its own once descriptors are free.
func TestStoreWaitsForDescriptors(t *testing.T) {
	h := fdlimit.Headroom()
	if h < 0 || h > 100_000 {
		t.Skipf("descriptor headroom unknown or too large to exhaust here (%d)", h)
	}
	s := &Server{log: slog.New(slog.DiscardHandler)}
	s.writerAlive.Store(true)
	s.limits.minHeadroom = 64
	cs := &countingStore{}
	g := &fdGuard{Store: cs, s: s}
	// Take descriptors until only 32 are left.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for range h - 32 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if got := fdlimit.Headroom(); got > 40 {
		t.Fatalf("headroom %d after taking descriptors, want about 32", got)
	}
	done := make(chan struct{})
	go func() { g.Add(make([]event.Event, 3)); close(done) }()
	time.Sleep(700 * time.Millisecond)
	if cs.added.Load() != 0 {
		t.Fatal("the store was written with 32 descriptors left")
	}
	if err := s.ready(); err != errLowFDs {
		t.Fatalf("ready() = %v, want %v", err, errLowFDs)
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("storing did not resume once descriptors were free")
	}
	if cs.added.Load() != 3 || s.ready() != nil {
		t.Fatalf("after: %d events stored, ready() = %v", cs.added.Load(), s.ready())
	}
}

package bus

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestPublishConsumeAckRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(ctx, Config{Dir: dir}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Consumer(ctx, "writer", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, p := range []string{"a", "b", "c"} {
		seq, err := b.Publish(ctx, "http", []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	if seqs[0] != 1 || seqs[2] != 3 {
		t.Fatalf("sequences %v, want 1..3", seqs)
	}
	msgs, err := c.Fetch(ctx, 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || string(msgs[1].Data) != "b" || msgs[1].Seq != 2 || msgs[1].Source != "http" || msgs[0].Deliver != 1 {
		t.Fatalf("got %+v", msgs)
	}
	// Acknowledge the first and the second only.
	for _, m := range msgs[:2] {
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	// Acknowledgements are asynchronous: wait until the server took them.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if floor, err := c.AckFloor(ctx); err == nil && floor == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("acknowledgements not registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()

	// After a restart the third batch, never acknowledged, comes again.
	b, err = Open(ctx, Config{Dir: dir}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, err = b.Consumer(ctx, "writer", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err = c.Fetch(ctx, 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || string(msgs[0].Data) != "c" || msgs[0].Seq != 3 {
		t.Fatalf("after restart got %+v, want only batch 3", msgs)
	}
	if lag, err := c.Lag(ctx); err != nil || lag != 1 {
		t.Fatalf("lag %d (%v), want 1", lag, err)
	}
}

func TestFullStreamRefusesNewBatches(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, Config{Dir: t.TempDir(), MaxBytes: 64 << 10, MaxBatchBytes: 16 << 10}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Consumer(ctx, "writer", time.Minute); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 10<<10)
	var full error
	for i := 0; i < 20 && full == nil; i++ {
		_, full = b.Publish(ctx, "http", payload)
	}
	if !errors.Is(full, ErrFull) {
		t.Fatalf("got %v, want ErrFull", full)
	}
	if _, err := b.Publish(ctx, "http", make([]byte, 17<<10)); err == nil {
		t.Fatal("oversized batch accepted")
	}
}

func TestFirstSeqContinuesAnotherInstance(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(ctx, Config{Dir: dir, FirstSeq: 1000}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	seq, err := b.Publish(ctx, "test", []byte("x"))
	if err != nil || seq != 1000 {
		t.Fatalf("first batch got sequence %d (%v), want 1000", seq, err)
	}
	b.Close()
	// An existing stream keeps its sequences whatever FirstSeq says.
	b, err = Open(ctx, Config{Dir: dir, FirstSeq: 5000}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if seq, err = b.Publish(ctx, "test", []byte("y")); err != nil || seq != 1001 {
		t.Fatalf("after reopening: sequence %d (%v), want 1001", seq, err)
	}
}

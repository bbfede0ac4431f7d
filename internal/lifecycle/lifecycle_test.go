package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStartInOrderStopInReverse(t *testing.T) {
	var log []string
	comp := func(name string) Component {
		return Component{Name: name, Start: func(context.Context) (StopFunc, error) {
			log = append(log, "start "+name)
			return func(context.Context) error { log = append(log, "stop "+name); return nil }, nil
		}}
	}
	disabled := Component{Name: "off", Start: func(context.Context) (StopFunc, error) { return nil, nil }}
	var g Group
	if err := g.Start(context.Background(), []Component{comp("store"), comp("bus"), disabled, comp("http")}); err != nil {
		t.Fatal(err)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Stop(context.Background()); err != nil { // once only
		t.Fatal(err)
	}
	got := strings.Join(log, ",")
	want := "start store,start bus,start http,stop http,stop bus,stop store"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestFailedStartStopsWhatStarted(t *testing.T) {
	var log []string
	var g Group
	err := g.Start(context.Background(), []Component{
		{Name: "store", Start: func(context.Context) (StopFunc, error) {
			return func(context.Context) error { log = append(log, "stop store"); return errors.New("flush failed") }, nil
		}},
		{Name: "bus", Start: func(context.Context) (StopFunc, error) { return nil, errors.New("port in use") }},
		{Name: "never", Start: func(context.Context) (StopFunc, error) { t.Fatal("started after a failure"); return nil, nil }},
	})
	if err == nil || !strings.Contains(err.Error(), "bus: port in use") || !strings.Contains(err.Error(), "stop store: flush failed") {
		t.Fatalf("error %v: want the failed component and the stop error", err)
	}
	if strings.Join(log, ",") != "stop store" {
		t.Fatalf("stopped %v", log)
	}
}

func TestGoCancelsAndWaits(t *testing.T) {
	finished := false
	stop := Go(func(ctx context.Context) error {
		<-ctx.Done()
		finished = true
		return errors.New("final checkpoint failed")
	})
	err := stop(context.Background())
	if !finished || err == nil || err.Error() != "final checkpoint failed" {
		t.Fatalf("finished %v, err %v", finished, err)
	}
	if err2 := stop(context.Background()); err2 != err {
		t.Fatalf("second stop: %v", err2)
	}
}

func TestChainRunsAll(t *testing.T) {
	var n int
	s := Chain(func(context.Context) error { n++; return errors.New("a") }, nil, func(context.Context) error { n++; return nil })
	if err := s(context.Background()); err == nil || n != 2 {
		t.Fatalf("n %d, err %v", n, err)
	}
}

func TestGoUntilDoneWaitsThenCancels(t *testing.T) {
	input := make(chan struct{})
	cancelled := false
	stop := GoUntilDone(func(ctx context.Context) error {
		select {
		case <-input: // its input closed: it finishes by itself
		case <-ctx.Done():
			cancelled = true
		}
		return nil
	}, time.Minute)
	close(input)
	if err := stop(context.Background()); err != nil || cancelled {
		t.Fatalf("err %v, cancelled %v: want a natural end", err, cancelled)
	}
	stop = GoUntilDone(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, 10*time.Millisecond)
	if err := stop(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("stuck work: err %v, want it cancelled after the grace", err)
	}
}

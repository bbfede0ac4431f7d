package engine

import (
	"sync"
	"testing"
)

// TestConcurrentMatch runs Engine.Match from several goroutines (run with
// -race): the engine is shared, workers and lazily built automata are not
// raced on.
func TestConcurrentMatch(t *testing.T) {
	rs := loadCorpus(t)
	e := mustCompile(t, subset(rs, 300), "vigil", Options{})
	stream := benchStream(t)[:600]
	want := 0
	for i := range stream {
		want += e.Match(&stream[i], func(*Match) {})
	}
	var wg sync.WaitGroup
	got := make([]int, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range stream {
				got[g] += e.Match(&stream[i], func(*Match) {})
			}
		}(g)
	}
	wg.Wait()
	for g, n := range got {
		if n != want {
			t.Errorf("goroutine %d: %d matches, want %d", g, n, want)
		}
	}
	if s := e.Stats(); s.Events == 0 {
		t.Errorf("stats: %+v", s)
	}
}

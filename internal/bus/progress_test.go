package bus

import "testing"

func TestProgress(t *testing.T) {
	p := NewProgress(10)
	if !p.Seen(10) || p.Seen(11) {
		t.Fatal("initial state")
	}
	p.Mark(12)
	p.Mark(14)
	if p.Done() != 10 || !p.Seen(12) || p.Seen(13) || p.Pending() != 2 || p.Max() != 14 {
		t.Fatalf("gaps: done %d pending %d max %d", p.Done(), p.Pending(), p.Max())
	}
	p.Mark(11)
	if p.Done() != 12 || p.Pending() != 1 {
		t.Fatalf("after 11: done %d pending %d", p.Done(), p.Pending())
	}
	p.Mark(13)
	p.Mark(13)
	p.Mark(5)
	if p.Done() != 14 || p.Pending() != 0 || !p.Seen(14) || p.Seen(15) {
		t.Fatalf("closed: done %d pending %d", p.Done(), p.Pending())
	}
}

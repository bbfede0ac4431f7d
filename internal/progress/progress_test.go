package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBarDrawsWhenEnabled(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	b := newBar(&out, "sending", 2048, true, clock)
	now = now.Add(time.Second)
	b.Add(1024, 10)
	b.Finish()
	got := out.String()
	for _, want := range []string{"sending", " 50.0%", "1.0 KiB", "10 items", "10/s"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

func TestBarSilentWhenNotTerminal(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "x", 10)
	if _, err := io.ReadAll(b.Reader(strings.NewReader("hello"))); err != nil {
		t.Fatal(err)
	}
	b.Finish()
	if out.Len() != 0 {
		t.Fatalf("drew %q on a non-terminal", out.String())
	}
	if b.done != 5 {
		t.Fatalf("counted %d bytes, want 5", b.done)
	}
}

func TestHumanBytes(t *testing.T) {
	f := func(n int64, want string) {
		t.Helper()
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	f(0, "0 B")
	f(1023, "1023 B")
	f(1536, "1.5 KiB")
	f(5<<30, "5.0 GiB")
}

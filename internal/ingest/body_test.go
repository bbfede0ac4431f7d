package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func readBody(t *testing.T, body []byte, enc string, max int64) ([]byte, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	if enc != "" {
		r.Header.Set("Content-Encoding", enc)
	}
	b, err := Body(httptest.NewRecorder(), r, max)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return io.ReadAll(b)
}

func gz(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestBody(t *testing.T) {
	got, err := readBody(t, []byte("0123456789"), "", 10)
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("exactly at the limit: %q %v", got, err)
	}
	if _, err := readBody(t, []byte("0123456789x"), "", 10); !IsTooLarge(err) {
		t.Fatalf("over the limit: %v", err)
	}
	got, err = readBody(t, gz([]byte("hello")), "gzip", 100)
	if err != nil || string(got) != "hello" {
		t.Fatalf("gzip: %q %v", got, err)
	}
	// A small bomb: 1 MiB of zeros in a few KiB.
	bomb := gz(make([]byte, 1<<20))
	if _, err := readBody(t, bomb, "x-gzip", 64<<10); !IsTooLarge(err) || len(bomb) > 64<<10 {
		t.Fatalf("gzip bomb: %v (%d compressed bytes)", err, len(bomb))
	}
	var ee *EncodingError
	if _, err := readBody(t, []byte("not gzip"), "gzip", 100); !errors.As(err, &ee) || ee.Unsupported || !strings.Contains(err.Error(), "invalid gzip body") {
		t.Fatalf("bad gzip: %v", err)
	}
	if _, err := readBody(t, []byte("x"), "br", 100); !errors.As(err, &ee) || !ee.Unsupported || !strings.Contains(err.Error(), `"br"`) {
		t.Fatalf("brotli: %v", err)
	}
}

// TestBudgetBoundsConcurrentBodies: bodies read under a shared budget take
// at most the budget together; a request that cannot get memory in time
// is told to come back (ErrBusy), one that alone exceeds the budget is too
// large, and closing a body gives its memory back.
func TestBudgetBoundsConcurrentBodies(t *testing.T) {
	refused := 0
	b := NewBudget(8<<20, func() { refused++ })
	b.wait = 50 * time.Millisecond
	read := func(size int) (io.ReadCloser, error) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(make([]byte, size)))
		r = r.WithContext(context.WithValue(r.Context(), budgetKey{}, b))
		body, err := Body(httptest.NewRecorder(), r, 64<<20)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, body)
		if err != nil {
			body.Close() // as handlers do, failed or not
		}
		return body, err
	}
	first, err := read(1 << 20) // charged 5 MiB (factor 5, in 1.25 MiB steps)
	if err != nil {
		t.Fatal(err)
	}
	if used := b.Used(); used < 5<<20 || used > 8<<20 {
		t.Fatalf("used %d after a 1 MiB body", used)
	}
	if _, err := read(1 << 20); !IsBusy(err) {
		t.Fatalf("second body while the first holds the budget: %v, want busy", err)
	}
	first.Close()
	if b.Used() != 0 {
		t.Fatalf("used %d after closing", b.Used())
	}
	if _, err := read(4 << 20); !IsTooLarge(err) {
		t.Fatalf("a body needing more than the whole budget: %v, want too large", err)
	}
	if b.Used() != 0 {
		t.Fatalf("used %d after a refused body", b.Used())
	}
	second, err := read(1 << 20)
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	second.Close()
	// A body that needs almost the whole budget fits: the last step of
	// charge is cut to what is left, not refused as too large.
	whole, err := read(8<<20/DefaultBudgetFactor - 4<<10)
	if err != nil {
		t.Fatalf("a body needing just under the budget: %v", err)
	}
	whole.Close()
	if refused != 1 {
		t.Errorf("refused %d, want 1", refused)
	}
}

// TestBudgetConcurrentBodiesMakeProgress: two bodies read at the same time
// that each need more than half the budget. When the budget is spent, the
// one that finds it so gives its memory back at once and is told to come
// back, and the other completes. Before, both held their part and waited
// for the other's until both were refused.
func TestBudgetConcurrentBodiesMakeProgress(t *testing.T) {
	b := NewBudget(8<<20, nil)
	b.wait = 3 * time.Second
	start := func() (*io.PipeWriter, chan error) {
		pr, pw := io.Pipe()
		r := httptest.NewRequest(http.MethodPost, "/", pr)
		r = r.WithContext(context.WithValue(r.Context(), budgetKey{}, b))
		done := make(chan error, 1)
		go func() {
			body, err := Body(httptest.NewRecorder(), r, 64<<20)
			if err == nil {
				_, err = io.Copy(io.Discard, body)
				body.Close()
			}
			pr.CloseWithError(errors.New("reader stopped")) // unblocks the writer after a refusal
			done <- err
		}()
		return pw, done
	}
	pa, da := start()
	pb, db := start()
	chunk := make([]byte, 256<<10) // charged 1.25 MiB each; 4 per body: 5 MiB of 8
	began := time.Now()
	for range 4 {
		pa.Write(chunk)
		pb.Write(chunk)
	}
	pa.Close()
	pb.Close()
	errA, errB := <-da, <-db
	took := time.Since(began)
	ok, busy := 0, 0
	for _, err := range []error{errA, errB} {
		switch {
		case err == nil:
			ok++
		case IsBusy(err):
			busy++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || busy != 1 {
		t.Fatalf("%d completed, %d busy (after %v): want one of each", ok, busy, took)
	}
	if took >= b.wait {
		t.Errorf("took %v: a body waited for memory the other held", took)
	}
	if b.Used() != 0 {
		t.Errorf("used %d after both bodies closed", b.Used())
	}
}

package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

package client

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestImportMarksRequests: a client doing a historical import says so on
// every ingest request.
func TestImportMarksRequests(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Query().Get("import"))
		w.Write([]byte(`{"accepted":1}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "t", false)
	if _, err := c.Ingest(context.Background(), "", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	c.Import = true
	if _, err := c.Ingest(context.Background(), "syslog", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "" || got[1] != "true" {
		t.Fatalf("import parameters %q, want \"\" then \"true\"", got)
	}
}

// TestIngestCompression: an ingest body goes gzip-compressed to a server
// elsewhere and as it is to one on this machine.
func TestIngestCompression(t *testing.T) {
	var enc []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc = append(enc, r.Header.Get("Content-Encoding"))
		w.Write([]byte(`{"accepted":1}`))
	}))
	defer srv.Close()
	if _, err := New(srv.URL, "t", false).Ingest(context.Background(), "", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	// The same server named by a name that is not loopback: a proxy
	// from the environment is not involved (the transport dials the test server).
	c := New(strings.Replace(srv.URL, "127.0.0.1", "vigil.test", 1), "t", false)
	tr := c.HTTP.Transport.(*http.Transport)
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	if _, err := c.Ingest(context.Background(), "", []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if len(enc) != 2 || enc[0] != "" || enc[1] != "gzip" {
		t.Fatalf("content encodings %q, want none to loopback, gzip elsewhere", enc)
	}
	for host, want := range map[string]bool{"http://127.0.0.1:8080": true, "https://localhost": true, "http://[::1]:80": true,
		"https://siem.hospital.org": false, "http://10.0.0.5:8080": false} {
		if isLoopback(host) != want {
			t.Errorf("isLoopback(%s) = %v", host, !want)
		}
	}
}

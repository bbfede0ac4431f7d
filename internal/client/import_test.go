package client

import (
	"context"
	"net/http"
	"net/http/httptest"
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

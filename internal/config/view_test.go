package config

import (
	"strings"
	"testing"
)

func TestSettingsRedactSecrets(t *testing.T) {
	c := Default()
	c.Ingest.Token = "a-very-secret-token-value"
	c.HTTP.Addr = "127.0.0.1:9999"
	got := map[string]Setting{}
	for _, s := range Settings(c) {
		got[s.Key] = s
		if strings.Contains(s.Value, "a-very-secret") || strings.Contains(s.Default, "a-very-secret") {
			t.Fatalf("%s shows a secret: %+v", s.Key, s)
		}
	}
	if s := got["ingest.token"]; !s.Secret || s.Value != Redacted || !s.Changed {
		t.Fatalf("ingest.token: %+v", s)
	}
	if s := got["http.addr"]; s.Secret || s.Value != "127.0.0.1:9999" || !s.Changed || s.Default == "" {
		t.Fatalf("http.addr: %+v", s)
	}
	if s := got["store.retention"]; s.Changed || s.Value == "" {
		t.Fatalf("store.retention: %+v", s)
	}
	if len(got) != len(keys) {
		t.Fatalf("%d settings for %d keys", len(got), len(keys))
	}
}

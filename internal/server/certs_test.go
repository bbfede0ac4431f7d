package server

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"

	"github.com/vigil-siem/vigil/internal/config"
)

// TestExtraSANs: the names senders use (tls.extra_sans) are in the
// generated HTTPS certificate, so that clients verifying the name work.
func TestExtraSANs(t *testing.T) {
	s, _ := startTest(t, func(c *config.Config) {
		c.HTTP.TLS = "always"
		c.TLS.ExtraSANs = []string{"siem.example.org", "10.9.8.7"}
	})
	data, err := os.ReadFile(s.HTTPCertFile)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s holds no PEM block", s.HTTPCertFile)
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"siem.example.org", "10.9.8.7", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}

package certs

import (
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEnsureSelfSignedIsStable(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := EnsureSelfSigned(dir, "syslog", []string{"siem.example.org", "10.1.2.3"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Generated {
		t.Fatal("first call did not generate")
	}
	b, err := EnsureSelfSigned(dir, "syslog", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Generated || b.Fingerprint != a.Fingerprint {
		t.Fatalf("second call: generated=%v fingerprint %s vs %s", b.Generated, b.Fingerprint, a.Fingerprint)
	}
	if len(a.Fingerprint) != 95 || strings.Count(a.Fingerprint, ":") != 31 {
		t.Fatalf("fingerprint format %q", a.Fingerprint)
	}
	leaf, err := x509.ParseCertificate(a.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("siem.example.org"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("10.1.2.3"); err != nil {
		t.Error(err)
	}
	st, err := os.Stat(dir + "/syslog.key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode(), err)
	}
}

func TestClientCAsRejectsGarbage(t *testing.T) {
	p := t.TempDir() + "/ca.pem"
	os.WriteFile(p, []byte("not pem"), 0o600)
	if _, err := ClientCAs(p); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("got %v", err)
	}
}

// TestGeneratedNamesTheHost is issue 10's finding: the generated syslog
// certificate named only localhost and 127.0.0.1, so a sender verifying
// the name (rsyslog x509/name) could not reach it by the host's name or
// address. It now names the host and its addresses; an existing one that
// lacks a name asked for says so.
func TestGeneratedNamesTheHost(t *testing.T) {
	dir := t.TempDir()
	l, err := EnsureSelfSigned(dir, "syslog", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(l.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	names := HostNames()
	if len(names) == 0 {
		t.Skip("this machine has no host name and no non-loopback address to check")
	}
	for _, h := range names {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("generated certificate does not name %s: %v", h, err)
		}
	}
	again, err := EnsureSelfSigned(dir, "syslog", []string{names[0], "siem.example.org"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Missing) != 1 || again.Missing[0] != "siem.example.org" {
		t.Fatalf("missing %q, want [siem.example.org]", again.Missing)
	}
}

// Package mailtest runs a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit, pinned in .ci/run and built from its Go
// module there), on loopback ports, with STARTTLS on a self-signed
// certificate and any user name and password accepted. Tests read what it
// received through mailpit's API. Without the binary (VIGIL_TEST_MAILPIT,
// or mailpit on the PATH) the test is skipped with a message saying how to
// get it.
package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/certs"
)

// Server is a running mailpit.
type Server struct {
	Host string // 127.0.0.1
	Port int    // SMTP (STARTTLS required)
	API  string // http://127.0.0.1:PORT
	// TLS trusts the server's certificate; CertFile is it in PEM.
	TLS      *tls.Config
	CertFile string
}

// Message is one received message as mailpit lists it.
type Message struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	From    struct {
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Binary finds mailpit, or "".
func Binary() string {
	if p := os.Getenv("VIGIL_TEST_MAILPIT"); p != "" {
		return p
	}
	p, _ := exec.LookPath("mailpit")
	return p
}

// Start runs mailpit until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("mailpit not found: set VIGIL_TEST_MAILPIT or run `GOBIN=$PWD/bin go install github.com/axllent/mailpit@v1.33.1` (.ci/run does)")
	}
	dir := t.TempDir()
	cert, err := certs.EnsureSelfSigned(dir, "smtp", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(mustParse(t, cert.Cert.Certificate[0]))
	smtpPort, apiPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--database", filepath.Join(dir, "mailpit.db"), "--smtp-tls-cert", filepath.Join(dir, "smtp.crt"), "--smtp-tls-key", filepath.Join(dir, "smtp.key"),
		"--smtp-require-starttls", "--smtp-auth-accept-any", "--smtp-disable-rdns", "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s := &Server{Host: "127.0.0.1", Port: smtpPort, API: fmt.Sprintf("http://127.0.0.1:%d", apiPort), TLS: &tls.Config{RootCAs: pool}, CertFile: filepath.Join(dir, "smtp.crt")}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.API + "/api/v1/messages")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", smtpPort)); err == nil {
				c.Close()
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Messages lists what mailpit received, newest first.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var res struct {
		Messages []Message `json:"messages"`
	}
	s.get(t, "/api/v1/messages", &res)
	return res.Messages
}

// Text returns a message's plain-text body.
func (s *Server) Text(t testing.TB, id string) string {
	t.Helper()
	var res struct {
		Text string `json:"Text"`
	}
	s.get(t, "/api/v1/message/"+id, &res)
	return res.Text
}

// Wait waits up to timeout for n messages.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := s.Messages(t)
		if len(ms) >= n || time.Now().After(deadline) {
			return ms
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) get(t testing.TB, path string, v any) {
	resp, err := http.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
}

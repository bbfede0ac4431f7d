package server

import (
	"net"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/config"
)

// TestGELFIdleTimeoutConfigured: gelf.idle_timeout reaches the GELF TCP
// listener, so a silent connection is closed after it.
func TestGELFIdleTimeoutConfigured(t *testing.T) {
	s, _ := startTest(t, func(c *config.Config) {
		c.GELF.TCPAddr = "127.0.0.1:0"
		c.GELF.IdleTimeout = config.Duration(time.Second)
	})
	_, tcp := s.GELFAddrs()
	c, err := net.Dial("tcp", tcp.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the server sent something")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("silent connection closed after %v, want about 1s", d)
	}
}

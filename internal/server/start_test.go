package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/config"
)

// TestFailedStartReportsPromptly: a server that cannot start says which
// component failed and why within seconds, wherever in the start order it
// fails. A component failing after the store writer and the detector
// started but before the bus dispatcher did used to make Start wait out
// their one-minute drain grace for a queue nothing would ever close.
func TestFailedStartReportsPromptly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"drill without a target", func(c *config.Config) { c.Backup.DrillInterval = config.Duration(time.Hour) },
			"backups: backup.drill_interval needs backup.to"},
		{"reports mailed without SMTP", func(c *config.Config) {
			c.Reports.Interval, c.Reports.EmailTo = config.Duration(time.Hour), []string{"privacy@example.org"}
		}, "reports: reports.email_to needs an SMTP server"},
		{"HTTP port in use", func(c *config.Config) { c.HTTP.Addr = busy.Addr().String() },
			"http: HTTP listener on " + busy.Addr().String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.HTTP.Addr = "127.0.0.1:0"
			cfg.Syslog.UDPAddr, cfg.Syslog.TCPAddr, cfg.Syslog.TLSAddr, cfg.MLLP.Addr = "", "", "", ""
			c.mod(cfg)
			began := time.Now()
			s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			took := time.Since(began)
			if err == nil {
				s.Stop(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			// Seconds, not the minute of a drain grace; generous for a
			// loaded machine.
			if took > 20*time.Second {
				t.Errorf("failed start took %v to report %q", took.Round(time.Millisecond), err)
			}
			t.Logf("%v: %v", took.Round(time.Millisecond), err)
		})
	}
}

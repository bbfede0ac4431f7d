package normalize

import (
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// BenchmarkParseNormalize measures syslog parsing plus normalization, the
// work a syslog listener does per message before the bus: over the mix of
// testdata/syslog.input (70 lines, most of them authentication messages),
// and for single typical messages. Each message gets a fresh event, as on
// the listener (events go to the bus).
func BenchmarkParseNormalize(b *testing.B) {
	p := &syslog.Parser{Now: func() time.Time { return goldenNow }, KeepOriginal: true}
	lines := readLines(b, "testdata/syslog.input")
	msgs := make([][]byte, len(lines))
	var size int
	for i, l := range lines {
		msgs[i] = []byte(l)
		size += len(l)
	}
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size / len(msgs)))
		i := 0
		cpu := cputime.Self()
		for b.Loop() {
			e := event.Event{Fields: make([]event.Field, 0, syslog.FieldsHint)}
			_ = p.Parse(msgs[i], &e)
			Syslog(&e)
			if i++; i == len(msgs) {
				i = 0
			}
		}
		reportCPU(b, cpu)
	})
	for _, bm := range []struct{ name, msg string }{
		{"sshd-rfc3164", "<38>Nov 28 10:00:01 web01.example.org sshd[12345]: Accepted password for alice from 192.0.2.10 port 52211 ssh2"},
		{"sudo-iso", "<86>2024-11-28T10:00:01.123456+01:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update"},
		{"pam-rfc5424", "<86>1 2024-11-28T10:25:00.000001+00:00 web03 sshd 5200 - - pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root"},
		{"pam-old", "<86>Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root"},
		{"year-after-host", "2006.01.04 node17 Jan 4 07:00:01 node17/node17 crond[1234]: (root) CMD (run-parts /etc/cron.hourly)"},
		{"not-auth", "<30>Nov 28 10:32:00 web01 systemd[1]: Started Session 42 of User alice."},
	} {
		b.Run(bm.name, func(b *testing.B) {
			msg := []byte(bm.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			cpu := cputime.Self()
			for b.Loop() {
				e := event.Event{Fields: make([]event.Field, 0, syslog.FieldsHint)}
				_ = p.Parse(msg, &e)
				Syslog(&e)
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the CPU time per message since start, and the
// messages per second of CPU time it means (one core's worth).
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	per := float64(cputime.Self()-start) / float64(b.N)
	b.ReportMetric(per, "cpu-ns/op")
	b.ReportMetric(1e9/per, "msgs/cpu-s")
}

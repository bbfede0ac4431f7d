package syslog

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
)

var benchMessages = []struct{ name, msg string }{
	{"rfc3164", "<38>Nov 28 10:00:01 web01.example.org sshd[12345]: Accepted password for alice from 192.0.2.10 port 52211 ssh2"},
	{"rfc3164-nopri", "Nov 28 10:00:01 web01 sshd[12345]: Failed password for invalid user admin from 203.0.113.5 port 40022 ssh2"},
	{"rfc3164-iso", "<86>2024-11-28T10:00:01.123456+01:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update"},
	{"cisco", "<189>237: 000485: *Nov 28 10:33:00.295: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (10.0.0.5)"},
	{"rfc5424", "<86>1 2024-11-28T10:25:00.000001+00:00 web03 sshd 5200 - - Accepted password for alice from 192.0.2.10 port 52211 ssh2"},
	{"rfc5424-sd", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`},
	{"invalid", "<999>Nov 28 10:00:01 web01 app: bad PRI"},
}

// BenchmarkParse measures Parser.Parse per message form, with a fresh
// event each time as a listener does (events go to the bus), and with one
// event reused (the parser's own cost).
func BenchmarkParse(b *testing.B) {
	p := &Parser{Now: fixedClock(testNow), KeepOriginal: true}
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			msg := []byte(bm.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			cpu := cputime.Self()
			for b.Loop() {
				e := event.Event{Fields: make([]event.Field, 0, FieldsHint)}
				_ = p.Parse(msg, &e)
			}
			reportCPU(b, cpu)
		})
		b.Run(bm.name+"/reuse", func(b *testing.B) {
			msg := []byte(bm.msg)
			var e event.Event
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			cpu := cputime.Self()
			for b.Loop() {
				e.Reset()
				_ = p.Parse(msg, &e)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkGoSyslog measures go-syslog's machines alone on the same
// messages, for comparison (no event is built).
func BenchmarkGoSyslog(b *testing.B) {
	for _, bm := range benchMessages {
		var m gosyslog.Machine
		switch bm.name {
		case "rfc3164", "rfc3164-iso":
			m = rfc3164.NewMachine(rfc3164.WithRFC3339(), rfc3164.WithBestEffort())
		case "rfc5424", "rfc5424-sd":
			m = rfc5424.NewMachine(rfc5424.WithBestEffort())
		default:
			continue
		}
		b.Run(bm.name, func(b *testing.B) {
			msg := []byte(bm.msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			cpu := cputime.Self()
			for b.Loop() {
				_, _ = m.Parse(msg)
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkFramer measures splitting a stream of 300-byte messages.
func BenchmarkFramer(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 300)
	for _, mode := range []string{"octet-counting", "newline"} {
		b.Run(mode, func(b *testing.B) {
			var stream bytes.Buffer
			for stream.Len() < 1<<20 {
				if mode == "newline" {
					stream.Write(msg)
					stream.WriteByte('\n')
				} else {
					stream.WriteString(strconv.Itoa(len(msg)) + " ")
					stream.Write(msg)
				}
			}
			data := stream.Bytes()
			n := bytes.Count(data, []byte("x")) / len(msg)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f := NewFramer(bytes.NewReader(data), 0)
				got := 0
				for {
					_, err := f.Next()
					if err == io.EOF {
						break
					}
					got++
				}
				if got != n {
					b.Fatalf("%d messages, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// reportCPU reports the CPU time per operation since start (see cpuTime).
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(cputime.Self()-start)/float64(b.N), "cpu-ns/op")
}

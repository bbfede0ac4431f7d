package syslog_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// A stream listener's loop: frame, parse, flag what the framer reported.
func Example() {
	p := &syslog.Parser{
		Location: time.UTC,
		MaxSize:  64,
		Now:      func() time.Time { return time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC) },
	}
	conn := strings.NewReader("62 <38>Nov 28 10:00:01 web01 sshd[7]: Accepted password for alice" +
		"junk\n" +
		"87 <38>Nov 28 10:00:02 web01 app: " + strings.Repeat("x", 56))
	fr := syslog.NewFramer(conn, p.MaxSize)
	for {
		msg, err := fr.Next()
		if msg != nil {
			e := event.Event{Fields: make([]event.Field, 0, syslog.FieldsHint)}
			e.Add("log.source.address", "192.0.2.1:50514")
			_ = p.Parse(msg, &e) // a failure is recorded in the event
			syslog.MarkFrameError(&e, err)
			fmt.Printf("%s host=%q process=%q truncated=%q error=%q\n  message=%q\n",
				e.Time.Format(time.RFC3339), e.Value("host.name"), e.Value("process.name"),
				e.Value(syslog.FieldTruncated), e.Value(event.FieldParseError), e.Value("message"))
		}
		var fe *syslog.FrameError
		if err != nil && !errors.As(err, &fe) {
			if err != io.EOF {
				fmt.Println("connection error:", err)
			}
			break
		}
	}
	fmt.Println("framing:", fr.Framing())
	// Output:
	// 2024-11-28T10:00:01Z host="web01" process="sshd" truncated="" error=""
	//   message="Accepted password for alice"
	// 2024-12-01T00:00:00Z host="" process="" truncated="" error="syslog framing: bytes outside a syslog frame at byte 65 (4 bytes): expected an octet-counting header (LEN SP)"
	//   message="junk"
	// 2024-11-28T10:00:02Z host="web01" process="app" truncated="true" error=""
	//   message="xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	// framing: octet-counting
}

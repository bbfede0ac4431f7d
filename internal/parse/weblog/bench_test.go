package weblog

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

func BenchmarkParseAccess(b *testing.B) {
	line := `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=b HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var e event.Event
	for b.Loop() {
		e.Reset()
		if _, err := Parse(&e, line, Options{Module: Apache}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetectOther(b *testing.B) {
	line := `Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2 [preauth]`
	b.ReportAllocs()
	for b.Loop() {
		if Detect(line) != KindNone {
			b.Fatal("detected")
		}
	}
}

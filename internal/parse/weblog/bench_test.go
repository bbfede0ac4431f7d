package weblog

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
)

func BenchmarkParseAccess(b *testing.B) {
	line := `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=b HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var e event.Event
	cpu := cputime.Self()
	for b.Loop() {
		e.Reset()
		if _, err := Parse(&e, line, Options{Module: Apache}); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, b.N)
}

func BenchmarkParseError(b *testing.B) {
	for _, bm := range []struct{ name, line string }{
		{"apache", `[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:51234] AH00128: File does not exist: /usr/local/apache2/htdocs/favicon.ico`},
		{"nginx", `2016/09/01 10:23:45 [error] 1234#5678: *9 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 192.168.1.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost"`},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.line)))
			var e event.Event
			cpu := cputime.Self()
			for b.Loop() {
				e.Reset()
				if k, err := Parse(&e, bm.line, Options{}); err != nil || k == KindNone {
					b.Fatal(k, err)
				}
			}
			cputime.Report(b, cpu, b.N)
		})
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

package gelf

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
)

func BenchmarkDecode(b *testing.B) {
	msg := []byte(specExample)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var e event.Event
	cpu := cputime.Self()
	for b.Loop() {
		e.Reset()
		if err := Decode(&e, msg); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, b.N)
}

package event

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkDecodeBatch(b *testing.B) {
	var evs []Event
	for i := range 1000 {
		e := Event{Time: time.Unix(int64(i), 0)}
		for j := range 22 {
			e.Add(fmt.Sprintf("field.name.%d", j), fmt.Sprintf("value number %d of event %d", j, i))
		}
		evs = append(evs, e)
	}
	data := AppendBatch(nil, evs)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var out []Event
	for b.Loop() {
		var err error
		out, err = DecodeBatch(out[:0], data)
		if err != nil {
			b.Fatal(err)
		}
	}
}

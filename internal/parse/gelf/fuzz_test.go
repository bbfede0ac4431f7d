package gelf

import (
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// FuzzDecode: any payload: no panic; an error that is not partial leaves
// the event unchanged; a decoded message has a message field.
// Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte(`{"host":"h","short_message":"x","_a":{"b":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := Decompress(b, 1<<16)
		if err != nil {
			return
		}
		var e event.Event
		err = Decode(&e, msg)
		if ge, ok := err.(*Error); ok && !ge.Partial {
			if len(e.Fields) != 0 {
				t.Fatalf("%q: error %v but fields %v", b, err, e.Fields)
			}
			return
		}
		if !e.Has("message") || e.Value("event.module") == "" {
			t.Fatalf("%q: no message or module: %v", b, e.Fields)
		}
	})
}

// FuzzChunks: any datagrams: no panic, the assembler stays within its
// limits. Seeds: testdata/fuzz/FuzzChunks.
func FuzzChunks(f *testing.F) {
	f.Add([]byte{0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 0, 2, 'a', 0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		a := NewAssembler(AssemblerLimits{MaxPending: 4, MaxMessage: 64, MaxBytes: 128})
		now := time.Unix(0, 0)
		for len(b) > 0 {
			n := min(len(b), 13+int(b[0])%16)
			c, err := ParseChunk(b[:n])
			b = b[n:]
			if err != nil {
				continue
			}
			c.Received = now
			now = now.Add(time.Second)
			msg, _, _ := a.Add(c)
			if len(msg) > 64 {
				t.Fatalf("message of %d bytes above the limit", len(msg))
			}
			if p, by := a.Pending(); p > 4 || by > 128 {
				t.Fatalf("pending %d messages, %d bytes", p, by)
			}
			a.Expire(now)
		}
	})
}

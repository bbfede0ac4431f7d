package gelf

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// specExample is the example message of the GELF 1.1 specification.
const specExample = `{
  "version": "1.1",
  "host": "example.org",
  "short_message": "A short message that helps you identify what is going on",
  "full_message": "Backtrace here\n\nmore stuff",
  "timestamp": 1385053862.3072,
  "level": 1,
  "_user_id": 9001,
  "_some_info": "foo",
  "_some_env_var": "bar"
}`

func TestDecodeSpecExample(t *testing.T) {
	var e event.Event
	if err := Decode(&e, []byte(specExample)); err != nil {
		t.Fatal(err)
	}
	if got := e.Time.Format(time.RFC3339Nano); got != "2013-11-21T17:11:02.3072Z" {
		t.Errorf("time %s", got)
	}
	want := map[string]string{
		"host.name": "example.org", "message": "A short message that helps you identify what is going on",
		"gelf.full_message": "Backtrace here\n\nmore stuff", "log.syslog.severity.code": "1", "log.level": "alert",
		"user_id": "9001", "some_info": "foo", "some_env_var": "bar", "gelf.version": "1.1",
		"event.module": "gelf", "event.dataset": "gelf",
	}
	for k, v := range want {
		if got := e.Value(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestDecodeVariants(t *testing.T) {
	f := func(msg string, wantErr string, want map[string]string) {
		t.Helper()
		var e event.Event
		err := Decode(&e, []byte(msg))
		if (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want %q", msg, err, wantErr)
		}
		for k, v := range want {
			if got, ok := e.Get(k); v == "-" && ok || v != "-" && got != v {
				t.Errorf("%s: %s = %q, want %q", msg, k, got, v)
			}
		}
	}
	// Docker's GELF log driver: its fields as additional fields.
	f(`{"version":"1.1","host":"node1","short_message":"GET / 200","timestamp":1700000000,"level":6,"_container_name":"web","_image_name":"nginx:1.25","_container_id":"abc","_command":"nginx -g daemon off;","_tag":"abc"}`,
		"", map[string]string{"container_name": "web", "image_name": "nginx:1.25", "log.level": "informational"})
	// Additional fields may not take Vigil's names or "_id".
	f(`{"version":"1.1","host":"h","short_message":"x","_id":"1","_vigil.id":"forged","_message":"m2","_log.level":"x"}`,
		"", map[string]string{"gelf.id": "1", "gelf.vigil.id": "forged", "vigil.id": "-", "message": "x", "gelf.message": "m2", "gelf.log.level": "x"})
	// NXLog's xm_gelf sends Windows fields as additional fields.
	f(`{"version":"1.1","host":"WS5","short_message":"An account failed to log on.","_EventID":4625,"_Channel":"Security","_SourceName":"Microsoft-Windows-Security-Auditing"}`,
		"", map[string]string{"EventID": "4625", "Channel": "Security"})
	// Specification breaches: kept, flagged.
	f(`{"version":"1.1","short_message":"x"}`, "host: missing", map[string]string{"message": "x"})
	f(`{"version":"1.1","host":"h"}`, "short_message: missing", map[string]string{"host.name": "h", "message": ""})
	f(`{"version":"2.0","host":"h","short_message":"x"}`, "version: want 1.1", nil)
	f(`{"host":"h","short_message":"x","timestamp":"yesterday"}`, "timestamp: want seconds", map[string]string{"gelf.timestamp": "yesterday"})
	f(`{"host":"h","short_message":"x","level":9}`, "level: want a syslog severity", map[string]string{"gelf.level": "9", "log.level": "-"})
	f(`{"host":"h","short_message":"x","timestamp":1.7e9}`, "", nil)
	// Not GELF at all: the event is unchanged.
	var e event.Event
	if err := Decode(&e, []byte(`not json`)); err == nil || len(e.Fields) != 0 {
		t.Errorf("not json: %v %v", err, e.Fields)
	}
	var ge *Error
	if err := Decode(&e, []byte(`[1,2]`)); !errors.As(err, &ge) || ge.Partial {
		t.Errorf("array: %v", err)
	}
}

func compress(t *testing.T, kind Compression, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case Gzip:
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case Zlib:
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
	default:
		return b
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	for _, k := range []Compression{None, Gzip, Zlib} {
		c := compress(t, k, []byte(specExample))
		if Detect(c) != k {
			t.Errorf("Detect(%d) = %d", k, Detect(c))
		}
		out, err := Decompress(c, 0)
		if err != nil || string(out) != specExample {
			t.Errorf("compression %d: %v", k, err)
		}
		// A bomb: small compressed, large inflated.
		big := compress(t, k, bytes.Repeat([]byte("a"), 2<<20))
		if _, err := Decompress(big, 1<<20); !errors.Is(err, ErrTooLarge) {
			t.Errorf("compression %d: %d bytes over the limit: %v", k, len(big), err)
		}
	}
	if _, err := Decompress([]byte{0x1f, 0x8b, 1, 2, 3}, 0); err == nil {
		t.Error("broken gzip accepted")
	}
}

// chunks splits msg into GELF chunks of at most size payload bytes.
func chunks(id byte, msg []byte, size int) [][]byte {
	n := (len(msg) + size - 1) / size
	var out [][]byte
	for i := 0; i < n; i++ {
		end := min(len(msg), (i+1)*size)
		c := append([]byte{0x1e, 0x0f, id, 1, 2, 3, 4, 5, 6, 7, byte(i), byte(n)}, msg[i*size:end]...)
		out = append(out, c)
	}
	return out
}

func TestAssembler(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	raw := make([]byte, 3000) // random: compression keeps its size
	for i := range raw {
		raw[i] = byte(rand.IntN(256))
	}
	msg := compress(t, Zlib, raw)
	cs := chunks(9, msg, 100)
	rand.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
	cs = append(cs[:3:3], append([][]byte{cs[2]}, cs[3:]...)...) // a duplicate
	a := NewAssembler(AssemblerLimits{})
	var got []byte
	for i, b := range cs {
		c, err := ParseChunk(b)
		if err != nil {
			t.Fatal(err)
		}
		c.Received = t0
		out, dropped, err := a.Add(c)
		if err != nil || dropped != 0 {
			t.Fatalf("chunk %d: %v, %d dropped", i, err, dropped)
		}
		if out != nil {
			if got != nil {
				t.Fatal("completed twice")
			}
			got = out
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("reassembled %d bytes, want %d", len(got), len(msg))
	}
	if n, b := a.Pending(); n != 0 || b != 0 {
		t.Errorf("pending %d, %d bytes after completion", n, b)
	}

	// Chunks that never complete expire after 5 seconds.
	c, _ := ParseChunk(chunks(10, msg, 100)[0])
	c.Received = t0
	a.Add(c)
	if a.Expire(t0.Add(4*time.Second)) != 0 || a.Expire(t0.Add(6*time.Second)) != 1 {
		t.Error("expiry")
	}
	// Limits: pending messages and message size.
	a = NewAssembler(AssemblerLimits{MaxPending: 2, MaxMessage: 250})
	dropped := 0
	for id := byte(1); id <= 3; id++ {
		c, _ := ParseChunk(chunks(id, msg, 100)[0])
		c.Received = t0.Add(time.Duration(id) * time.Second)
		_, d, _ := a.Add(c)
		dropped += d
	}
	if n, _ := a.Pending(); n != 2 || dropped != 1 {
		t.Errorf("pending %d dropped %d, want 2 and 1", n, dropped)
	}
	var lastErr error
	for _, b := range chunks(20, msg, 100)[:3] {
		c, _ := ParseChunk(b)
		_, _, lastErr = a.Add(c)
	}
	if lastErr == nil {
		t.Error("message over MaxMessage accepted")
	}
	// Malformed chunks.
	for _, b := range [][]byte{{0x1e, 0x0f, 1}, append([]byte{0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 5, 3}, 'x'), append([]byte{0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 0, 200}, 'x')} {
		if _, err := ParseChunk(b); err == nil {
			t.Errorf("%x accepted", b)
		}
	}
}

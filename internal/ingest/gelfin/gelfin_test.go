package gelfin

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
)

func msg(i int, extra string) []byte {
	return []byte(fmt.Sprintf(`{"version":"1.1","host":"app%d","short_message":"message %d","timestamp":1700000000.%03d,"level":4,"_seq":%d%s}`, i, i, i, i, extra))
}

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// chunked splits payload into GELF chunks of size bytes, in reverse order
// (chunks may arrive in any order).
func chunked(id byte, payload []byte, size int) [][]byte {
	n := (len(payload) + size - 1) / size
	var out [][]byte
	for i := n - 1; i >= 0; i-- {
		hdr := []byte{0x1e, 0x0f, id, 9, 9, 9, 9, 9, 9, 9, byte(i), byte(n)}
		out = append(out, append(hdr, payload[i*size:min(len(payload), (i+1)*size)]...))
	}
	return out
}

// TestListeners: a real UDP and TCP sender on loopback; whole and
// chunked, plain, gzip and zlib datagrams; NUL- and newline-separated TCP
// frames; a message that is not GELF kept with its error.
func TestListeners(t *testing.T) {
	b, cons := bustest.Open(t, bus.Config{})
	m := ingest.NewMetrics(prometheus.NewRegistry())
	parse, err := formats.GELFRecord(formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sinks := map[string]Sink{}
	var batchers []*ingest.Batcher
	for _, src := range []string{SourceUDP, SourceTCP} {
		bt := ingest.NewBatcher(ingest.BatcherConfig{Source: src, MaxDelay: 20 * time.Millisecond}, b, m, nil)
		go bt.Run(context.Background())
		batchers = append(batchers, bt)
		sinks[src] = bt
	}
	s, err := Start(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", Parse: parse, Sinks: sinks, Metrics: m, MaxMessageBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	udpAddr, tcpAddr := s.Addrs()
	uc, err := net.Dial("udp", udpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	big := `,"_padding":"` + strings.Repeat("x", 1500) + `"`
	uc.Write(msg(1, ""))
	uc.Write(gzipOf(msg(2, "")))
	uc.Write(zlibOf(msg(3, "")))
	for _, c := range chunked(4, msg(4, big), 400) {
		uc.Write(c)
	}
	for _, c := range chunked(5, gzipOf(msg(5, big)), 100) {
		uc.Write(c)
	}
	uc.Write([]byte("plain text, not GELF"))
	uc.Close()

	tc, err := net.Dial("tcp", tcpAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	tc.Write(append(msg(6, ""), 0))
	tc.Write(append(msg(7, ""), '\n'))
	tc.Write([]byte("\x00\x00"))
	tc.Write(append(msg(8, `,"_big":"`+strings.Repeat("y", 5000)+`"`), 0)) // over the limit
	tc.Write(msg(9, ""))                                                   // last, without terminator
	tc.Close()

	evs := bustest.Events(t, cons, "", 10)
	s.Stop()
	for _, bt := range batchers {
		bt.Close()
	}
	byHost := map[string]*event.Event{}
	var notGELF, cut *event.Event
	for i := range evs {
		e := &evs[i]
		switch {
		case strings.Contains(e.Value("message"), "not GELF"):
			notGELF = e
		case e.Value("vigil.truncated") == "true":
			cut = e
		default:
			byHost[e.Value("host.name")] = e
		}
	}
	for _, i := range []int{1, 2, 3, 4, 5, 6, 7, 9} {
		e := byHost[fmt.Sprintf("app%d", i)]
		if e == nil {
			t.Errorf("message %d missing; got %d events", i, len(evs))
			continue
		}
		if e.Value("message") != fmt.Sprintf("message %d", i) || e.Value("seq") != fmt.Sprint(i) || e.Value("log.level") != "warning" || e.Has("vigil.parse_error") {
			t.Errorf("message %d: %v", i, e.Fields)
		}
		if want := time.Unix(1700000000, int64(i)*1e6).UTC(); !e.Time.Equal(want) {
			t.Errorf("message %d: time %v, want %v", i, e.Time, want)
		}
	}
	if notGELF == nil || !strings.HasPrefix(notGELF.Value("vigil.parse_error"), "gelf:") {
		t.Errorf("a datagram that is not GELF was not kept with its error: %v", notGELF)
	}
	if cut == nil || cut.Value("vigil.original_size") == "" || !cut.Has("vigil.parse_error") {
		t.Errorf("an oversized TCP message was not kept truncated and flagged: %v", cut)
	}
	if got := testutil.ToFloat64(m.Failed.WithLabelValues(SourceUDP)); got != 1 {
		t.Errorf("failed udp = %v", got)
	}
}

// TestChunksExpire: chunks of a message that never completes are given
// up after 5 seconds and counted as dropped.
func TestChunksExpire(t *testing.T) {
	b, _ := bustest.Open(t, bus.Config{})
	m := ingest.NewMetrics(prometheus.NewRegistry())
	parse, _ := formats.GELFRecord(formats.Options{})
	bt := ingest.NewBatcher(ingest.BatcherConfig{Source: SourceUDP}, b, m, nil)
	go bt.Run(context.Background())
	defer bt.Close()
	clock := time.Now()
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	now := func() time.Time { <-mu; defer func() { mu <- struct{}{} }(); return clock }
	s, err := Start(Config{UDPAddr: "127.0.0.1:0", Parse: parse, Sinks: map[string]Sink{SourceUDP: bt}, Metrics: m, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	udp, _ := s.Addrs()
	uc, _ := net.Dial("udp", udp.String())
	uc.Write(chunked(7, msg(1, `,"_p":"`+strings.Repeat("z", 600)+`"`), 300)[0])
	uc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.asmMu.Lock()
		n, _ := s.asm.Pending()
		s.asmMu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-mu
	clock = clock.Add(6 * time.Second)
	mu <- struct{}{}
	for time.Now().Before(deadline.Add(3 * time.Second)) {
		if testutil.ToFloat64(m.Dropped.WithLabelValues(SourceUDP)) == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("incomplete message not dropped: %v", testutil.ToFloat64(m.Dropped.WithLabelValues(SourceUDP)))
}

// TestHTTP: POST /gelf with one message, a gzip body, several messages;
// 202 once stored.
func TestHTTP(t *testing.T) {
	b, cons := bustest.Open(t, bus.Config{})
	parse, _ := formats.GELFRecord(formats.Options{})
	h := &Handler{Pub: b, Parse: parse, Metrics: ingest.NewMetrics(prometheus.NewRegistry())}
	srv := httptest.NewServer(h.Routes()["POST /gelf"])
	defer srv.Close()
	post := func(body []byte, enc string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/gelf", bytes.NewReader(body))
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, out := post(msg(1, ""), ""); st != 202 || out["accepted"] != 1.0 {
		t.Errorf("plain: %d %v", st, out)
	}
	if st, out := post(gzipOf(msg(2, "")), "gzip"); st != 202 || out["accepted"] != 1.0 {
		t.Errorf("gzip encoding: %d %v", st, out)
	}
	if st, out := post(zlibOf(msg(3, "")), ""); st != 202 || out["accepted"] != 1.0 {
		t.Errorf("zlib body: %d %v", st, out)
	}
	body := append(append(msg(4, ""), '\n'), append(msg(5, ""), '\n')...)
	body = append(body, []byte("not gelf\n")...)
	if st, out := post(body, ""); st != 202 || out["accepted"] != 3.0 || out["parse_errors"] != 1.0 {
		t.Errorf("several: %d %v", st, out)
	}
	if st, _ := post(nil, ""); st != 400 {
		t.Errorf("empty: %d", st)
	}
	evs := bustest.Events(t, cons, SourceHTTP, 6)
	hosts := map[string]bool{}
	for _, e := range evs {
		hosts[e.Value("host.name")] = true
	}
	for i := 1; i <= 5; i++ {
		if !hosts[fmt.Sprintf("app%d", i)] {
			t.Errorf("message %d not stored: %v", i, hosts)
		}
	}
}

// FuzzFramer: any stream: no panic, no message over the limit, no blank
// message.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("{\"a\":1}\x00{\"b\":2}\n\x00\x00{\"c\":3}"), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		limit := int(max%256) + 1
		fr := NewFramer(bytes.NewReader(data), limit)
		for i := 0; i <= len(data); i++ {
			m, size, err := fr.Next()
			if len(m) > limit || size < len(m) {
				t.Fatalf("message of %d bytes (size %d) over the limit %d", len(m), size, limit)
			}
			if m != nil && len(bytes.TrimSpace(m)) == 0 {
				t.Fatalf("blank message")
			}
			if err != nil {
				return
			}
		}
		t.Fatal("no end of stream")
	})
}

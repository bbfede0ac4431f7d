package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGELF: the three GELF inputs of a running server — UDP (a gzip
// message split in chunks), TCP (NUL-separated) and HTTP POST /gelf with
// the API token — store their messages, searchable by their fields; a
// message that is not GELF is stored with vigil.parse_error.
func TestGELF(t *testing.T) {
	in := startVigil(t, t.TempDir(), "--gelf-udp-addr", "127.0.0.1:0", "--gelf-tcp-addr", "127.0.0.1:0")
	if in.gelfUDP == "" || in.gelfTCP == "" {
		t.Fatalf("GELF listeners not announced:\n%s", in.Logs())
	}
	run := fmt.Sprintf("run%d", time.Now().UnixNano())
	// Padding that compresses badly, so that the UDP message needs chunks.
	var pad strings.Builder
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&pad, "%x", uint32(i*2654435761))
	}
	msg := func(via string) []byte {
		return []byte(fmt.Sprintf(`{"version":"1.1","host":"gelf-%s","short_message":"hello over %s","level":3,"_run":"%s","_padding":"%s"}`,
			via, via, run, pad.String()))
	}
	// UDP: gzip, then chunks of 512 bytes sent last first.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(msg("udp"))
	zw.Close()
	payload := z.Bytes()
	n := (len(payload) + 99) / 100
	if n < 3 || n > 128 {
		t.Fatalf("%d chunks", n)
	}
	uc, err := net.Dial("udp", in.gelfUDP)
	if err != nil {
		t.Fatal(err)
	}
	for i := n - 1; i >= 0; i-- {
		c := append([]byte{0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, byte(i), byte(n)}, payload[i*100:min(len(payload), (i+1)*100)]...)
		uc.Write(c)
	}
	uc.Close()
	tc, err := net.Dial("tcp", in.gelfTCP)
	if err != nil {
		t.Fatal(err)
	}
	tc.Write(append(msg("tcp"), 0))
	tc.Write(append([]byte("this is not GELF "+run), 0))
	tc.Close()
	req, _ := http.NewRequest("POST", in.httpURL+"/gelf", bytes.NewReader(msg("http")))
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /gelf: %s", resp.Status)
	}
	// Without the token: refused.
	resp, err = http.Post(in.httpURL+"/gelf", "application/json", bytes.NewReader(msg("anon")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /gelf without a token: %s", resp.Status)
	}
	rows := in.waitFor(`run:=`+run, 3, 20*time.Second)
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r["host.name"]] = true
		if r["log.level"] != "error" || r["event.module"] != "gelf" {
			t.Errorf("stored %v", r)
		}
	}
	for _, h := range []string{"gelf-udp", "gelf-tcp", "gelf-http"} {
		if !seen[h] {
			t.Errorf("%s not stored (got %v)\n%s", h, seen, in.Logs())
		}
	}
	if bad := in.waitFor(`vigil.parse_error:* "`+run+`"`, 1, 10*time.Second); len(bad) != 1 {
		t.Errorf("the message that is not GELF: %d stored", len(bad))
	}
}

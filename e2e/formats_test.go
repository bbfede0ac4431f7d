package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// receiverFields are added by the receiving server, not by a format's
// parser: they differ by transport and arrival, and are not compared.
var receiverFields = []string{"vigil.id", "event.ingested", "log.source.address", "vigil.import"}

// TestFormatsSameThroughCLIAndServer parses each sample with `vigil parse`
// and sends the same file to a running server (`vigil ingest`, and the
// syslog samples also over the TCP listener), then compares the stored
// events with the parsed ones field by field: one list of formats means a
// format is the same everywhere.
func TestFormatsSameThroughCLIAndServer(t *testing.T) {
	testdata := filepath.Join("..", "internal", "formats", "testdata")
	cases := []struct {
		format, file string
		tcp          bool // also over the syslog TCP listener
	}{
		{"ndjson", "sample.ndjson", false},
		{"syslog", "sample.syslog", true},
		{"syslog", "payloads.syslog", true},
		{"cef", "sample.cef", false},
		{"leef", "sample.leef", false},
		{"kv", "sample.kv", false},
	}
	evtxFile := filepath.Join("..", "..", "shared", "corpora", "sigmahq", "regression_data", "rules", "windows", "file", "file_event",
		"file_event_win_hktl_netexec_file_indicators")
	if m, _ := filepath.Glob(filepath.Join(evtxFile, "*.evtx")); len(m) == 1 {
		cases = append(cases, struct {
			format, file string
			tcp          bool
		}{"evtx", m[0], false})
	} else {
		t.Logf("shared SigmaHQ corpus not found (%s): the EVTX case is not run", evtxFile)
	}
	// The samples are from 2024: keep them under their own time. Stamps
	// without a zone are read as UTC, as vigil parse does by default.
	in := startVigil(t, t.TempDir(), "--store-retention", "3650d", "--syslog-timezone", "UTC")
	// The receive time vigil parse gives records without a time of their
	// own (and the year of RFC 3164 stamps): now, as on the server.
	now := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	seen := map[string]bool{}
	refused := 0 // JSON lines HTTP ingest refuses: counted as parse failures
	for _, c := range cases {
		path := c.file
		if !filepath.IsAbs(path) && !strings.Contains(path, string(filepath.Separator)) {
			path = filepath.Join(testdata, c.file)
		}
		out, err := exec.Command(vigilBin, "parse", "--format", c.format, "--keep-original", "--now", now, path).Output()
		if err != nil {
			t.Fatalf("%s: vigil parse: %v", c.file, err)
		}
		var want []map[string]string
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte{'\n'}) {
			var m map[string]string
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%s: vigil parse printed %s: %v", c.file, line, err)
			}
			want = append(want, m)
		}
		if len(want) == 0 {
			t.Fatalf("%s: vigil parse printed no events", c.file)
		}
		transports := []string{"ingest"}
		if c.tcp {
			transports = append(transports, "tcp")
		}
		for _, tr := range transports {
			switch tr {
			case "ingest":
				cmd := exec.Command(vigilBin, "ingest", "--server", in.httpURL, "--token", in.token, "--format", c.format, path)
				if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "refused") {
					t.Fatalf("%s: vigil ingest: %v\n%s", c.file, err, out)
				}
			case "tcp":
				sendOctetCounted(t, in.tcp, path)
			}
			// Events the format refuses outright (JSON that is not an
			// object) are reported to the sender, not stored.
			var stored []map[string]string
			for _, w := range want {
				if !strings.HasPrefix(w["vigil.parse_error"], "want a JSON object") {
					stored = append(stored, w)
				} else if tr == "ingest" {
					refused++
				}
			}
			got := in.newEvents(seen, len(stored), 30*time.Second)
			compareEvents(t, c.format+" "+filepath.Base(c.file)+" via "+tr, got, stored, now)
		}
	}
	// Refused records are parse failures too, though nothing is stored.
	if v, _ := in.metric(`vigil_parse_failures_total{format="json",outcome="refused",source="http"}`); refused == 0 || v != float64(refused) {
		t.Errorf("vigil_parse_failures_total of refused JSON over HTTP = %v, want %d", v, refused)
	}
}

// newEvents waits until n events not in seen are stored and returns them.
func (in *instance) newEvents(seen map[string]bool, n int, timeout time.Duration) []map[string]string {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var fresh []map[string]string
		for _, r := range in.search("*") {
			if !seen[r["vigil.id"]] {
				fresh = append(fresh, r)
			}
		}
		if len(fresh) >= n || time.Now().After(deadline) {
			for _, r := range fresh {
				seen[r["vigil.id"]] = true
			}
			return fresh
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compareEvents matches stored events to parsed ones as multisets of their
// fields, leaving out the receiver's fields and the time of records that
// have none of their own.
func compareEvents(t *testing.T, what string, got, want []map[string]string, now string) {
	t.Helper()
	canon := func(m map[string]string, parsed map[string]string) string {
		var keys []string
		for k := range m {
			if slices.Contains(receiverFields, k) {
				continue
			}
			if k == "@timestamp" && parsed["@timestamp"] == now {
				continue // the receive time
			}
			if k == "event.module" && m[k] == "http" && parsed["event.module"] == "" {
				continue // JSON events without a module are HTTP's
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			v := m[k]
			if k == "@timestamp" {
				if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
					v = ts.UTC().Format(time.RFC3339Nano)
				}
			}
			b.WriteString(k + "=" + strconv.Quote(v) + "\n")
		}
		return b.String()
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d events stored, %d parsed", what, len(got), len(want))
	}
	remaining := map[string]int{}
	for _, w := range want {
		remaining[canon(w, w)]++
	}
	for _, g := range got {
		// The parsed twin of a stored event: the one with its message
		// or original text.
		var twin map[string]string
		for _, w := range want {
			if w["event.original"] == g["event.original"] && w["message"] == g["message"] {
				twin = w
				break
			}
		}
		if twin == nil {
			t.Errorf("%s: stored event with no parsed twin:\n%s", what, canon(g, g))
			continue
		}
		k := canon(g, twin)
		if remaining[k] == 0 {
			t.Errorf("%s: stored event differs from what vigil parse printed:\nstored:\n%sparsed:\n%s", what, k, canon(twin, twin))
			continue
		}
		remaining[k]--
	}
}

// sendOctetCounted sends a file's lines as octet-counted syslog over TCP.
func sendOctetCounted(t *testing.T, addr, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if _, err := fmt.Fprintf(conn, "%d %s", len(line), line); err != nil {
			t.Fatal(err)
		}
	}
}

package client

import (
	"bytes"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	var out bytes.Buffer
	tb := NewTable(&out, []string{"@timestamp", "host.name", "message"}, 60)
	tb.Add([]byte(`{"@timestamp":"2026-11-28T10:00:00Z","host.name":"ehr-1","message":"Failed password for alice\nfrom 10.0.0.5 port 2222 ssh2 and a long tail that will be clipped"}`))
	tb.Add([]byte(`{"@timestamp":"2026-11-28T10:00:01Z","event.original":"raw only"}`))
	tb.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "@TIMESTAMP") {
		t.Fatalf("table:\n%s", out.String())
	}
	if !strings.Contains(lines[1], "ehr-1") || !strings.Contains(lines[1], "Failed password for") || !strings.HasSuffix(lines[1], "…") {
		t.Fatalf("row 1: %q", lines[1])
	}
	if !strings.HasSuffix(lines[2], "raw only") {
		t.Fatalf("row 2 should fall back to event.original: %q", lines[2])
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 60 {
			t.Fatalf("line wider than 60: %d %q", n, l)
		}
	}
}

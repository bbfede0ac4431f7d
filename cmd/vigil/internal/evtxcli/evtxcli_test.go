package evtxcli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/parse/evtx"
)

// corpusFile returns a five-record file of the shared SigmaHQ regression
// data (found from the repository root), or skips.
func corpusFile(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(dir, "..", "shared", "corpora", "sigmahq", "regression_data", "rules", "windows", "file", "file_event",
		"file_event_win_anydesk_artefact", "0b9ad457-2554-44c1-82c2-d56a99c42377.evtx")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus not found at %s", p)
	}
	return p
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := Command()
	var out, errw bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errw)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errw.String(), err
}

func recordIDs(t *testing.T, ndjson string) []json.Number {
	t.Helper()
	var ids []json.Number
	for _, line := range strings.Split(strings.TrimSuffix(ndjson, "\n"), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var v struct {
			Event struct {
				System struct{ EventRecordID json.Number }
			}
		}
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line is not a JSON record: %v: %s", err, line)
		}
		ids = append(ids, v.Event.System.EventRecordID)
	}
	return ids
}

func TestDump(t *testing.T) {
	path := corpusFile(t)
	out, errOut, err := run(t, "dump", path)
	if err != nil || errOut != "" {
		t.Fatalf("dump: %v, stderr %q", err, errOut)
	}
	got := strings.Join(toStrings(recordIDs(t, out)), ",")
	if want := "14961,14963,14985,14988,14990"; got != want {
		t.Fatalf("got record ids %s, want %s", got, want)
	}
}

func toStrings(ns []json.Number) []string {
	var s []string
	for _, n := range ns {
		s = append(s, n.String())
	}
	return s
}

func TestDumpPretty(t *testing.T) {
	path := corpusFile(t)
	compact, _, err := run(t, "dump", path)
	if err != nil {
		t.Fatal(err)
	}
	pretty, _, err := run(t, "dump", "--pretty", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pretty, "\n  \"Event\": {\n") {
		t.Fatalf("--pretty output is not indented: %.200s", pretty)
	}
	var a, b []any
	for dec := json.NewDecoder(strings.NewReader(compact)); dec.More(); {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		a = append(a, v)
	}
	for dec := json.NewDecoder(strings.NewReader(pretty)); dec.More(); {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		b = append(b, v)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if len(a) != 5 || !bytes.Equal(ja, jb) {
		t.Fatalf("pretty and compact records differ (%d vs %d records)", len(a), len(b))
	}
}

func TestDumpDamaged(t *testing.T) {
	data, err := os.ReadFile(corpusFile(t))
	if err != nil {
		t.Fatal(err)
	}
	// Break the signature of the second record: it is reported and skipped,
	// the four others are written.
	first := 4096 + 512
	second := first + int(uint32(data[first+4])|uint32(data[first+5])<<8|uint32(data[first+6])<<16)
	data[second] = 'X'
	path := filepath.Join(t.TempDir(), "damaged.evtx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, "dump", path)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	if got := toStrings(recordIDs(t, out)); strings.Join(got, ",") != "14961,14985,14988,14990" {
		t.Errorf("got record ids %v, want the four undamaged ones", got)
	}
	for _, want := range []string{"chunk 0", "bad record signature", "record skipped", "event records checksum", "2 damaged structures"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not mention %q", errOut, want)
		}
	}
	if _, _, err := run(t, "dump", "--strict", path); err == nil {
		t.Error("--strict on a damaged file succeeded, want an error")
	}
}

func TestDumpErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.evtx")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("junk"), 30000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "dump", junk); err == nil || !strings.Contains(err.Error(), "not an EVTX file") {
		t.Errorf("junk file: got %v, want a not-an-EVTX error", err)
	}
	if _, _, err := run(t, "dump", filepath.Join(dir, "missing.evtx")); err == nil {
		t.Error("missing file: want an error")
	}
	if _, _, err := run(t, "dump"); err == nil {
		t.Error("no argument: want an error")
	}
}

func TestDumpCancelled(t *testing.T) {
	path := corpusFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if _, err := evtx.DumpFile(ctx, path, &out, &out, evtx.DumpOptions{}); err == nil {
		t.Error("cancelled context: want an error")
	}
}

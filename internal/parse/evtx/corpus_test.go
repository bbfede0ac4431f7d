package evtx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns the shared SigmaHQ regression data directory, found
// from the repository root (the directory holding go.mod), or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora", "sigmahq", "regression_data")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus not found at %s", c)
	}
	return c
}

type corpusFile struct {
	name string // path relative to the corpus
	evtx []byte
	want []any // expected records, parsed
}

// minCorpusFiles is fewer .evtx files than the shared regression data holds
// (101): a corpus that is there but yields fewer was not read right.
const minCorpusFiles = 90

// loadCorpus reads every .evtx with the .json beside it.
func loadCorpus(t testing.TB) []corpusFile {
	t.Helper()
	dir := corpusDir(t)
	var files []corpusFile
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".evtx") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		js, err := os.ReadFile(strings.TrimSuffix(path, ".evtx") + ".json")
		if err != nil {
			return err
		}
		want, err := decodeAll(js)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, corpusFile{name: rel, evtx: data, want: want})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < minCorpusFiles {
		t.Fatalf("%d .evtx files with their .json in %s, want at least %d", len(files), dir, minCorpusFiles)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files
}

// decodeAll decodes a stream of JSON values (the .json files hold one
// pretty-printed object per record, one after another).
func decodeAll(b []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func decodeOne(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

type dumped struct {
	recs    []Record // JSON copied
	corrupt []*CorruptError
}

// dump reads all records of an in-memory file.
func dump(t testing.TB, data []byte) dumped {
	t.Helper()
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var d dumped
	it := f.Records()
	for {
		rec, err := it.Next()
		if err == io.EOF {
			return d
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			d.corrupt = append(d.corrupt, ce)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		r := *rec
		r.JSON = bytes.Clone(rec.JSON)
		d.recs = append(d.recs, r)
	}
}

// diffJSON describes the first difference between got and want.
func diffJSON(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %T %v, want object", path, got, got)
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				return fmt.Sprintf("%s.%s: missing, want %v", path, k, wv)
			case !wok:
				return fmt.Sprintf("%s.%s: got %v, want no such key", path, k, gv)
			}
			if d := diffJSON(path+"."+k, gv, wv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			if d := diffJSON(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%s: got %#v, want %#v", path, got, want)
	}
	return ""
}

// corpusErrata lists the places where a .json of the corpus disagrees with
// the .evtx beside it; the value here is what the .evtx holds (each is
// proved by TestCorpusErrata). Paths are dotted from the record root.
var corpusErrata = map[string]map[string]string{
	// This .json was made by an older evtx_dump (100 ns timestamps) and edited
	// by hand: the record's UTF-16 bytes read "Explorer.EXE", not ".exe".
	"rules/windows/process_creation/proc_creation_win_susp_right_to_left_override/ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx": {
		"Event.EventData.ParentCommandLine":               `C:\Windows\Explorer.EXE`,
		"Event.System.TimeCreated.#attributes.SystemTime": "2026-03-20T08:31:26.751156Z",
	},
}

func jsonPath(v any, path string) (map[string]any, string) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		v = v.(map[string]any)[p]
	}
	return v.(map[string]any), parts[len(parts)-1]
}

// TestCorpusErrata proves each erratum: a corrected string is in the .evtx
// bytes and the .json's is not; a corrected timestamp is the .json's one
// cut to microseconds (what evtx_dump prints today).
func TestCorpusErrata(t *testing.T) {
	utf16 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	for _, cf := range loadCorpus(t) {
		for path, fixed := range corpusErrata[filepath.ToSlash(cf.name)] {
			m, k := jsonPath(cf.want[0], path)
			old, _ := m[k].(string)
			if strings.HasSuffix(path, "SystemTime") {
				if !strings.HasPrefix(old, strings.TrimSuffix(fixed, "Z")) || len(old) <= len(fixed) {
					t.Errorf("%s %s: %q is not %q with more digits", cf.name, path, old, fixed)
				}
				continue
			}
			if !bytes.Contains(cf.evtx, utf16(fixed)) {
				t.Errorf("%s %s: %q not in the .evtx", cf.name, path, fixed)
			}
			if bytes.Contains(cf.evtx, utf16(old)) {
				t.Errorf("%s %s: the .json value %q is in the .evtx too; erratum not needed", cf.name, path, old)
			}
		}
	}
}

// TestCorpus checks that every .evtx of the shared SigmaHQ regression data
// dumps to exactly the records of the evtx_dump .json beside it.
func TestCorpus(t *testing.T) {
	files := loadCorpus(t)
	records := 0
	for _, cf := range files {
		for path, fixed := range corpusErrata[filepath.ToSlash(cf.name)] {
			m, k := jsonPath(cf.want[0], path)
			m[k] = fixed
		}
		t.Run(cf.name, func(t *testing.T) {
			d := dump(t, cf.evtx)
			for _, ce := range d.corrupt {
				t.Errorf("corruption reported: %v", ce)
			}
			if len(d.recs) != len(cf.want) {
				t.Fatalf("got %d records, want %d", len(d.recs), len(cf.want))
			}
			for i, rec := range d.recs {
				got, err := decodeOne(rec.JSON)
				if err != nil {
					t.Fatalf("record %d: invalid JSON %v: %s", i, err, rec.JSON)
				}
				if diff := diffJSON("", got, cf.want[i]); diff != "" {
					t.Errorf("record %d (id %d): %s", i, rec.ID, diff)
				}
			}
			records += len(d.recs)
		})
	}
	t.Logf("%d files, %d records compared", len(files), records)
}

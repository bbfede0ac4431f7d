package server

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/config"
)

// TestDataDirIsPrivate is issue 10's finding: vigil.db and its -wal were
// created 0644 and an existing data dir was kept 0755. After a start on
// such a data dir, the directory is 0700, nothing in it is readable by
// others (the database and its write-ahead log included), and the start
// warned about what it changed.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, logs := startTest(t, func(c *config.Config) { c.DataDir = dir })
	if !strings.Contains(logs.String(), "made private") {
		t.Errorf("no warning about the data dir's modes:\n%s", logs.String())
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		// Public keys and certificates may be readable (they are public,
		// and the 0700 directory shields them anyway); nothing else.
		public := strings.HasSuffix(path, ".pub") || strings.HasSuffix(path, ".crt")
		if perm := info.Mode().Perm(); perm&0o077 != 0 && !(public && perm&0o022 == 0) {
			t.Errorf("%s: mode %o, readable by others", path, perm)
		}
		seen[filepath.Base(path)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %o, want 700", st.Mode().Perm())
	}
	for _, name := range []string{"vigil.db", "vigil.db-wal", "ingest.token", "admin.token"} {
		if !seen[name] {
			t.Errorf("%s not found in the data dir: the test does not see what it means to check", name)
		}
	}
	s.Stop(t.Context())
}

// TestComponentsUseTheWorkingDataDir: a data dir encrypted at rest is
// worked on through its plaintext view (s.dataDir); a component that
// wrote under cfg.DataDir instead would put plaintext beside the
// ciphertext. Only startDataDir, which mounts the view, reads it.
func TestComponentsUseTheWorkingDataDir(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "storage.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "cfg.DataDir") {
			t.Errorf("%s uses cfg.DataDir: use s.dataDir (the plaintext view when the data dir is encrypted at rest)", f)
		}
	}
}

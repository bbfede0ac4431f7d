package datadir

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestSecure is issue 10's finding: vigil.db and its -wal were created
// 0644 and an existing data dir was kept 0755, so any local user could read
// a patient's name. Secure makes the directory 0700 and every file 0600,
// says what it changed, and new files are private too.
func TestSecure(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "store", "partitions"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"vigil.db": 0o644, "vigil.db-wal": 0o644, "admin.token": 0o600, "store/partitions/part.bin": 0o640} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fixed, err := Secure(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"", "store", "store/partitions", "vigil.db", "vigil.db-wal", "store/partitions/part.bin"} {
		if !slices.Contains(fixed, filepath.Join(dir, rel)) {
			t.Errorf("%q not among the fixed %q", rel, fixed)
		}
	}
	if slices.Contains(fixed, filepath.Join(dir, "admin.token")) {
		t.Errorf("admin.token (already 0600) reported as fixed")
	}
	check := func(rel string, want os.FileMode) {
		t.Helper()
		st, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", rel, got, want)
		}
	}
	for _, d := range []string{"", "store", "store/partitions"} {
		check(d, 0o700)
	}
	for _, f := range []string{"vigil.db", "vigil.db-wal", "admin.token", "store/partitions/part.bin"} {
		check(f, 0o600)
	}
	// Files created afterwards with the usual 0644 are private.
	if err := os.WriteFile(filepath.Join(dir, "later.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check("later.db", 0o600)
	// A second pass has nothing to do.
	if again, err := Secure(dir); err != nil || len(again) != 0 {
		t.Fatalf("second pass: fixed %q, %v", again, err)
	}
	// A data dir that does not exist is created private.
	fresh := filepath.Join(t.TempDir(), "fresh", "data")
	if _, err := Secure(fresh); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("new data dir: %v %v", st, err)
	}
}

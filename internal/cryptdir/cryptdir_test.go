package cryptdir

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/keyring"
)

// needFUSE skips, saying why, where gocryptfs or FUSE is missing.
func needFUSE(t *testing.T) {
	t.Helper()
	if err := Probe(context.Background()); err != nil {
		t.Skipf("encryption at rest cannot be tested here: %v", err)
	}
}

// keyFile writes a key file of the given key lines (mode 0600).
func keyFile(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newKey(t *testing.T, id string) string {
	t.Helper()
	l, err := keyring.NewKeyLine(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// scanFor fails when any file under dir contains marker, and returns how
// many bytes it read (so that an empty scan cannot pass).
func scanFor(t *testing.T, dir string, marker []byte) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if bytes.Contains([]byte(d.Name()), marker) {
			t.Errorf("file name %s carries the marker", p)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n += int64(len(b))
		if bytes.Contains(b, marker) {
			t.Errorf("%s holds the marker in the clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenRotate: what is written in the view is only ciphertext on disk;
// the view is gone after Close; the right key opens it again, a wrong key
// is refused clearly; after rotation the old key no longer opens it and
// the new one does, with the data intact.
func TestOpenRotate(t *testing.T) {
	needFUSE(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	cfg := Config{KeyFile: keyFile(t, k1)}
	m, err := Open(ctx, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Created || m.State.KeyID != "k1" {
		t.Errorf("first open: created %v, key %q", m.Created, m.State.KeyID)
	}
	marker := []byte("MARKER-patient-Zebulon-Quist-4711")
	if err := os.MkdirAll(filepath.Join(m.Dir, "store", "MARKER-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "store", "MARKER-dir", "part.bin"), bytes.Repeat(marker, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if Mounted(m.Dir) {
		t.Fatal("plaintext view still mounted after Close")
	}
	if n := scanFor(t, dir, []byte("MARKER")); n < int64(len(marker)*1000) {
		t.Fatalf("scanned %d bytes of ciphertext, want at least the %d written", n, len(marker)*1000)
	}

	read := func(cfg Config) error {
		t.Helper()
		m, err := Open(ctx, dir, cfg)
		if err != nil {
			return err
		}
		defer m.Close()
		b, err := os.ReadFile(filepath.Join(m.Dir, "store", "MARKER-dir", "part.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, bytes.Repeat(marker, 1000)) {
			t.Fatal("data changed")
		}
		return nil
	}
	if err := read(cfg); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	// A different key under the same id: the wrapped master key refuses it.
	wrong := Config{KeyFile: keyFile(t, "k1 "+strings.Fields(k2)[1])}
	if err := read(wrong); err == nil || !strings.Contains(err.Error(), "does not open the data dir") {
		t.Fatalf("wrong key: %v", err)
	}
	if Mounted(m.Dir) {
		t.Fatal("mounted after a wrong key")
	}
	// An unknown id is named.
	if err := read(Config{KeyFile: keyFile(t, k2)}); err == nil || !strings.Contains(err.Error(), `encrypted with key "k1"`) {
		t.Fatalf("missing key: %v", err)
	}
	// Rotation: k2 first, k1 kept after it.
	both := Config{KeyFile: keyFile(t, k2, k1)}
	if err := read(both); err == nil || !strings.Contains(err.Error(), "rotate-key") {
		t.Fatalf("new key first before rotation: %v", err)
	}
	oldID, newID, err := Rotate(ctx, dir, both)
	if err != nil || oldID != "k1" || newID != "k2" {
		t.Fatalf("rotate: %q -> %q, %v", oldID, newID, err)
	}
	if _, err := os.Stat(filepath.Join(dir, CipherDir, confFile+".bak")); err == nil {
		t.Fatal("gocryptfs.conf.bak left behind: it still opens with the old key")
	}
	if err := read(Config{KeyFile: keyFile(t, k2)}); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	// The old key, under the new key's id so that only the wrapping can refuse it.
	if err := read(Config{KeyFile: keyFile(t, "k2 "+strings.Fields(k1)[1])}); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Fatalf("old key after rotation: %v", err)
	}
	if _, _, err := Rotate(ctx, dir, Config{KeyFile: keyFile(t, k2)}); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("rotate to the same key: %v", err)
	}
}

// TestRefusePlaintext: encryption is never turned on over plaintext data.
func TestRefusePlaintext(t *testing.T) {
	needFUSE(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vigil.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir, Config{KeyFile: keyFile(t, newKey(t, "k1"))})
	if err == nil || !strings.Contains(err.Error(), "unencrypted data (vigil.db)") {
		t.Fatalf("got %v", err)
	}
	if IsEncrypted(dir) {
		t.Fatal("initialised over plaintext")
	}
}

// TestDiesUnmounted: when the process that mounted the view is killed
// with SIGKILL, the view goes with it, and the next Open works.
func TestDiesUnmounted(t *testing.T) {
	if os.Getenv("CRYPTDIR_CHILD_DIR") != "" {
		m, err := Open(context.Background(), os.Getenv("CRYPTDIR_CHILD_DIR"), Config{KeyFile: os.Getenv("CRYPTDIR_CHILD_KEYS")})
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("mounted\n")
		time.Sleep(time.Minute)
		m.Close()
		os.Exit(0)
	}
	needFUSE(t)
	dir := filepath.Join(t.TempDir(), "data")
	keys := keyFile(t, newKey(t, "k1"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiesUnmounted$")
	cmd.Env = append(os.Environ(), "CRYPTDIR_CHILD_DIR="+dir, "CRYPTDIR_CHILD_KEYS="+keys)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 200)
	n, _ := out.Read(line)
	if !strings.HasPrefix(string(line[:n]), "mounted") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q", line[:n])
	}
	plain := filepath.Join(dir, PlainDir)
	if !Mounted(plain) {
		t.Fatal("child says mounted, mountinfo does not")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for Mounted(plain) {
		if time.Now().After(deadline) {
			exec.Command("fusermount3", "-u", "-z", plain).Run()
			t.Fatal("plaintext view still mounted 20 s after its owner was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	m, err := Open(context.Background(), dir, Config{KeyFile: keys})
	if err != nil {
		t.Fatalf("open after the owner was killed: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWaitsForALateFile: a file still open for a moment when the
// server stops (a component closing it late) must not leave the view
// detached with an error; Close tries again while it is busy.
func TestCloseWaitsForALateFile(t *testing.T) {
	needFUSE(t)
	dir := filepath.Join(t.TempDir(), "data")
	m, err := Open(context.Background(), dir, Config{KeyFile: keyFile(t, newKey(t, "k1"))})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(m.Dir, "late"))
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		f.Close()
	}()
	if err := m.Close(); err != nil {
		t.Fatalf("close with a file closed 0.5 s later: %v", err)
	}
	if Mounted(m.Dir) {
		t.Fatal("still mounted after Close")
	}
}

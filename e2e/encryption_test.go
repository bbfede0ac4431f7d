package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/cryptdir"
	"github.com/vigil-siem/vigil/internal/keyring"
)

// TestEncryptionAtRest is issue 16's "a stolen disk or backup discloses
// nothing": vigil serve with encryption.key_file stores events carrying a
// unique marker; once it has stopped, no file under the data dir holds the
// marker (store parts, bus, database, tokens: all ciphertext) and the
// plaintext view is not left mounted. The key opens it again (the events
// are searchable); a wrong key, no key, and a stale key after rotation are
// refused with clear errors; a killed server leaves no view mounted; the
// rotated key opens it with the data intact.
func TestEncryptionAtRest(t *testing.T) {
	if err := cryptdir.Probe(context.Background()); err != nil {
		t.Skipf("encryption at rest cannot be tested here: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	keys := t.TempDir()
	line := func(id string) string {
		l, err := keyring.NewKeyLine(id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	k1, k2 := line("k1"), line("k2")
	keyFile := func(name string, lines ...string) string {
		p := filepath.Join(keys, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := keyFile("first", k1)
	backupKeys := keyFile("backup", line("b1"))

	marker := fmt.Sprintf("ZQX-marker-%d", time.Now().UnixNano())
	in := startVigil(t, dir, "--encryption-key-file", first, "--encryption-require", "--backup-key-file", backupKeys)
	var body bytes.Buffer
	const n = 200
	for i := range n {
		fmt.Fprintf(&body, `{"message":"patient %s-%d opened chart","user.name":"%s-user","test.id":"%s"}`+"\n", marker, i, marker, marker)
	}
	req, _ := http.NewRequest(http.MethodPost, in.httpURL+"/api/v1/ingest", &body)
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest: %s", resp.Status)
	}
	if got := in.waitFor(`test.id:"`+marker+`"`, n, 30*time.Second); len(got) != n {
		t.Fatalf("stored %d of %d events", len(got), n)
	}
	// The marker is in the plaintext view while it runs (so the scan
	// below is looking for something that is there).
	if !containsUnder(t, filepath.Join(dir, cryptdir.PlainDir), marker) {
		t.Fatal("the running server's view holds no marker: the test would prove nothing")
	}
	in.stop()

	plain := filepath.Join(dir, cryptdir.PlainDir)
	if cryptdir.Mounted(plain) {
		exec.Command("fusermount3", "-u", "-z", plain).Run()
		t.Fatal("the plaintext view is still mounted after vigil stopped")
	}
	if containsUnder(t, dir, marker) {
		t.Fatal("the stopped data dir discloses the marker")
	}
	if containsUnder(t, dir, "opened chart") {
		t.Fatal("the stopped data dir discloses event text")
	}

	refused := func(want string, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, vigilBin, append([]string{"serve", "--data-dir", dir, "--http-addr", "127.0.0.1:0",
			"--syslog-udp-addr", "", "--syslog-tcp-addr", "", "--syslog-tls-addr", "", "--mllp-addr", ""}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("vigil serve %q: %v, want an error saying %q:\n%s", args, err, want, out)
		}
		if cryptdir.Mounted(plain) {
			t.Fatalf("refused start %q left the view mounted", args)
		}
	}
	refused("is encrypted at rest: set encryption.key_file")
	refused("does not open the data dir", "--encryption-key-file", keyFile("wrong", "k1 "+strings.Fields(k2)[1]))

	// Restart with the key: the events are there. Then a crash (SIGKILL):
	// the kernel ends gocryptfs with the server, so the view goes too.
	in = startVigil(t, dir, "--encryption-key-file", first)
	if got := in.waitFor(`test.id:"`+marker+`"`, n, 30*time.Second); len(got) != n {
		t.Fatalf("after restart: %d of %d events", len(got), n)
	}
	if !cryptdir.Mounted(plain) {
		t.Fatal("the running server's view is not mounted where the test looks")
	}
	in.kill()
	for deadline := time.Now().Add(20 * time.Second); cryptdir.Mounted(plain); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			exec.Command("fusermount3", "-u", "-z", plain).Run()
			t.Fatal("the plaintext view is still mounted 20 s after vigil was killed")
		}
	}

	// Rotate to k2 (k1 after it), then k1 alone is refused.
	rot := keyFile("rotate", k2, k1)
	out, err := exec.Command(vigilBin, "encryption", "rotate-key", "--data-dir", dir, "--encryption-key-file", rot).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `from key "k1" to key "k2"`) {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	refused(`encrypted with key "k2"`, "--encryption-key-file", first)
	// k1's secret under k2's name: only the wrapping can refuse it.
	refused("does not open the data dir", "--encryption-key-file", keyFile("stale", "k2 "+strings.Fields(k1)[1]))
	out, err = exec.Command(vigilBin, "encryption", "status", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `with key "k2"`) || !strings.Contains(string(out), "rotated") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	in = startVigil(t, dir, "--encryption-key-file", keyFile("second", k2), "--backup-key-file", backupKeys)
	if got := in.waitFor(`test.id:"`+marker+`"`, n, 30*time.Second); len(got) != n {
		t.Fatalf("after rotation: %d of %d events", len(got), n)
	}
	// A new master key: back up (encrypted with the backup keys), restore
	// into a new data dir encrypted with a new key, which verifies offline
	// and serves the same events; the backup discloses nothing either.
	target := filepath.Join(t.TempDir(), "backups")
	if out, code := runVigil(t, "backup", "--to", target, "--server", in.httpURL, "--token", in.admin); code != 0 {
		t.Fatalf("backup: %s", out)
	}
	in.stop()
	if containsUnder(t, target, marker) {
		t.Fatal("the backup discloses the marker")
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	k3 := keyFile("third", line("k3"))
	if out, code := runVigil(t, "restore", "--from", target, "--data-dir", fresh, "--key-file", backupKeys, "--encryption-key-file", k3); code != 0 || !strings.Contains(out, "encrypted at rest") {
		t.Fatalf("restore into an encrypted data dir: %d\n%s", code, out)
	}
	if containsUnder(t, fresh, marker) {
		t.Fatal("the restored data dir discloses the marker")
	}
	if out, code := runVigil(t, "verify", "--data-dir", fresh); code == 0 || !strings.Contains(out, "--encryption-key-file") {
		t.Fatalf("offline verify of an encrypted data dir without its key: %d\n%s", code, out)
	}
	if out, code := runVigil(t, "verify", "--data-dir", fresh, "--encryption-key-file", k3); code != 0 {
		t.Fatalf("offline verify of the restored encrypted data dir: %d\n%s", code, out)
	}
	if cryptdir.Mounted(filepath.Join(fresh, cryptdir.PlainDir)) {
		t.Fatal("offline verify left the view mounted")
	}
	in = startVigil(t, fresh, "--encryption-key-file", k3)
	if got := in.waitFor(`test.id:"`+marker+`"`, n, 30*time.Second); len(got) != n {
		t.Fatalf("restored into a new encrypted data dir: %d of %d events", len(got), n)
	}
	in.stop()

	// encryption.require refuses a data dir that is not encrypted, and
	// backups that would not be.
	refused("encryption.require is set but backups would not be encrypted", "--encryption-key-file", keyFile("second", k2), "--encryption-require")
	dir = filepath.Join(t.TempDir(), "plain-data")
	refused("encryption.require is set but the data dir is not encrypted", "--encryption-require", "--backup-key-file", backupKeys)
}

// containsUnder reports whether any file name or content under dir
// contains s.
func containsUnder(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	var scanned int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a live store removed it meanwhile
		}
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), s) {
			t.Logf("%s: name holds %q", p, s)
			found = true
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		scanned += int64(len(b))
		if bytes.Contains(b, []byte(s)) {
			t.Logf("%s holds %q", p, s)
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned == 0 {
		t.Fatalf("nothing to scan under %s", dir)
	}
	return found
}

package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ring(t *testing.T, ids ...string) *Keyring {
	t.Helper()
	var lines []string
	for _, id := range ids {
		l, err := NewKeyLine(id)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	k, err := Parse([]byte("# backup keys\n" + strings.Join(lines, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndTampering(t *testing.T) {
	k := ring(t, "k1")
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		var enc bytes.Buffer
		if err := k.Encrypt(&enc, bytes.NewReader(plain)); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(enc.Bytes(), plain[:min(size, 64)]) && size >= 16 {
			t.Fatalf("size %d: plaintext visible in the ciphertext", size)
		}
		var dec bytes.Buffer
		if err := k.Decrypt(&dec, bytes.NewReader(enc.Bytes())); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(dec.Bytes(), plain) {
			t.Fatalf("size %d: round trip differs", size)
		}
		// A flipped byte anywhere after the header, or a cut, is refused.
		e := enc.Bytes()
		for _, i := range []int{len(e) - 1, len(e) / 2, 30} {
			if i >= len(e) {
				continue
			}
			bad := append([]byte(nil), e...)
			bad[i] ^= 1
			if err := k.Decrypt(&bytes.Buffer{}, bytes.NewReader(bad)); err == nil {
				t.Errorf("size %d: byte %d changed, decrypted anyway", size, i)
			}
		}
		if size > chunkSize {
			cut := e[:len(e)-(len(e)-20)/2]
			if err := k.Decrypt(&bytes.Buffer{}, bytes.NewReader(cut)); err == nil {
				t.Errorf("size %d: truncated stream decrypted", size)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	old := ring(t, "2025")
	var enc bytes.Buffer
	if err := old.Encrypt(&enc, strings.NewReader("patient data")); err != nil {
		t.Fatal(err)
	}
	// A new key first, the old one kept: new data uses the new key, old
	// data still opens.
	both, err := Parse([]byte(mustLine(t, "2026") + "\n" + lineOf(old, "2025")))
	if err != nil {
		t.Fatal(err)
	}
	if both.Current() != "2026" {
		t.Fatalf("current %q", both.Current())
	}
	var dec bytes.Buffer
	if err := both.Decrypt(&dec, bytes.NewReader(enc.Bytes())); err != nil || dec.String() != "patient data" {
		t.Fatalf("old data with the rotated keyring: %q, %v", dec.String(), err)
	}
	if id, _ := KeyID(bytes.NewReader(enc.Bytes())); id != "2025" {
		t.Fatalf("key id %q", id)
	}
	// Without the old key: a clear refusal.
	newOnly := ring(t, "2026")
	if err := newOnly.Decrypt(&bytes.Buffer{}, bytes.NewReader(enc.Bytes())); err == nil || !strings.Contains(err.Error(), `key "2025"`) {
		t.Fatalf("err = %v", err)
	}
}

func mustLine(t *testing.T, id string) string {
	l, err := NewKeyLine(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lineOf(k *Keyring, id string) string {
	for _, key := range k.keys {
		if key.ID == id {
			return id + " " + encode(key.key)
		}
	}
	return ""
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "keys")
	os.WriteFile(f, []byte(mustLine(t, "a")+"\n"), 0o644)
	if _, err := Load(context.Background(), f, ""); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable key file: %v", err)
	}
	os.Chmod(f, 0o600)
	if k, err := Load(context.Background(), f, ""); err != nil || k.Current() != "a" {
		t.Fatalf("file: %v", err)
	}
	// A KMS-style command prints the keys.
	k, err := Load(context.Background(), "", "cat "+f)
	if err != nil || k.Current() != "a" {
		t.Fatalf("command: %v", err)
	}
	if _, err := Load(context.Background(), "", "echo nope >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("failing command: %v", err)
	}
	for _, bad := range []string{"", "a", "a notbase64!", "a AAAA", "a " + encode(make([]byte, 32)) + "\na " + encode(make([]byte, 32))} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzDecrypt(f *testing.F) {
	k, _ := Parse([]byte("k " + encode(make([]byte, 32))))
	var enc bytes.Buffer
	k.Encrypt(&enc, strings.NewReader("seed"))
	f.Add(enc.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = k.Decrypt(&bytes.Buffer{}, bytes.NewReader(b))
	})
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

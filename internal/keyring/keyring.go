// Package keyring holds the keys that encrypt Vigil's backups, and
// encrypts and decrypts streams with them (AES-256-GCM in 64 KiB chunks,
// each authenticated with its position and whether it is the last, so
// chunks cannot be reordered, dropped or cut off unnoticed).
//
// Keys come from a file or from the output of a command (a KMS or vault
// client that prints them), one per line: "ID BASE64-32-BYTES". The first
// key encrypts; every key decrypts, so rotating is adding a new first line
// and re-encrypting what the old keys sealed.
package keyring

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Key is one 256-bit key.
type Key struct {
	ID  string
	key []byte
}

// Keyring is an ordered set of keys; the first is current.
type Keyring struct {
	keys []Key
}

// Parse reads "ID BASE64KEY" lines ('#' starts a comment).
func Parse(data []byte) (*Keyring, error) {
	k := &Keyring{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"ID BASE64KEY\"", line)
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("line %d: key %q is not 32 bytes of base64", line, f[0])
		}
		if len(f[0]) > 64 {
			return nil, fmt.Errorf("line %d: key id longer than 64 characters", line)
		}
		for _, have := range k.keys {
			if have.ID == f[0] {
				return nil, fmt.Errorf("line %d: key id %q given twice", line, f[0])
			}
		}
		k.keys = append(k.keys, Key{ID: f[0], key: raw})
	}
	if len(k.keys) == 0 {
		return nil, errors.New("no key")
	}
	return k, nil
}

// Load reads keys from file, or from the standard output of command (run
// with sh -c) when command is set.
func Load(ctx context.Context, file, command string) (*Keyring, error) {
	var data []byte
	switch {
	case command != "":
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", command)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			// The command's own words, never its output (the keys).
			return nil, fmt.Errorf("key command: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		data = out
	case file != "":
		st, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("key file %s is readable by others (mode %v): chmod 600", file, st.Mode().Perm())
		}
		if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
	default:
		return nil, errors.New("no key file or key command")
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

// NewKeyLine returns a fresh key as a keyring line with the given id.
func NewKeyLine(id string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return id + " " + base64.StdEncoding.EncodeToString(b), nil
}

// Current is the id of the key that encrypts.
func (k *Keyring) Current() string { return k.keys[0].ID }

// IDs lists the key ids, the current first.
func (k *Keyring) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.ID
	}
	return ids
}

// Has reports whether the keyring holds key id.
func (k *Keyring) Has(id string) bool {
	for _, key := range k.keys {
		if key.ID == id {
			return true
		}
	}
	return false
}

// Secret is key id as text (its base64), for a consumer that takes a
// passphrase: the data dir's encryption (package cryptdir) wraps its
// master key with it. "" when the keyring does not hold id.
func (k *Keyring) Secret(id string) string {
	for _, key := range k.keys {
		if key.ID == id {
			return base64.StdEncoding.EncodeToString(key.key)
		}
	}
	return ""
}

func (k *Keyring) key(id string) (cipher.AEAD, error) {
	for _, key := range k.keys {
		if key.ID == id {
			block, err := aes.NewCipher(key.key)
			if err != nil {
				return nil, err
			}
			return cipher.NewGCM(block)
		}
	}
	return nil, fmt.Errorf("encrypted with key %q, which the keyring does not hold", id)
}

const (
	magic     = "VGLENC1\n"
	chunkSize = 64 << 10
)

// Encrypt writes src encrypted with the current key to dst.
func (k *Keyring) Encrypt(dst io.Writer, src io.Reader) error {
	aead, err := k.key(k.Current())
	if err != nil {
		return err
	}
	id := k.Current()
	header := []byte(magic)
	header = append(header, byte(len(id)))
	header = append(header, id...)
	prefix := make([]byte, 8)
	if _, err := rand.Read(prefix); err != nil {
		return err
	}
	header = append(header, prefix...)
	if _, err := dst.Write(header); err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	next := make([]byte, chunkSize)
	n, err := io.ReadFull(src, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return err
	}
	var out []byte
	for index := uint32(0); ; index++ {
		// Read ahead to know whether this chunk is the last.
		m := 0
		if n == chunkSize {
			m, err = io.ReadFull(src, next)
			if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
				return err
			}
		}
		last := m == 0
		out = binary.BigEndian.AppendUint32(out[:0], uint32(n))
		out = aead.Seal(out, nonce(prefix, index), buf[:n], aad(header, index, last))
		if _, err := dst.Write(out); err != nil {
			return err
		}
		if last {
			return nil
		}
		buf, next, n = next, buf, m
	}
}

func nonce(prefix []byte, index uint32) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), prefix...), index)
}

func aad(header []byte, index uint32, last bool) []byte {
	a := binary.BigEndian.AppendUint32(append([]byte(nil), header...), index)
	if last {
		return append(a, 1)
	}
	return append(a, 0)
}

// IsEncrypted reports whether data starts like an encrypted stream.
func IsEncrypted(prefix []byte) bool { return bytes.HasPrefix(prefix, []byte(magic)) }

// KeyID reads the id of the key a stream was encrypted with.
func KeyID(r io.Reader) (string, error) {
	h := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(r, h); err != nil || string(h[:len(magic)]) != magic {
		return "", errors.New("not an encrypted stream")
	}
	id := make([]byte, h[len(magic)])
	if _, err := io.ReadFull(r, id); err != nil {
		return "", errors.New("truncated header")
	}
	return string(id), nil
}

// Decrypt writes the plaintext of src to dst, failing on any change,
// reordering or truncation of the stream.
func (k *Keyring) Decrypt(dst io.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, chunkSize+64)
	h := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(br, h); err != nil || string(h[:len(magic)]) != magic {
		return errors.New("decrypt: not an encrypted stream")
	}
	id := make([]byte, h[len(magic)])
	prefix := make([]byte, 8)
	if _, err := io.ReadFull(br, id); err != nil {
		return errors.New("decrypt: truncated header")
	}
	if _, err := io.ReadFull(br, prefix); err != nil {
		return errors.New("decrypt: truncated header")
	}
	header := append(append(h, id...), prefix...)
	aead, err := k.key(string(id))
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	var lenb [4]byte
	ct := make([]byte, chunkSize+aead.Overhead())
	var pt []byte
	for index := uint32(0); ; index++ {
		if _, err := io.ReadFull(br, lenb[:]); err != nil {
			return errors.New("decrypt: the stream is cut short")
		}
		n := int(binary.BigEndian.Uint32(lenb[:]))
		if n > chunkSize {
			return fmt.Errorf("decrypt: chunk %d claims %d bytes", index, n)
		}
		if _, err := io.ReadFull(br, ct[:n+aead.Overhead()]); err != nil {
			return errors.New("decrypt: the stream is cut short")
		}
		_, peekErr := br.Peek(1)
		last := peekErr == io.EOF
		pt, err = aead.Open(pt[:0], nonce(prefix, index), ct[:n+aead.Overhead()], aad(header, index, last))
		if err != nil {
			return fmt.Errorf("decrypt: chunk %d does not authenticate (changed, moved or cut)", index)
		}
		if _, err := dst.Write(pt); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// Package backup takes consistent online backups of a Vigil data dir (the
// log store, the control-plane databases, the integrity ledger, the keys)
// to a directory or S3-compatible object storage, incrementally, and
// restores them into a new data dir.
//
// A backup is a manifest (manifests/<id>.json) listing every file with its
// size and SHA-256, and the files' contents as blobs named by that hash
// (blobs/<xx>/<sha256>). A blob is written once: the store's parts never
// change once written, so a backup after the first uploads only the parts
// written since, the databases and the small state files. The manifest is
// written last: a backup cut short has none and is not listed.
//
// Consistency: the store writer is quiesced (everything it stored made
// durable and sealed) while the store's partitions are snapshotted (hard
// links, milliseconds); the integrity ledger's head is read at the same
// moment, so the restored store and ledger agree; SQLite databases are
// copied with VACUUM INTO, a consistent copy of a database in use.
// Batches still on the bus at that moment are not in the backup: the
// restore records their sequences in the ledger as a gap, and the restored
// instance's bus continues after them.
package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/keyring"
)

// Format names the manifest format.
const Format = "vigil-backup-v1"

// Manifest describes one backup.
type Manifest struct {
	Format   string    `json:"format"`
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Snapshot is when the store was snapshotted: the backup holds every
	// event stored (and sealed) before it.
	Snapshot time.Time `json:"snapshot"`
	// Stored is the bus sequence up to which every batch is in the backup.
	Stored uint64 `json:"stored"`
	// Ledger is the integrity chain's head at the snapshot.
	Ledger struct {
		Entries int64  `json:"entries"`
		Chain   string `json:"chain"`
		Seq     uint64 `json:"seq"`
		Events  int64  `json:"events"`
	} `json:"ledger"`
	Files []File `json:"files"`
	// Encrypted names the key that encrypted the blobs ("" when none).
	Encrypted string `json:"encrypted,omitempty"`
	Previous  string `json:"previous,omitempty"`
	Stats     Stats  `json:"stats"`
}

// File is one file of the data dir.
type File struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"`
	Mode   fs.FileMode `json:"mode"`
}

// Stats count what a backup wrote and what it found already kept.
type Stats struct {
	Files       int   `json:"files"`
	Bytes       int64 `json:"bytes"`
	NewFiles    int   `json:"new_files"`
	NewBytes    int64 `json:"new_bytes"`
	StoreEvents int64 `json:"store_events"`
}

// Source is a running server's data.
type Source struct {
	DataDir string
	// Snapshot writes a consistent view of the store into dir while the
	// store writer adds nothing, and returns the bus sequence up to which
	// every batch is stored, with the integrity chain's head then.
	Snapshot func(ctx context.Context, dir string) (stored uint64, head integrity.Head, err error)
	// Databases are the SQLite databases in the data dir, by file name,
	// copied with VACUUM INTO.
	Databases map[string]*sql.DB
}

// Options configure a backup or restore.
type Options struct {
	// Keys, when set, encrypt the blobs (and are needed to restore).
	Keys *keyring.Keyring
	Log  *slog.Logger
}

func (o Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// Paths of the data dir a backup leaves out or takes another way.
var skipped = []string{"bus", "integrity-views", "backup-views", "flock.lock"}

// Run backs up src to t.
func Run(ctx context.Context, src Source, t Target, opts Options) (*Manifest, error) {
	m := &Manifest{Format: Format, Started: time.Now().UTC()}
	m.ID = strings.Replace(m.Started.Format("20060102T150405.000000Z"), ".", "-", 1) + "-" + randomHex(2)
	if opts.Keys != nil {
		m.Encrypted = opts.Keys.Current()
	}
	prev, err := Latest(ctx, t)
	if err != nil && !errors.Is(err, ErrNoBackup) {
		return nil, err
	}
	known := map[string]File{} // store part files by path, from the last backup
	if prev != nil {
		m.Previous = prev.ID
		for _, f := range prev.Files {
			if strings.HasPrefix(f.Path, "store/partitions/") && !strings.HasSuffix(f.Path, "parts.json") {
				known[f.Path] = f
			}
		}
	}
	work := filepath.Join(src.DataDir, "backup-views", m.ID)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	view := filepath.Join(work, "store")
	stored, head, err := src.Snapshot(ctx, view)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	m.Snapshot, m.Stored = time.Now().UTC(), stored
	m.Ledger.Entries, m.Ledger.Chain, m.Ledger.Seq, m.Ledger.Events = head.N, integrity.Hex(head.Chain), head.Seq, head.Events
	up := &uploader{ctx: ctx, t: t, keys: opts.Keys, m: m}
	// The store, from the snapshot.
	err = filepath.WalkDir(view, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(view, p)
		name := "store/" + filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if k, ok := known[name]; ok && k.Size == info.Size() {
			up.reuse(k)
			return nil
		}
		return up.file(name, p, info.Mode())
	})
	if err != nil {
		return nil, fmt.Errorf("back up the store: %w", err)
	}
	// The databases, consistent copies.
	names := make([]string, 0, len(src.Databases))
	for n := range src.Databases {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		tmp := filepath.Join(work, n)
		if _, err := src.Databases[n].ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
			return nil, fmt.Errorf("copy database %s: %w", n, err)
		}
		if err := up.file(n, tmp, 0o600); err != nil {
			return nil, err
		}
	}
	// The rest: keys, certificates, tokens, state files.
	writerState, _ := json.Marshal(map[string]uint64{"stored": stored, "reserved": stored})
	err = filepath.WalkDir(src.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src.DataDir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		top := strings.SplitN(rel, "/", 2)[0]
		if slices.Contains(skipped, top) || top == integrity.StoreDir || src.Databases[top] != nil ||
			strings.HasSuffix(rel, "-wal") || strings.HasSuffix(rel, "-shm") || strings.HasSuffix(rel, ".tmp") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if rel == integrity.WriterFile {
			// What the writer had stored at the snapshot, not now.
			return up.bytes(rel, writerState, 0o600)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return up.file(rel, p, info.Mode())
	})
	if err != nil {
		return nil, fmt.Errorf("back up %s: %w", src.DataDir, err)
	}
	if !slices.ContainsFunc(m.Files, func(f File) bool { return f.Path == integrity.WriterFile }) {
		if err := up.bytes(integrity.WriterFile, writerState, 0o600); err != nil {
			return nil, err
		}
	}
	m.Stats.StoreEvents = head.Events
	m.Finished = time.Now().UTC()
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, err
	}
	if err := t.Put(ctx, "manifests/"+m.ID+".json", bytes.NewReader(data), int64(len(data))); err != nil {
		return nil, err
	}
	opts.log().Info("backup written", "id", m.ID, "target", t.String(), "files", m.Stats.Files, "new_files", m.Stats.NewFiles,
		"new_bytes", m.Stats.NewBytes, "stored_seq", m.Stored)
	return m, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type uploader struct {
	ctx  context.Context
	t    Target
	keys *keyring.Keyring
	m    *Manifest
}

func blobKey(sum string) string { return "blobs/" + sum[:2] + "/" + sum }

func (u *uploader) reuse(f File) {
	u.m.Files = append(u.m.Files, f)
	u.m.Stats.Files++
	u.m.Stats.Bytes += f.Size
}

func (u *uploader) file(name, p string, mode fs.FileMode) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	entry := File{Path: name, Size: size, SHA256: sum, Mode: mode.Perm()}
	return u.put(entry, func() (io.Reader, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return io.LimitReader(f, size), nil
	})
}

func (u *uploader) bytes(name string, data []byte, mode fs.FileMode) error {
	sum := sha256.Sum256(data)
	entry := File{Path: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Mode: mode.Perm()}
	return u.put(entry, func() (io.Reader, error) { return bytes.NewReader(data), nil })
}

func (u *uploader) put(f File, open func() (io.Reader, error)) error {
	u.reuse(f)
	key := blobKey(f.SHA256)
	have, err := u.t.Exists(u.ctx, key)
	if err != nil {
		return err
	}
	if have {
		return nil
	}
	r, err := open()
	if err != nil {
		return err
	}
	size := f.Size
	if u.keys != nil {
		var enc bytes.Buffer
		if err := u.keys.Encrypt(&enc, r); err != nil {
			return err
		}
		r, size = &enc, int64(enc.Len())
	}
	if err := u.t.Put(u.ctx, key, r, size); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	u.m.Stats.NewFiles++
	u.m.Stats.NewBytes += f.Size
	return nil
}

// ErrNoBackup is returned when a target holds no backup.
var ErrNoBackup = errors.New("no backup in the target")

// List returns the manifests of a target, oldest first.
func List(ctx context.Context, t Target) ([]*Manifest, error) {
	keys, err := t.List(ctx, "manifests/")
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") {
			continue
		}
		m, err := readManifest(ctx, t, k)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b *Manifest) int { return a.Started.Compare(b.Started) })
	return out, nil
}

// Latest is the newest backup of a target.
func Latest(ctx context.Context, t Target) (*Manifest, error) {
	ms, err := List(ctx, t)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, ErrNoBackup
	}
	return ms[len(ms)-1], nil
}

func readManifest(ctx context.Context, t Target, key string) (*Manifest, error) {
	r, err := t.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("manifest %s: format %q, want %q", key, m.Format, Format)
	}
	return &m, nil
}

// Restore writes backup id (empty: the latest) of t into dataDir, which
// must not exist or be empty, checking every file's SHA-256; then it
// makes the restored instance continue where the backup ends (see the
// package doc).
func Restore(ctx context.Context, t Target, id, dataDir string, opts Options) (*Manifest, error) {
	var m *Manifest
	var err error
	if id == "" {
		m, err = Latest(ctx, t)
	} else {
		m, err = readManifest(ctx, t, "manifests/"+id+".json")
	}
	if err != nil {
		return nil, err
	}
	if m.Encrypted != "" && opts.Keys == nil {
		return nil, fmt.Errorf("backup %s is encrypted with key %q: give the backup keys", m.ID, m.Encrypted)
	}
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("restore into %s: the directory is not empty", dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if err := restoreFile(ctx, t, f, dataDir, opts.Keys); err != nil {
			return nil, err
		}
	}
	if err := continueAfter(ctx, m, dataDir); err != nil {
		return nil, err
	}
	opts.log().Info("backup restored", "id", m.ID, "data_dir", dataDir, "files", len(m.Files))
	return m, nil
}

func restoreFile(ctx context.Context, t Target, f File, dataDir string, keys *keyring.Keyring) error {
	clean := path.Clean("/" + f.Path)[1:]
	if clean != f.Path || clean == "" {
		return fmt.Errorf("manifest names a bad path %q", f.Path)
	}
	dst := filepath.Join(dataDir, filepath.FromSlash(clean))
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	r, err := t.Get(ctx, blobKey(f.SHA256))
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	defer r.Close()
	mode := f.Mode
	if mode == 0 {
		mode = 0o600
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	h := sha256.New()
	w := io.MultiWriter(out, h)
	if keys != nil {
		err = keys.Decrypt(w, r)
	} else {
		_, err = io.Copy(w, r)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("restore %s: its content does not match the manifest (SHA-256 %s, want %s): the backup is damaged", f.Path, got, f.SHA256)
	}
	return nil
}

// continueAfter trims the restored ledger to the snapshot, records as a
// gap the bus sequences the backup does not hold but a consumer had
// already taken, and sets the writer's state so the new bus continues
// after them.
func continueAfter(ctx context.Context, m *Manifest, dataDir string) error {
	ledgerPath := filepath.Join(dataDir, integrity.LedgerFile)
	if _, err := os.Stat(ledgerPath); err != nil {
		return nil // a backup of an instance without a ledger
	}
	if err := integrity.TruncateLedger(ctx, ledgerPath, m.Ledger.Entries); err != nil {
		return err
	}
	l, err := integrity.OpenLedger(ctx, ledgerPath, integrity.LedgerOptions{})
	if err != nil {
		return err
	}
	defer l.Close()
	if got := integrity.Hex(l.Head().Chain); got != m.Ledger.Chain {
		return fmt.Errorf("restored ledger ends with chain %s, the backup recorded %s: the backup is inconsistent", got, m.Ledger.Chain)
	}
	last := max(m.Stored, l.Head().Seq)
	if data, err := os.ReadFile(filepath.Join(dataDir, "detector.json")); err == nil {
		var det struct {
			Done  uint64   `json:"done"`
			Above []uint64 `json:"above"`
		}
		if json.Unmarshal(data, &det) == nil {
			last = max(last, det.Done)
			for _, a := range det.Above {
				last = max(last, a)
			}
		}
	}
	if last > l.Head().Seq {
		note := fmt.Sprintf("restored from backup %s: bus sequences after %d were on the bus, not in the store, at its snapshot (%s)",
			m.ID, l.Head().Seq, m.Snapshot.Format(time.RFC3339))
		if err := l.RecordGap(ctx, l.Head().Seq+1, last, note); err != nil {
			return err
		}
	}
	state, _ := json.Marshal(map[string]uint64{"stored": last, "reserved": last})
	return os.WriteFile(filepath.Join(dataDir, integrity.WriterFile), state, 0o600)
}

// Rekey re-encrypts with the current key every blob of t that another key
// of keys encrypted (after a key rotation), and returns how many it
// rewrote. Unencrypted blobs are encrypted too.
func Rekey(ctx context.Context, t Target, keys *keyring.Keyring) (int, error) {
	blobs, err := t.List(ctx, "blobs/")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range blobs {
		r, err := t.Get(ctx, k)
		if err != nil {
			return n, err
		}
		var buf bytes.Buffer
		_, err = io.Copy(&buf, r)
		r.Close()
		if err != nil {
			return n, err
		}
		data := buf.Bytes()
		plain := data
		if keyring.IsEncrypted(data) {
			id, err := keyring.KeyID(bytes.NewReader(data))
			if err != nil {
				return n, fmt.Errorf("%s: %w", k, err)
			}
			if id == keys.Current() {
				continue
			}
			var dec bytes.Buffer
			if err := keys.Decrypt(&dec, bytes.NewReader(data)); err != nil {
				return n, fmt.Errorf("%s: %w", k, err)
			}
			plain = dec.Bytes()
		}
		var enc bytes.Buffer
		if err := keys.Encrypt(&enc, bytes.NewReader(plain)); err != nil {
			return n, err
		}
		if err := t.Put(ctx, k, &enc, int64(enc.Len())); err != nil {
			return n, err
		}
		n++
	}
	// The manifests say which key encrypted their blobs: now the current.
	ms, err := List(ctx, t)
	if err != nil {
		return n, err
	}
	for _, m := range ms {
		if m.Encrypted == keys.Current() {
			continue
		}
		m.Encrypted = keys.Current()
		data, err := json.MarshalIndent(m, "", " ")
		if err != nil {
			return n, err
		}
		if err := t.Put(ctx, "manifests/"+m.ID+".json", bytes.NewReader(data), int64(len(data))); err != nil {
			return n, err
		}
	}
	return n, nil
}

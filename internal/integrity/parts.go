package integrity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Part seals: the storage library writes each part of the store once and
// never changes it (merges write new parts and delete old ones), so the
// SHA-256 of every file of a part, taken when it appears, names any byte
// changed later, in any file, even one that changes no event (a block
// header, a bloom filter that would hide events from searches). They
// complement the event seals: they say which file changed; the event
// seals say which events, and they are the ones the checkpoints sign.

var partsMigration = `
CREATE TABLE parts (
	path   TEXT PRIMARY KEY,
	files  TEXT NOT NULL,
	sealed INTEGER NOT NULL
);`

// partFiles maps a part's file names to their SHA-256 (hex).
type partFiles map[string]string

// storeParts lists the parts a store directory's partitions list, as paths
// relative to it ("partitions/20261207/datadb/18EEF…").
func storeParts(storeDir string) ([]string, error) {
	dbs, err := filepath.Glob(filepath.Join(storeDir, "partitions", "*", "*db"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, db := range dbs {
		names, err := store.PartNames(db)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(storeDir, db)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			out = append(out, filepath.ToSlash(filepath.Join(rel, n)))
		}
	}
	slices.Sort(out)
	return out, nil
}

func hashPart(dir string) (partFiles, error) {
	files := partFiles{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	return files, err
}

// SealParts seals the parts of the store at storeDir not sealed yet and
// forgets the seals of parts it no longer lists (merged away). It may run
// while the store runs: a part deleted while it is read is skipped.
func (l *Ledger) SealParts(ctx context.Context, storeDir string) (added, removed int, err error) {
	parts, err := storeParts(storeDir)
	if err != nil {
		return 0, 0, fmt.Errorf("seal parts: %w", err)
	}
	have := map[string]bool{}
	rows, err := l.db.QueryContext(ctx, `SELECT path FROM parts`)
	if err != nil {
		return 0, 0, fmt.Errorf("seal parts: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, 0, err
		}
		have[p] = true
	}
	rows.Close()
	now := l.opts.Now().UnixNano()
	for _, p := range parts {
		if have[p] {
			delete(have, p)
			continue
		}
		files, err := hashPart(filepath.Join(storeDir, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // merged away meanwhile
		}
		if err != nil {
			return added, removed, fmt.Errorf("seal part %s: %w", p, err)
		}
		data, _ := json.Marshal(files)
		if _, err := l.db.ExecContext(ctx, `INSERT INTO parts (path, files, sealed) VALUES (?, ?, ?) ON CONFLICT (path) DO NOTHING`, p, string(data), now); err != nil {
			return added, removed, fmt.Errorf("seal part %s: %w", p, err)
		}
		added++
	}
	for p := range have {
		if _, err := l.db.ExecContext(ctx, `DELETE FROM parts WHERE path = ?`, p); err != nil {
			return added, removed, err
		}
		removed++
	}
	return added, removed, nil
}

// changedPart is a part whose files differ from their seal.
type changedPart struct {
	path   string
	detail string
	sealed time.Time
}

// checkParts compares every sealed part the store at storeDir lists with
// its seal. Parts without a seal (written since the last SealParts) are
// counted, not judged: their events are judged by the event seals.
func (l *Ledger) checkParts(ctx context.Context, storeDir string) (changed []changedPart, unsealed int, err error) {
	parts, err := storeParts(storeDir)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range parts {
		var (
			data   string
			sealed int64
		)
		err := l.db.QueryRowContext(ctx, `SELECT files, sealed FROM parts WHERE path = ?`, p).Scan(&data, &sealed)
		if err != nil {
			unsealed++
			continue
		}
		var want partFiles
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			return nil, 0, fmt.Errorf("part seal %s: %w", p, err)
		}
		got, err := hashPart(filepath.Join(storeDir, filepath.FromSlash(p)))
		if err != nil {
			changed = append(changed, changedPart{p, fmt.Sprintf("cannot be read: %v", err), fromNanos(sealed)})
			continue
		}
		var diffs []string
		for name, h := range want {
			switch g, ok := got[name]; {
			case !ok:
				diffs = append(diffs, name+" is gone")
			case g != h:
				diffs = append(diffs, name+" differs")
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				diffs = append(diffs, name+" was added")
			}
		}
		if len(diffs) > 0 {
			slices.Sort(diffs)
			changed = append(changed, changedPart{p, fmt.Sprintf("%v", diffs), fromNanos(sealed)})
		}
	}
	return changed, unsealed, nil
}

// partView links one datadb part (with its partition's stream index) into
// a store directory of its own at dir, so its events can be read alone.
func partView(storeDir, part, dir string) error {
	// part: partitions/<day>/datadb/<name>
	day := filepath.Dir(filepath.Dir(filepath.FromSlash(part)))
	name := filepath.Base(part)
	dst := filepath.Join(dir, day)
	if err := store.LinkTree(filepath.Join(storeDir, filepath.FromSlash(part)), filepath.Join(dst, "datadb", name)); err != nil {
		return err
	}
	data, _ := json.Marshal([]string{name})
	if err := os.WriteFile(filepath.Join(dst, "datadb", "parts.json"), data, 0o640); err != nil {
		return err
	}
	idx := filepath.Join(storeDir, day, "indexdb")
	names, err := store.PartNames(idx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "indexdb"), 0o750); err != nil {
		return err
	}
	for _, n := range names {
		if err := store.LinkTree(filepath.Join(idx, n), filepath.Join(dst, "indexdb", n)); err != nil {
			return err
		}
	}
	data, _ = json.Marshal(names)
	return os.WriteFile(filepath.Join(dst, "indexdb", "parts.json"), data, 0o640)
}

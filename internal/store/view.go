package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// A view is a store directory made of hard links to another store's part
// files: opening it reads the same bytes without touching the original
// (the library merges and deletes parts in the directory it opens). It
// costs no copy and no space until the original's parts change.

// SnapshotView writes a view of the running store at dir: the library
// flushes every partition's in-memory data and hard-links its parts
// (PartitionSnapshotMustCreate), and each snapshot is moved into dir.
// Everything added before the call is in the view.
func (e *Embedded) SnapshotView(dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store snapshot: %v", r)
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, "partitions"), 0o750); err != nil {
		return err
	}
	for _, name := range e.s.PartitionList() {
		for _, snap := range e.s.PartitionSnapshotMustCreate(name) {
			if err := os.Rename(snap, filepath.Join(dir, "partitions", name)); err != nil {
				_ = e.s.PartitionSnapshotDelete(snap)
				return fmt.Errorf("store snapshot of %s: %w", name, err)
			}
		}
	}
	return nil
}

// Partitions lists the day partitions (YYYYMMDD) of the running store.
func (e *Embedded) Partitions() []string {
	ps := e.s.PartitionList()
	slices.Sort(ps)
	return ps
}

// LinkView writes a view of the stopped store at src into dir, linking
// the parts each partition lists in its parts.json.
func LinkView(src, dir string) error {
	parts, err := filepath.Glob(filepath.Join(src, "partitions", "*"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("store %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "partitions"), 0o750); err != nil {
		return err
	}
	for _, p := range parts {
		for _, db := range []string{"datadb", "indexdb"} {
			if err := linkDB(filepath.Join(p, db), filepath.Join(dir, "partitions", filepath.Base(p), db)); err != nil {
				return err
			}
		}
	}
	return nil
}

func linkDB(src, dst string) error {
	names, err := PartNames(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return err
	}
	for _, n := range names {
		if err := LinkTree(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	data, err := json.Marshal(names)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "parts.json"), data, 0o640)
}

// PartNames reads the parts a datadb or indexdb directory lists.
func PartNames(dbDir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dbDir, "parts.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		return nil, fmt.Errorf("%s/parts.json: %w", dbDir, err)
	}
	for _, n := range names {
		if n == "" || n != filepath.Base(n) || n == "." || n == ".." {
			return nil, fmt.Errorf("%s/parts.json: bad part name %q", dbDir, n)
		}
	}
	return names, nil
}

// LinkTree hard-links every file under src into the same place under dst.
func LinkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		return os.Link(p, target)
	})
}

// Package datadir keeps Vigil's data directory private to the account that
// runs it: the directory and every directory under it mode 0700, every
// file 0600 at most. The data directory holds patient data (the log store,
// the control database and its write-ahead log, the bus), keys and tokens;
// another local user must not read any of it.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// private are the permission bits nobody but the owner may hold.
const private fs.FileMode = 0o077

// Secure creates dir (0700) when it does not exist, and takes group and
// other permissions away from dir and everything under it (0755 becomes
// 0700, 0644 becomes 0600). It returns the paths it changed, so that the
// caller can warn: files readable by others were exposed until now.
// Symbolic links are left alone (their targets are not the data dir's).
//
// It also sets the process's umask to 077 so that whatever the store, the
// bus and the database create later is private too (SQLite creates its
// files 0644 under the usual umask 022).
func Secure(dir string) (fixed []string, err error) {
	syscall.Umask(0o077)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walk (a store merge)
			}
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		perm := info.Mode().Perm()
		want := perm &^ private
		if d.IsDir() {
			want |= 0o700 // the owner must be able to enter and write
		}
		if want == perm {
			return nil
		}
		if err := os.Chmod(path, want); err != nil {
			return fmt.Errorf("make %s private: %w", path, err)
		}
		fixed = append(fixed, path)
		return nil
	})
	if err != nil {
		return fixed, fmt.Errorf("data dir %s: %w", dir, err)
	}
	return fixed, nil
}

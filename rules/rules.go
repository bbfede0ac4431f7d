// Package rules holds Vigil's own Sigma rules (linux/, healthcare/, …) with
// their regression cases (regression_data/), and ships the rules inside the
// binary so that vigil serve detects with them out of the box.
package rules

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

//go:embed *
var files embed.FS

// Extract writes the rules (not their regression cases) to dir, replacing
// what a previous version wrote there, and returns dir for loading.
func Extract(dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear built-in rules dir: %w", err)
	}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "regression_data" {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".yml") && !strings.HasSuffix(path, ".yaml") {
			return nil
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o640)
	})
	if err != nil {
		return "", fmt.Errorf("write built-in rules: %w", err)
	}
	return dir, nil
}

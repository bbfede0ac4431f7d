package ehr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// HeadBytes is how much of a file's beginning identifies it.
const HeadBytes = 1024

// FileState is how far a file has been imported.
type FileState struct {
	// Size is the file's size when last read.
	Size int64 `json:"size"`
	// HeadLen and HeadSHA256 identify the file: the SHA-256 of its first
	// HeadLen bytes (at most HeadBytes; fewer when the file was shorter).
	HeadLen    int    `json:"head_len"`
	HeadSHA256 string `json:"head_sha256"`
	// Offset is the byte offset just past the last row handled (stored,
	// or refused for good), Line the line number of the next row.
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
	Rows   int64 `json:"rows"`
	// Lanes and LaneLines: an import sending its rows in several lanes
	// (a row's lane chosen by its user, each lane one request at a time)
	// records, per lane, the line of the last row the server
	// acknowledged. Offset and Line are then the first row some lane has
	// not had acknowledged, and resuming skips the rows of each lane up
	// to its line. Empty for an import in one lane.
	Lanes     int   `json:"lanes,omitempty"`
	LaneLines []int `json:"lane_lines,omitempty"`
	// Done is set when the whole file was handled.
	Done    bool      `json:"done,omitempty"`
	ModTime time.Time `json:"mod_time,omitzero"`
	Updated time.Time `json:"updated"`
}

// State is a state file: a FileState per file path.
type State struct {
	path  string
	Files map[string]*FileState `json:"files"`
}

// LoadState reads a state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	s := &State{path: path, Files: map[string]*FileState{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("state file %s is damaged: %w (remove it to start over)", path, err)
	}
	if s.Files == nil {
		s.Files = map[string]*FileState{}
	}
	return s, nil
}

// Save writes the state atomically (a temporary file renamed over it).
func (s *State) Save() error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// Key is the state key of a file: its absolute, cleaned path.
func Key(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// headHash hashes the first n bytes of f (fewer if it is shorter).
func headHash(f io.ReaderAt, n int) (int, string, error) {
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, "", err
	}
	sum := sha256.Sum256(buf[:got])
	return got, hex.EncodeToString(sum[:]), nil
}

// Identify returns a fresh state for f: its size, modification time and
// the hash of its first HeadBytes.
func Identify(f *os.File) (*FileState, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	n, h, err := headHash(f, HeadBytes)
	if err != nil {
		return nil, err
	}
	return &FileState{Size: fi.Size(), HeadLen: n, HeadSHA256: h, ModTime: fi.ModTime(), Line: 0}, nil
}

// SameStart reports whether f still begins with the bytes st hashed: the
// same file, possibly grown.
func (st *FileState) SameStart(f io.ReaderAt) (bool, error) {
	n, h, err := headHash(f, st.HeadLen)
	if err != nil {
		return false, err
	}
	return n == st.HeadLen && h == st.HeadSHA256, nil
}

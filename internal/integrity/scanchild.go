package integrity

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// The storage library panics, in its own goroutines, on a part it cannot
// decode: a damaged file would end the process that reads it. Verify
// therefore reads the store in a child process (ChildScanner), which
// answers one scan after another (ServeScans); when a scan kills it, that
// time window is reported unreadable, with the library's message, and the
// next scan starts a new child.
//
// The protocol is lines of text. Parent: "scan <start> <end>" (Unix
// nanoseconds). Child: one "r <quoted id> <time> <digest hex> <dups>"
// per row, then "ok", or "err <quoted message>".

// ServeScans is the child: it opens the store at dir and answers scans
// read from in until in ends.
func ServeScans(ctx context.Context, dir string, in io.Reader, out io.Writer) error {
	s, err := store.Open(dir, store.Config{Retention: 100 * 365 * 24 * time.Hour, FutureRetention: 365 * 24 * time.Hour})
	if err != nil {
		return err
	}
	defer s.Close()
	w := bufio.NewWriterSize(out, 64<<10)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "scan" {
			return fmt.Errorf("scan child: bad request %q", sc.Text())
		}
		start, err1 := strconv.ParseInt(f[1], 10, 64)
		end, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("scan child: bad request %q", sc.Text())
		}
		var line []byte
		err := s.ScanDigests(ctx, time.Unix(0, start), time.Unix(0, end), func(se store.StoredEvent) error {
			line = append(line[:0], "r "...)
			line = strconv.AppendQuote(line, se.ID)
			line = append(line, ' ')
			line = strconv.AppendInt(line, se.Time.UnixNano(), 10)
			line = append(line, ' ')
			line = hex.AppendEncode(line, se.Digest[:])
			line = append(line, ' ')
			line = strconv.AppendInt(line, int64(se.Duplicates), 10)
			line = append(line, '\n')
			_, err := w.Write(line)
			return err
		})
		if err != nil {
			fmt.Fprintf(w, "err %s\n", strconv.Quote(err.Error()))
		} else {
			w.WriteString("ok\n")
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ChildScanner reads a store through child processes (see ServeScans).
type ChildScanner struct {
	// Command starts a child serving scans of the store on its standard
	// input and output.
	Command func(ctx context.Context) *exec.Cmd

	mu     sync.Mutex
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tail
}

// tail keeps the last bytes written to it (the child's last words).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

// String is the child's last line; of the library's JSON log line, its
// message.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if i := strings.LastIndex(s, "\n"); i >= 0 && len(s)-i > 40 {
		s = s[i+1:]
	}
	var logLine struct{ Msg string }
	if json.Unmarshal([]byte(s), &logLine) == nil && logLine.Msg != "" {
		s = logLine.Msg
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (c *ChildScanner) start(ctx context.Context) error {
	cmd := c.Command(ctx)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	c.stderr = &tail{}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start store reader: %w", err)
	}
	c.cmd, c.in, c.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
	return nil
}

// stop ends the child and returns how it ended.
func (c *ChildScanner) stop() error {
	if c.cmd == nil {
		return nil
	}
	c.in.Close()
	err := c.cmd.Wait()
	c.cmd = nil
	return err
}

// Close ends the child.
func (c *ChildScanner) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stop()
}

// ScanDigests implements Scanner.
func (c *ChildScanner) ScanDigests(ctx context.Context, start, end time.Time, fn func(store.StoredEvent) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(c.in, "scan %d %d\n", start.UnixNano(), end.UnixNano()); err != nil {
		return c.died(err)
	}
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return c.died(err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "ok":
			return nil
		case strings.HasPrefix(line, "err "):
			msg, qerr := strconv.Unquote(line[4:])
			if qerr != nil {
				msg = line[4:]
			}
			return errors.New(msg)
		case strings.HasPrefix(line, "r "):
			se, perr := parseRow(line[2:])
			if perr != nil {
				c.stop()
				return perr
			}
			if err := fn(se); err != nil {
				c.stop() // the rest of this scan is unread
				return err
			}
		default:
			c.stop()
			return fmt.Errorf("store reader: unexpected output %q", line)
		}
	}
}

// died reports the child's end with its last words.
func (c *ChildScanner) died(cause error) error {
	werr := c.stop()
	msg := c.stderr.String()
	if msg == "" && werr != nil {
		msg = werr.Error()
	}
	if msg == "" {
		msg = cause.Error()
	}
	return fmt.Errorf("the storage library stopped reading: %s", msg)
}

func parseRow(s string) (store.StoredEvent, error) {
	var se store.StoredEvent
	id, rest, err := unquotePrefix(s)
	if err != nil {
		return se, fmt.Errorf("store reader: bad row %q", s)
	}
	f := strings.Fields(rest)
	if len(f) != 3 {
		return se, fmt.Errorf("store reader: bad row %q", s)
	}
	ns, err1 := strconv.ParseInt(f[0], 10, 64)
	d, err2 := hex.DecodeString(f[1])
	dups, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || len(d) != len(se.Digest) {
		return se, fmt.Errorf("store reader: bad row %q", s)
	}
	se.ID, se.Time, se.Duplicates = id, time.Unix(0, ns).UTC(), dups
	copy(se.Digest[:], d)
	return se, nil
}

// unquotePrefix reads the Go-quoted string at the start of s.
func unquotePrefix(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	v, err := strconv.Unquote(q)
	return v, s[len(q):], err
}

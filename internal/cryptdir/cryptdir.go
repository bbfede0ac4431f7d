// Package cryptdir keeps Vigil's data dir encrypted at rest.
//
// The log store (VictoriaLogs' storage library), the control database
// (pure-Go SQLite) and the bus (NATS JetStream) each write their own files
// through their own I/O, with no hook for an encrypting layer. So the whole
// data dir is encrypted underneath them: its files live only as ciphertext
// in <data-dir>/encrypted, a gocryptfs file system (AES-256-GCM per 4 KiB
// block, file names encrypted with AES-EME), and the server works on the
// plaintext view that gocryptfs mounts at <data-dir>/plain while it runs.
// The view is private to the account that mounted it (no allow_other), is
// unmounted when the server stops, when it dies (the gocryptfs child gets
// SIGTERM from the kernel when its parent goes), and at the next start if a
// crash left it behind.
//
// gocryptfs keeps a random 256-bit master key in encrypted/gocryptfs.conf,
// wrapped by a key-encryption key (scrypt of the "password"). That key is
// the first key of a keyring in the backup key format ("ID BASE64KEY" lines,
// from a file or from a KMS-style command, package keyring); it is handed
// to gocryptfs on a pipe, never on a command line or a disk. Rotation
// (Rotate) re-wraps the master key with the keyring's first key; the old
// key no longer opens the data dir. Replacing the master key itself is a
// backup and a restore into a new encrypted data dir.
package cryptdir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-siem/vigil/internal/atomicfile"
	"github.com/vigil-siem/vigil/internal/keyring"
)

// Names inside the data dir of an encrypted instance.
const (
	CipherDir = "encrypted"       // gocryptfs' ciphertext
	PlainDir  = "plain"           // where the plaintext view is mounted
	StateFile = "encryption.json" // which key wraps the master key (no secret)
	lockFile  = "encryption.lock" // one process mounts at a time
	confFile  = "gocryptfs.conf"
)

// Config says where the keys come from.
type Config struct {
	KeyFile, KeyCommand string
}

// Enabled reports whether encryption at rest is configured.
func (c Config) Enabled() bool { return c.KeyFile != "" || c.KeyCommand != "" }

// State is what encryption.json records in the clear: the id of the key
// that wraps the master key, and when it was set.
type State struct {
	KeyID   string    `json:"key_id"`
	Created time.Time `json:"created"`
	Rotated time.Time `json:"rotated,omitzero"`
}

// IsEncrypted reports whether dir is the data dir of an encrypted instance.
func IsEncrypted(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CipherDir, confFile))
	return err == nil
}

// ReadState reads encryption.json.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return st, nil
}

func writeState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, StateFile), append(b, '\n'))
}

// Available says why encryption at rest cannot work on this machine, or
// nil: it needs gocryptfs, fusermount3 and /dev/fuse.
func Available() error {
	for _, bin := range []string{"gocryptfs", "fusermount3"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("encryption at rest needs %s (Debian/Ubuntu: apt-get install gocryptfs fuse3): %w", bin, err)
		}
	}
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("encryption at rest needs FUSE (/dev/fuse; in a container: --device /dev/fuse --cap-add SYS_ADMIN): %w", err)
	}
	f.Close()
	return nil
}

// Probe mounts and unmounts a throw-away gocryptfs file system, and says
// why that fails (no FUSE in a container, a fusermount3 that is not
// allowed to mount), or nil.
func Probe(ctx context.Context) error {
	if err := Available(); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "vigil-fuse-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	c, p := filepath.Join(tmp, "c"), filepath.Join(tmp, "p")
	for _, d := range []string{c, p} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	const pass = "probe-probe-probe\n"
	if err := run(ctx, pass, "gocryptfs", "-init", "-q", "-scryptn", "10", c); err != nil {
		return fmt.Errorf("gocryptfs -init: %w", err)
	}
	// gocryptfs forks into the background once mounted: its output goes
	// to a file, since a pipe would stay open as long as it runs.
	errFile, err := os.Create(filepath.Join(tmp, "stderr"))
	if err != nil {
		return err
	}
	defer errFile.Close()
	mount := exec.CommandContext(ctx, "gocryptfs", "-q", "-nosyslog", c, p)
	mount.Stdin, mount.Stdout, mount.Stderr = strings.NewReader(pass), errFile, errFile
	if err := mount.Run(); err != nil {
		msg, _ := os.ReadFile(errFile.Name())
		return fmt.Errorf("gocryptfs cannot mount here: %v: %s", err, bytes.TrimSpace(msg))
	}
	if err := run(ctx, "", "fusermount3", "-u", p); err != nil {
		exec.Command("fusermount3", "-u", "-z", p).Run()
		return fmt.Errorf("fusermount3 -u: %w", err)
	}
	return nil
}

// Mount is a mounted plaintext view of an encrypted data dir.
type Mount struct {
	// Dir is the plaintext view: the data dir the server works in.
	Dir   string
	State State
	// Created is true when this call made the encrypted data dir.
	Created bool

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	stderr  *bytes.Buffer
	lock    *os.File
}

// Open mounts the encrypted data dir dir (creating it, with a new master
// key wrapped by the keyring's first key, when dir holds nothing yet) and
// returns its plaintext view. It refuses a data dir that holds unencrypted
// data: turning encryption on in place would leave that plaintext on the
// disk.
func Open(ctx context.Context, dir string, cfg Config) (*Mount, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	keys, err := keyring.Load(ctx, cfg.KeyFile, cfg.KeyCommand)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	m := &Mount{Dir: filepath.Join(dir, PlainDir), lock: lock}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	cipherDir := filepath.Join(dir, CipherDir)
	// A view left mounted by a crash: nobody uses it (we hold the lock).
	if Mounted(m.Dir) {
		if out, err := exec.CommandContext(ctx, "fusermount3", "-u", "-z", m.Dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("unmount the plaintext view a crash left at %s: %v: %s", m.Dir, err, bytes.TrimSpace(out))
		}
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if entries, _ := os.ReadDir(m.Dir); len(entries) > 0 {
		return nil, fmt.Errorf("%s holds unencrypted files (written while the encrypted view was not mounted); move them away", m.Dir)
	}
	if !IsEncrypted(dir) {
		if err := refusePlaintext(dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cipherDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		cur := keys.Current()
		if err := run(ctx, keys.Secret(cur)+"\n", "gocryptfs", "-init", "-q", cipherDir); err != nil {
			return nil, fmt.Errorf("create the encrypted data dir %s: %w", cipherDir, err)
		}
		m.State = State{KeyID: cur, Created: time.Now().UTC()}
		if err := writeState(dir, m.State); err != nil {
			return nil, err
		}
		m.Created = true
	} else if m.State, err = ReadState(dir); err != nil {
		return nil, fmt.Errorf("encrypted data dir: %w", err)
	}
	if !keys.Has(m.State.KeyID) {
		return nil, fmt.Errorf("data dir %s is encrypted with key %q, which the configured keys (%s) do not hold", dir, m.State.KeyID, strings.Join(keys.IDs(), ", "))
	}
	if m.State.KeyID != keys.Current() {
		return nil, fmt.Errorf("data dir %s is encrypted with key %q, not with the first configured key %q: run vigil encryption rotate-key", dir, m.State.KeyID, keys.Current())
	}
	if err := m.mount(ctx, cipherDir, keys.Secret(m.State.KeyID)); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// refusePlaintext fails when dir already holds an unencrypted instance.
func refusePlaintext(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	var found []string
	for _, e := range entries {
		switch e.Name() {
		case CipherDir, PlainDir, lockFile, StateFile:
		default:
			found = append(found, e.Name())
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("data dir %s holds unencrypted data (%s); encryption cannot be turned on in place, where the plaintext would stay on the disk: back it up (vigil backup), restore it into a new data dir with encryption configured (vigil restore), then wipe the old one",
			dir, strings.Join(found[:min(len(found), 5)], ", "))
	}
	return nil
}

// mount starts gocryptfs in the foreground as a child that the kernel
// terminates (and so unmounts) when this process dies, and waits until
// the view is mounted or gocryptfs gives up.
func (m *Mount) mount(ctx context.Context, cipherDir, secret string) error {
	cmd := exec.Command("gocryptfs", "-fg", "-q", "-nosyslog", "-noprealloc", cipherDir, m.Dir)
	cmd.Stdin = strings.NewReader(secret + "\n")
	m.stderr = &bytes.Buffer{}
	cmd.Stderr = m.stderr
	cmd.Stdout = m.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	// The kernel sends Pdeathsig when the thread that forked the child
	// ends, not the process: the thread stays locked to this goroutine
	// until the child is gone (Go ends a locked thread only with its
	// goroutine).
	m.cmd, m.done = cmd, make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start gocryptfs: %w", err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	// scrypt takes a second or two; a loaded machine, more.
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for !Mounted(m.Dir) {
		select {
		case <-m.done:
			return mountError(m.waitErr, m.stderr.String())
		case <-ctx.Done():
			cmd.Process.Kill()
			<-m.done
			return fmt.Errorf("mount the encrypted data dir: %w", ctx.Err())
		case <-timeout.C:
			cmd.Process.Kill()
			<-m.done
			return fmt.Errorf("mount the encrypted data dir: gocryptfs did not mount %s within 2 minutes: %s", m.Dir, strings.TrimSpace(m.stderr.String()))
		case <-tick.C:
		}
	}
	return nil
}

func mountError(err error, stderr string) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 12 {
		return errors.New("the encryption key does not open the data dir (wrong key, or the data dir's gocryptfs.conf was replaced)")
	}
	return fmt.Errorf("mount the encrypted data dir: %v: %s", err, strings.TrimSpace(stderr))
}

// Close unmounts the plaintext view and releases the data dir.
func (m *Mount) Close() error {
	defer m.lock.Close()
	var err error
	// A file closed a moment ago (by a component stopping, or by the
	// kernel after a read) can keep the view busy briefly: try again for up
	// to two seconds before detaching it.
	for try := 0; ; try++ {
		out, e := exec.Command("fusermount3", "-u", m.Dir).CombinedOutput()
		if e == nil {
			break
		}
		if try < 20 && bytes.Contains(out, []byte("busy")) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		// Still busy: detach it now; it goes when the last file closes.
		err = fmt.Errorf("unmount %s: %v: %s", m.Dir, e, bytes.TrimSpace(out))
		exec.Command("fusermount3", "-u", "-z", m.Dir).Run()
		break
	}
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			m.cmd.Process.Kill()
			<-m.done
		}
	}
	return err
}

// Rotate re-wraps the master key of the encrypted data dir dir with the
// first configured key (the key it is wrapped with now must be among the
// others). Afterwards only the new key opens it; gocryptfs' backup of the
// old wrapping is removed. The data is not re-encrypted: a master key that
// may have leaked is replaced by a backup and a restore into a new
// encrypted data dir.
func Rotate(ctx context.Context, dir string, cfg Config) (old, cur string, err error) {
	if err := Available(); err != nil {
		return "", "", err
	}
	if !IsEncrypted(dir) {
		return "", "", fmt.Errorf("data dir %s is not encrypted", dir)
	}
	keys, err := keyring.Load(ctx, cfg.KeyFile, cfg.KeyCommand)
	if err != nil {
		return "", "", fmt.Errorf("encryption keys: %w", err)
	}
	st, err := ReadState(dir)
	if err != nil {
		return "", "", err
	}
	cur = keys.Current()
	if st.KeyID == cur {
		return st.KeyID, cur, fmt.Errorf("the data dir is already encrypted with the first key %q: put the new key first in the key file (or the key command's output) and keep %q after it", cur, cur)
	}
	if !keys.Has(st.KeyID) {
		return st.KeyID, cur, fmt.Errorf("the data dir is encrypted with key %q, which the configured keys (%s) do not hold", st.KeyID, strings.Join(keys.IDs(), ", "))
	}
	cipherDir := filepath.Join(dir, CipherDir)
	// gocryptfs reads the old and the new key through the same prompt;
	// one line each from fd 3 (a pipe) keeps both off disks and command
	// lines. Its flag parser splits on commas and quotes: none below.
	cmd := exec.CommandContext(ctx, "gocryptfs", "-passwd", "-q",
		"-extpass", "/bin/sh", "-extpass=-c", "-extpass", `set -f;IFS=;read -r l <&3;printf %s\\n $l`, cipherDir)
	r, w, err := os.Pipe()
	if err != nil {
		return st.KeyID, cur, err
	}
	cmd.ExtraFiles = []*os.File{r}
	go func() {
		fmt.Fprintf(w, "%s\n%s\n", keys.Secret(st.KeyID), keys.Secret(cur))
		w.Close()
	}()
	out, err := cmd.CombinedOutput()
	r.Close()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 12 {
			return st.KeyID, cur, fmt.Errorf("key %q does not open the data dir", st.KeyID)
		}
		return st.KeyID, cur, fmt.Errorf("re-wrap the master key: %v: %s", err, bytes.TrimSpace(out))
	}
	// The backup gocryptfs may keep still opens with the old key.
	if err := os.Remove(filepath.Join(cipherDir, confFile+".bak")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st.KeyID, cur, err
	}
	old = st.KeyID
	st.KeyID, st.Rotated = cur, time.Now().UTC()
	return old, cur, writeState(dir, st)
}

// run runs a command with stdin, returning its output as the error.
func run(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// lockDir holds dir's lock file: one process mounts it at a time.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another vigil process", dir)
	}
	return f, nil
}

// Mounted reports whether path is a mount point, from /proc/self/mountinfo.
func Mounted(path string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescape(fields[4]) == abs {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			okOct := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					okOct = false
					break
				}
				v = v*8 + c - '0'
			}
			if okOct {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

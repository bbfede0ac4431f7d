package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/backup"
	"github.com/vigil-siem/vigil/internal/integrity"
)

func restoreDrill(cmd *cobra.Command, from, id, dataDir, scratch string, opts backup.Options, keep, asJSON bool) error {
	ctx := cmd.Context()
	t, err := backup.OpenTarget(from, os.Getenv)
	if err != nil {
		return err
	}
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp(scratch, "vigil-drill-"); err != nil {
			return err
		}
	}
	if !keep {
		defer os.RemoveAll(dataDir)
	}
	d := &backup.Drill{Target: t.String(), Started: time.Now().UTC()}
	fail := func(err error) error {
		d.Error = err.Error()
		printDrill(cmd.OutOrStdout(), d, dataDir, keep, asJSON)
		return &exitError{code: verifyFailed, err: fmt.Errorf("restore drill failed: %w", err)}
	}
	began := time.Now()
	m, err := backup.Restore(ctx, t, id, dataDir, opts)
	if err != nil {
		return fail(fmt.Errorf("restore: %w", err))
	}
	d.Restore = backup.Seconds(time.Since(began))
	d.Backup, d.Snapshot, d.Files, d.Bytes, d.Sealed = m.ID, m.Snapshot, len(m.Files), m.Stats.Bytes, m.Ledger.Events

	// The restored store, checked against its seals and the signed
	// checkpoints with the restored public key, as vigil verify --data-dir.
	began = time.Now()
	auditVerify, closeDB, err := offlineAudit(ctx, dataDir)
	if err != nil {
		return fail(fmt.Errorf("verify: %w", err))
	}
	rep, err := integrity.VerifyOffline(ctx, dataDir, nil, time.Time{}, scanCommand, 0, tsaVerifier(nil), auditVerify)
	closeDB()
	if err != nil {
		return fail(fmt.Errorf("verify: %w", err))
	}
	d.Verify = backup.Seconds(time.Since(began))
	d.Verified, d.Problems = rep.Events, rep.ProblemsTotal
	if !rep.OK() {
		return fail(fmt.Errorf("verify: %d problems; first: %s", rep.ProblemsTotal, rep.Problems[0]))
	}

	// A server on the restored data dir, on loopback, until it is ready.
	began = time.Now()
	if err := startRestored(ctx, dataDir, 2*time.Minute); err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	d.Start = backup.Seconds(time.Since(began))
	d.Recovery = d.Restore + d.Start
	d.OK = true
	printDrill(cmd.OutOrStdout(), d, dataDir, keep, asJSON)
	return nil
}

// startRestored runs vigil serve on dataDir with every listener on
// loopback or off, waits for "vigil ready" and stops it. Settings from
// the environment (VIGIL_*) are not passed: the drill must not send
// mail, back up or listen where the production server does.
func startRestored(ctx context.Context, dataDir string, timeout time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, exe, "serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0",
		"--syslog-udp-addr=", "--syslog-tcp-addr=", "--syslog-tls-addr=", "--mllp-addr=", "--gelf-udp-addr=", "--gelf-tcp-addr=",
		"--log-format", "json")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") {
			c.Env = append(c.Env, kv)
		}
	}
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 30 * time.Second
	stderr, err := c.StderrPipe()
	if err != nil {
		return err
	}
	c.Stdout = io.Discard
	if err := c.Start(); err != nil {
		return err
	}
	ready := false
	var last []string
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Msg == "vigil ready" {
			ready = true
			break
		}
		last = append(last, sc.Text())
		if len(last) > 5 {
			last = last[1:]
		}
	}
	if ready {
		_ = c.Process.Signal(syscall.SIGTERM)
		go io.Copy(io.Discard, stderr)
		if err := c.Wait(); err != nil {
			return fmt.Errorf("the restored server did not stop cleanly: %w", err)
		}
		return nil
	}
	werr := c.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("not ready within %s", timeout)
	}
	return errors.Join(fmt.Errorf("the restored server exited before it was ready: %v", werr), errors.New(strings.Join(last, "\n")))
}

func printDrill(w io.Writer, d *backup.Drill, dataDir string, kept, asJSON bool) {
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		_ = e.Encode(d)
		return
	}
	fmt.Fprintf(w, "restore drill of backup %s (%s, snapshot %s): ", d.Backup, d.Target, d.Snapshot.Format(time.RFC3339))
	if d.OK {
		fmt.Fprintln(w, "PASSED")
	} else {
		fmt.Fprintf(w, "FAILED: %s\n", d.Error)
	}
	fmt.Fprintf(w, "  restore  %10s  %d files, %s\n", d.Restore, d.Files, bytesText(d.Bytes))
	fmt.Fprintf(w, "  verify   %10s  %d events verified against their seals (%d sealed at the snapshot), %d problems\n", d.Verify, d.Verified, d.Sealed, d.Problems)
	fmt.Fprintf(w, "  start    %10s  until the restored server was ready\n", d.Start)
	fmt.Fprintf(w, "  recovery %10s  restore + start\n", d.Recovery)
	if kept {
		fmt.Fprintf(w, "the restored data dir is kept: %s\n", dataDir)
	}
}

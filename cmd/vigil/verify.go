package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/cryptdir"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/tsa"
	"github.com/vigil-siem/vigil/internal/web"
)

// verifyFailed is the exit status of a verification that found problems.
const verifyFailed = 3

func verifyCmd() *cobra.Command {
	var (
		cf        client.Flags
		since     string
		keyFile   string
		tsaRoots  string
		retention string
		asJSON    bool
		enc       cryptdir.Config
	)
	cmd := &cobra.Command{
		Use:   "verify [flags]",
		Short: "Verify stored events, the integrity chain and its signed checkpoints (exit status 3 on any problem)",
		Long: `Verify re-reads the stored events, recomputes every event and batch digest and
every link of the integrity chain, checks every checkpoint's signature (and
RFC 3161 timestamp), and names the first missing, altered or added event or
batch. Exit status 0 when everything verifies, 3 when something does not, 1
when verification could not run.

Against a running server (the default; it verifies a consistent snapshot of
itself): vigil verify [--since 7d] [--server URL]
Offline, on the data dir of a stopped server: vigil verify --data-dir DIR
(the server's public key is read from DIR/keys/integrity.pub, or --key; a
data dir encrypted at rest needs --encryption-key-file or -command).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var sinceT time.Time
			if since != "" {
				t, err := web.ParseTime("-"+trimMinus(since), time.Now())
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--since: %w", err)}
				}
				sinceT = t
			}
			var rep *integrity.Report
			offline := cmd.Flags().Changed("data-dir") && !cmd.Flags().Changed("server")
			if offline {
				pub, err := readPublicKey(keyFile)
				if err != nil {
					return err
				}
				roots, err := readRoots(tsaRoots)
				if err != nil {
					return err
				}
				ret, err := config.ParseDuration(retention)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--retention: %w", err)}
				}
				dir, closeDir, err := openDataDir(ctx, cf.DataDir, enc, false)
				if err != nil {
					return err
				}
				defer closeDir()
				auditVerify, closeDB, err := offlineAudit(ctx, dir)
				if err != nil {
					return err
				}
				defer closeDB()
				rep, err = integrity.VerifyOffline(ctx, dir, pub, sinceT, scanCommand, ret, tsaVerifier(roots), auditVerify)
				if err != nil {
					return err
				}
			} else {
				c := cf.Client()
				q := url.Values{}
				if since != "" {
					q.Set("since", sinceT.UTC().Format(time.RFC3339Nano))
				}
				resp, err := c.Post(ctx, "/api/v1/integrity/verify", q, nil, nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
				if resp.StatusCode != http.StatusOK {
					return client.ResponseError(resp.StatusCode, body)
				}
				rep = &integrity.Report{}
				if err := json.Unmarshal(body, rep); err != nil {
					return fmt.Errorf("verify: %w", err)
				}
			}
			printReport(cmd.OutOrStdout(), rep, asJSON)
			if !rep.OK() {
				return &exitError{code: verifyFailed, err: fmt.Errorf("verification failed: %d problems; first: %s", rep.ProblemsTotal, rep.Problems[0])}
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "", "verify the events filed this far back (e.g. 7d; default everything)")
	cmd.Flags().StringVar(&keyFile, "key", "", "offline: the public key to check signatures with (default DATA-DIR/keys/integrity.pub)")
	cmd.Flags().StringVar(&tsaRoots, "tsa-roots", "", "offline: PEM roots of the time-stamping authority (default: the system's)")
	cmd.Flags().StringVar(&retention, "retention", "0", "offline: the server's store.retention; events older are not looked for (0: look for all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	encryptionFlags(cmd, &enc)
	cmd.AddCommand(verifyExportCmd(), verifyBundleCmd(), verifyEvidenceCmd(), verifyProofCmd())
	return cmd
}

func trimMinus(s string) string {
	if len(s) > 0 && s[0] == '-' {
		return s[1:]
	}
	return s
}

// scanCommand runs this executable as the store-reading child.
func scanCommand(ctx context.Context, dir string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.CommandContext(ctx, exe, "internal", "scan-store", "--store", dir)
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := integrity.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

func readRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

func tsaVerifier(roots *x509.CertPool) func([]byte, integrity.Hash) error {
	return func(token []byte, digest integrity.Hash) error {
		_, err := tsa.Verify(token, digest, roots)
		return err
	}
}

func printReport(w io.Writer, r *integrity.Report, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			OK bool `json:"ok"`
			*integrity.Report
		}{r.OK(), r})
		return
	}
	fmt.Fprintf(w, "ledger: %d entries checked, %d checkpoints", r.Entries, r.Checkpoints)
	if r.LastCheckpoint != nil {
		fmt.Fprintf(w, " (last: #%d at %s, key %s)", r.LastCheckpoint.Number, r.LastCheckpoint.Time.Format(time.RFC3339), r.LastCheckpoint.Key)
	}
	fmt.Fprintf(w, ", %d entries not yet in a checkpoint\n", r.Unsigned)
	if r.StoreScanned {
		fmt.Fprintf(w, "store: %d batches, %d events verified", r.Batches, r.Events)
		if r.Expired > 0 {
			fmt.Fprintf(w, "; %d batches past retention", r.Expired)
		}
		if r.Unsealed > 0 {
			fmt.Fprintf(w, "; %d events not sealed yet or stored before sealing began", r.Unsealed)
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if r.OK() {
		fmt.Fprintln(w, "OK: everything verifies")
		return
	}
	fmt.Fprintf(w, "FAILED: %d problems", r.ProblemsTotal)
	if len(r.Problems) < r.ProblemsTotal {
		fmt.Fprintf(w, " (the first %d listed)", len(r.Problems))
	}
	fmt.Fprintln(w)
	for i, p := range r.Problems {
		if i == 50 {
			fmt.Fprintf(w, "… %d more (use --json for all listed)\n", len(r.Problems)-i)
			break
		}
		fmt.Fprintln(w, " ", p)
	}
}

func verifyExportCmd() *cobra.Command {
	var (
		cf    client.Flags
		since string
		out   string
	)
	cmd := &cobra.Command{
		Use:   "export --out DIR",
		Short: "Export the signed checkpoints and the chain for an auditor (verifiable with the public key alone)",
		Long: `Export writes DIR/bundle.json (every checkpoint and the chain entries after the
last checkpoint before --since), DIR/integrity.pub, and the latest
checkpoint as DIR/checkpoint.json (the exact bytes signed), DIR/checkpoint.sig
(the Ed25519 signature) and DIR/checkpoint.tsr (its RFC 3161 token, when
stamped). Check it with "vigil verify bundle DIR --key integrity.pub", or the
signature alone with openssl:

  openssl pkeyutl -verify -pubin -inkey integrity.pub -rawin -in checkpoint.json -sigfile checkpoint.sig`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &exitError{code: 2, err: errors.New("--out is required")}
			}
			q := url.Values{}
			if since != "" {
				t, err := web.ParseTime("-"+trimMinus(since), time.Now())
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--since: %w", err)}
				}
				q.Set("since", t.UTC().Format(time.RFC3339Nano))
			}
			var b integrity.Bundle
			if err := cf.Client().Get(cmd.Context(), "/api/v1/integrity/export", q, &b); err != nil {
				return err
			}
			if err := integrity.WriteExport(out, &b); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %d checkpoints and %d chain entries to %s\n", len(b.Checkpoints), len(b.Entries), out)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "", "entries from the last checkpoint before this far back (default: all)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write")
	return cmd
}

func verifyBundleCmd() *cobra.Command {
	var keyFile, tsaRoots string
	cmd := &cobra.Command{
		Use:   "bundle DIR|FILE --key integrity.pub",
		Short: "Verify an exported bundle with the public key alone (an auditor's check, no Vigil data needed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return &exitError{code: 2, err: errors.New("--key is required: the public key you obtained from the operator, not the bundle's copy")}
			}
			pub, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			roots, err := readRoots(tsaRoots)
			if err != nil {
				return err
			}
			b, err := integrity.ReadBundle(args[0])
			if err != nil {
				return err
			}
			var verifyTS func([]byte, integrity.Hash) error
			if tsaRoots != "" {
				verifyTS = tsaVerifier(roots)
			}
			res := integrity.VerifyBundle(b, pub, verifyTS)
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "instance %s: %d checkpoints, %d chain entries checked with key %s\n", b.Instance, res.Checkpoints, res.Entries, integrity.KeyID(pub))
			if res.Last != nil {
				fmt.Fprintf(w, "last checkpoint #%d at %s: %d batches, %d events sealed, chain %s\n", res.Last.Number, res.Last.Time.Format(time.RFC3339), res.Last.Batches, res.Last.Events, res.Last.Chain)
			}
			if len(res.Problems) == 0 {
				fmt.Fprintln(w, "OK: every signature and link verifies")
				return nil
			}
			for _, p := range res.Problems {
				fmt.Fprintln(w, " ", p)
			}
			return &exitError{code: verifyFailed, err: fmt.Errorf("bundle does not verify: %d problems", len(res.Problems))}
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the operator's public key (PEM)")
	cmd.Flags().StringVar(&tsaRoots, "tsa-roots", "", "PEM roots of the time-stamping authority: check the checkpoints' RFC 3161 tokens too")
	return cmd
}

// internalCmd holds commands Vigil runs itself.
func internalCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "internal", Short: "Commands Vigil runs itself", Hidden: true}
	var dir string
	scan := &cobra.Command{
		Use:   "scan-store --store DIR",
		Short: "Serve scans of a store on standard input and output (verification reads the store through it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return integrity.ServeScans(cmd.Context(), dir, os.Stdin, os.Stdout)
		},
	}
	scan.Flags().StringVar(&dir, "store", "", "store directory")
	cmd.AddCommand(scan)
	return cmd
}

func verifyEvidenceCmd() *cobra.Command {
	var (
		cf  client.Flags
		out string
	)
	cmd := &cobra.Command{
		Use:   "evidence FILE [--out PROOF]",
		Short: "Prove that exported events (case evidence, NDJSON) are exactly events Vigil stored and sealed; write the proof",
		Long: `The server checks each event of FILE against the store and the integrity
chain, and returns a proof: each event's digest, the sealed digests of its
batch, and the chain entries between the signed checkpoints around it. An
auditor checks the proof with the public key alone:

  vigil verify proof PROOF --key integrity.pub --evidence FILE`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			resp, err := cf.Client().Post(cmd.Context(), "/api/v1/integrity/prove", nil, bytes.NewReader(data), http.Header{"Content-Type": {"application/x-ndjson"}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
			if resp.StatusCode != http.StatusOK {
				err := client.ResponseError(resp.StatusCode, body)
				if resp.StatusCode == http.StatusUnprocessableEntity {
					return &exitError{code: verifyFailed, err: fmt.Errorf("the evidence does not verify: %s", err.Msg)}
				}
				return err
			}
			var p integrity.Proof
			if err := json.Unmarshal(body, &p); err != nil {
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, body, 0o640); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK: %d events are stored and sealed exactly as in %s (%d batches, %d checkpoint segments)\n", len(p.Events), args[0], len(p.Batches), len(p.Segments))
			if out != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "proof written to %s\n", out)
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "file to write the proof to")
	return cmd
}

func verifyProofCmd() *cobra.Command {
	var keyFile, evidence string
	cmd := &cobra.Command{
		Use:   "proof PROOF --key integrity.pub [--evidence FILE]",
		Short: "Check an evidence proof with the public key alone (and the evidence file against it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return &exitError{code: 2, err: errors.New("--key is required: the public key you obtained from the operator")}
			}
			pub, err := readPublicKey(keyFile)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var p integrity.Proof
			if err := json.Unmarshal(data, &p); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var rows [][]event.Field
			if evidence != "" {
				ev, err := os.ReadFile(evidence)
				if err != nil {
					return err
				}
				if rows, err = integrity.ReadRows(ev); err != nil {
					return fmt.Errorf("%s: %w", evidence, err)
				}
			}
			res := integrity.VerifyProof(&p, pub, rows)
			w := cmd.OutOrStdout()
			if len(res.Problems) == 0 {
				what := "their digests"
				if rows != nil {
					what = "the evidence file's events"
				}
				fmt.Fprintf(w, "OK: %d events proven sealed (%s) under key %s\n", res.Events, what, integrity.KeyID(pub))
				return nil
			}
			for _, p := range res.Problems {
				fmt.Fprintln(w, " ", p)
			}
			return &exitError{code: verifyFailed, err: fmt.Errorf("the proof does not verify: %d problems", len(res.Problems))}
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the operator's public key (PEM)")
	cmd.Flags().StringVar(&evidence, "evidence", "", "the evidence file (NDJSON) the proof is about")
	return cmd
}

// offlineAudit verifies the audit trail in a stopped server's control-plane
// database (nil when it has none).
func offlineAudit(ctx context.Context, dataDir string) (func(context.Context, int64, string) (bool, string, error), func(), error) {
	path := filepath.Join(dataDir, "vigil.db")
	if _, err := os.Stat(path); err != nil {
		return nil, func() {}, nil
	}
	d, err := db.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, seq int64, hash string) (bool, string, error) {
		v, err := audit.Verify(ctx, d, seq, hash)
		if err != nil {
			if strings.Contains(err.Error(), "no audit trail") {
				return true, "", nil
			}
			return false, "", err
		}
		if !v.OK {
			return false, fmt.Sprintf("record %d: %s", v.BrokenAt, v.Problem), nil
		}
		return true, "", nil
	}, func() { d.Close() }, nil
}

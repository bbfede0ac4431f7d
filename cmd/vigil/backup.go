package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/backup"
	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/cryptdir"
	"github.com/vigil-siem/vigil/internal/keyring"
)

func backupCmd() *cobra.Command {
	var (
		cf client.Flags
		to string
	)
	cmd := &cobra.Command{
		Use:   "backup [--to DIR|s3://BUCKET/PREFIX]",
		Short: "Back up the running server (store, databases, integrity ledger, keys) online, incrementally",
		Long: `The server snapshots its store while its store writer pauses for a moment,
copies its SQLite databases consistently, and writes the files it does not
already hold in the target (the first backup writes everything, later ones
what changed). The target is on the server's machine: a directory, or
s3://BUCKET/PREFIX for S3-compatible storage (credentials from the server's
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
VIGIL_BACKUP_S3_ENDPOINT). Without --to, the server's backup.to. Backups are
encrypted when the server has backup.key_file or backup.key_command.

Restore with: vigil restore --from TARGET --data-dir NEW`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, _ := json.Marshal(map[string]string{"to": to})
			resp, err := cf.Client().Post(cmd.Context(), "/api/v1/backup", nil, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != http.StatusOK {
				return client.ResponseError(resp.StatusCode, data)
			}
			var m backup.Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				return err
			}
			printManifest(cmd.OutOrStdout(), &m)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&to, "to", "", "directory or s3://BUCKET/PREFIX on the server (default: the server's backup.to)")
	cmd.AddCommand(backupListCmd(), backupKeygenCmd(), backupRekeyCmd())
	return cmd
}

func printManifest(w io.Writer, m *backup.Manifest) {
	enc := "not encrypted"
	if m.Encrypted != "" {
		enc = "encrypted with key " + m.Encrypted
	}
	fmt.Fprintf(w, "backup %s: %d files, %s (%s new), %s\n", m.ID, m.Stats.Files, bytesText(m.Stats.Bytes), bytesText(m.Stats.NewBytes), enc)
	fmt.Fprintf(w, "  snapshot %s: every batch up to bus sequence %d, %d sealed events, integrity chain %d entries\n",
		m.Snapshot.Format(time.RFC3339), m.Stored, m.Ledger.Events, m.Ledger.Entries)
	fmt.Fprintf(w, "  took %s\n", m.Finished.Sub(m.Started).Round(time.Millisecond))
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func backupListCmd() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "list --from DIR|s3://BUCKET/PREFIX",
		Short: "List the backups in a target (read directly, no server needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := backup.OpenTarget(from, os.Getenv)
			if err != nil {
				return err
			}
			ms, err := backup.List(cmd.Context(), t)
			if err != nil {
				return err
			}
			for _, m := range ms {
				printManifest(cmd.OutOrStdout(), m)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "(%d backups)\n", len(ms))
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "backup target")
	return cmd
}

func backupKeygenCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "keygen [--id ID]",
		Short: "Print a new backup encryption key line (put it first in backup.key_file, mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = time.Now().UTC().Format("2006-01-02")
			}
			line, err := keyring.NewKeyLine(id)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key id (default: today's date)")
	return cmd
}

func keysFlags(cmd *cobra.Command, file, command *string) {
	cmd.Flags().StringVar(file, "key-file", "", "backup key file (as backup.key_file)")
	cmd.Flags().StringVar(command, "key-command", "", "command printing the backup keys (as backup.key_command)")
}

func loadKeys(cmd *cobra.Command, file, command string) (*keyring.Keyring, error) {
	if file == "" && command == "" {
		return nil, nil
	}
	return keyring.Load(cmd.Context(), file, command)
}

func backupRekeyCmd() *cobra.Command {
	var to, keyFile, keyCommand string
	cmd := &cobra.Command{
		Use:   "rekey --to TARGET --key-file FILE",
		Short: "Re-encrypt a target's backups with the current (first) key, after a key rotation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := loadKeys(cmd, keyFile, keyCommand)
			if err != nil {
				return err
			}
			if keys == nil {
				return &exitError{code: 2, err: errors.New("give --key-file or --key-command: the new key first, the old ones after it")}
			}
			t, err := backup.OpenTarget(to, os.Getenv)
			if err != nil {
				return err
			}
			n, err := backup.Rekey(cmd.Context(), t, keys)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-encrypted %d files with key %s; the old keys are no longer needed for %s\n", n, keys.Current(), t)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "backup target")
	keysFlags(cmd, &keyFile, &keyCommand)
	return cmd
}

func restoreCmd() *cobra.Command {
	var from, dataDir, id, keyFile, keyCommand, scratch string
	var drill, keep, asJSON bool
	var enc cryptdir.Config
	cmd := &cobra.Command{
		Use:   "restore --from DIR|s3://BUCKET/PREFIX --data-dir NEW | --drill",
		Short: "Rebuild a data dir from a backup (the latest, or --id); then run vigil serve --data-dir NEW",
		Long: `Restore writes every file of the backup into NEW (which must not exist or be
empty), checking each file's SHA-256 against the backup's manifest, trims the
integrity ledger to the backup's snapshot and records the bus sequences that
were not yet stored then as a gap, so the restored instance verifies cleanly
(vigil verify) and continues the sequences. Encrypted backups need their keys
(--key-file or --key-command).

With --drill it tests the backup end to end, as a contingency plan's
restore test: it restores into a temporary data dir (or --data-dir),
verifies every restored event against its seal and the signed checkpoints,
starts a server on the restored data dir on loopback until it is ready,
stops it, and prints how long each step took and the recovery time
(restore + start); exit status 3 when any step fails. --keep keeps the
restored data dir. --scratch-dir says where the temporary data dir goes
(default: the system's temporary directory; the server's scheduled drills
use its own data dir, so that an encrypted one stays encrypted).

With --encryption-key-file or --encryption-key-command, NEW is created
encrypted at rest (a new master key wrapped by the first key; see vigil
encryption): this is how an unencrypted instance becomes an encrypted
one, and how an encrypted one gets a new master key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || (dataDir == "" && !drill) {
				return &exitError{code: 2, err: errors.New("--from and --data-dir (or --drill) are required")}
			}
			keys, err := loadKeys(cmd, keyFile, keyCommand)
			if err != nil {
				return err
			}
			if drill {
				return restoreDrill(cmd, from, id, dataDir, scratch, backup.Options{Keys: keys}, keep || (dataDir != "" && cmd.Flags().Changed("data-dir")), asJSON)
			}
			t, err := backup.OpenTarget(from, os.Getenv)
			if err != nil {
				return err
			}
			start := time.Now()
			work, closeDir, err := openDataDir(cmd.Context(), dataDir, enc, true)
			if err != nil {
				return err
			}
			m, err := backup.Restore(cmd.Context(), t, id, work, backup.Options{Keys: keys})
			if err = errors.Join(err, closeDir()); err != nil {
				return err
			}
			if enc.Enabled() {
				fmt.Fprintf(cmd.OutOrStdout(), "the new data dir is encrypted at rest; serve it with the same encryption key setting\n")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored backup %s (%d files, %s) into %s in %s\n", m.ID, len(m.Files), bytesText(m.Stats.Bytes), dataDir, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(cmd.OutOrStdout(), "it holds every event stored before %s; start it with: vigil serve --data-dir %s\n", m.Snapshot.Format(time.RFC3339), dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "backup target")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "new data dir to create")
	cmd.Flags().StringVar(&id, "id", "", "backup to restore (default: the latest)")
	cmd.Flags().BoolVar(&drill, "drill", false, "test the backup: restore, verify, start the restored server, measure the recovery time")
	cmd.Flags().BoolVar(&keep, "keep", false, "drill: keep the restored data dir")
	cmd.Flags().BoolVar(&asJSON, "json", false, "drill: print the result as JSON")
	keysFlags(cmd, &keyFile, &keyCommand)
	cmd.Flags().StringVar(&scratch, "scratch-dir", "", "drill: where the temporary data dir is made (default: the system's temporary directory)")
	encryptionFlags(cmd, &enc)
	return cmd
}

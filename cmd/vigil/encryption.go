package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/cryptdir"
	"github.com/vigil-siem/vigil/internal/keyring"
)

// encryptionCmd manages encryption at rest of the data dir (package
// cryptdir; docs/compliance.md).
func encryptionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "encryption", Short: "Encryption at rest of the data dir: keys, rotation, status"}
	var id string
	keygen := &cobra.Command{
		Use:   "keygen [--id ID]",
		Short: "Print a new data dir key line (the first line of encryption.key_file, mode 0600)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = "data-" + time.Now().UTC().Format("2006-01-02")
			}
			line, err := keyring.NewKeyLine(id)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			return nil
		},
	}
	keygen.Flags().StringVar(&id, "id", "", "key id (default: data- and today's date)")

	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Re-wrap the data dir's master key with the first configured key (the current one must follow it)",
		Long: `Re-wraps the data dir's master key with the first key of encryption.key_file
(or of encryption.key_command's output). The key that wraps it now must be
among the following lines. Afterwards the old key no longer opens the data
dir: remove it from the file (or the key service). It runs on a stopped or
a running server (the running one keeps its mounted view).

The data itself is not re-encrypted: when the master key itself may have
leaked, back up, restore into a new data dir with encryption configured
(a new master key), and wipe the old one (docs/compliance.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			enc := cryptdir.Config{KeyFile: cfg.Encryption.KeyFile, KeyCommand: cfg.Encryption.KeyCommand}
			if !enc.Enabled() {
				return &exitError{code: 2, err: fmt.Errorf("set encryption.key_file or encryption.key_command (the new key first, the current one after it)")}
			}
			old, cur, err := cryptdir.Rotate(cmd.Context(), cfg.DataDir, enc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "data dir %s: master key re-wrapped from key %q to key %q; key %q no longer opens it and can be removed\n", cfg.DataDir, old, cur, old)
			return nil
		},
	}
	config.RegisterFlags(rotate.Flags())
	rotate.SetFlagErrorFunc(configFlagError)

	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the data dir is encrypted at rest, and with which key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			w := cmd.OutOrStdout()
			if !cryptdir.IsEncrypted(cfg.DataDir) {
				fmt.Fprintf(w, "data dir %s: not encrypted at rest\n", cfg.DataDir)
				if cfg.Encryption.Require {
					return &exitError{code: 1, err: fmt.Errorf("encryption.require is set")}
				}
				return nil
			}
			st, err := cryptdir.ReadState(cfg.DataDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "data dir %s: encrypted at rest (gocryptfs, AES-256-GCM) with key %q since %s", cfg.DataDir, st.KeyID, st.Created.Format(time.RFC3339))
			if !st.Rotated.IsZero() {
				fmt.Fprintf(w, ", key last rotated %s", st.Rotated.Format(time.RFC3339))
			}
			fmt.Fprintln(w)
			return nil
		},
	}
	config.RegisterFlags(status.Flags())
	status.SetFlagErrorFunc(configFlagError)
	cmd.AddCommand(keygen, rotate, status)
	return cmd
}

// encryptionFlags registers the data dir key flags of the commands that
// open a stopped server's data dir themselves (restore, verify --data-dir);
// the environment (VIGIL_ENCRYPTION_KEY_FILE, VIGIL_ENCRYPTION_KEY_COMMAND)
// is the default, as for vigil serve.
func encryptionFlags(cmd *cobra.Command, c *cryptdir.Config) {
	cmd.Flags().StringVar(&c.KeyFile, "encryption-key-file", os.Getenv("VIGIL_ENCRYPTION_KEY_FILE"), "the data dir's encryption keys (as encryption.key_file), when it is encrypted at rest")
	cmd.Flags().StringVar(&c.KeyCommand, "encryption-key-command", os.Getenv("VIGIL_ENCRYPTION_KEY_COMMAND"), "command printing the data dir's encryption keys (as encryption.key_command)")
}

// openDataDir returns the directory to work in for the data dir dir: dir
// itself, or the plaintext view of it mounted with keys when it is
// encrypted at rest (create: also when it does not exist yet and keys are
// given, as restore does). close unmounts.
func openDataDir(ctx context.Context, dir string, keys cryptdir.Config, create bool) (work string, close func() error, err error) {
	nothing := func() error { return nil }
	if !cryptdir.IsEncrypted(dir) && !(create && keys.Enabled()) {
		return dir, nothing, nil
	}
	if !keys.Enabled() {
		return "", nothing, fmt.Errorf("data dir %s is encrypted at rest: give --encryption-key-file or --encryption-key-command", dir)
	}
	m, err := cryptdir.Open(ctx, dir, keys)
	if err != nil {
		return "", nothing, err
	}
	return m.Dir, m.Close, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/server"
)

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Vigil server (embedded defaults: ./vigil-data, HTTP on 127.0.0.1:8080, syslog on :5514 UDP/TCP and :6514 TLS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Environ())
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			log := newLogger(cfg)
			if cfg.Memory.Limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
				// The garbage collector works harder as the process nears
				// it, instead of the heap growing with the load. An
				// operator's GOMEMLIMIT wins.
				debug.SetMemoryLimit(goMemoryLimit(int64(cfg.Memory.Limit)))
			}
			s, err := server.Start(cmd.Context(), cfg, log, server.WithStoreScanner(scanCommand))
			if err != nil {
				return err
			}
			printFirstStart(os.Stdout, cfg, s)
			log.Info("vigil ready", "data_dir", cfg.DataDir)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
		wait:
			for {
				select {
				case <-hup: // reload the rules; the stream keeps flowing
					if _, err := s.ReloadRules(audit.System(cmd.Context())); err != nil {
						log.Error("rule reload failed; the previous rules stay in use", "err", err)
					}
				case <-cmd.Context().Done():
					break wait
				}
			}
			log.Info("shutting down: draining sources and the bus")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				return err
			}
			log.Info("stopped")
			return nil
		},
	}
	config.RegisterFlags(cmd.Flags())
	cmd.SetFlagErrorFunc(configFlagError)
	return cmd
}

// configFlagError makes a bad setting on the command line exit with 2, as
// one from the file or the environment does.
func configFlagError(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} }

// printFirstStart tells the operator, on the terminal only (never in the
// operational log), the secrets this start created: the user admin's
// one-time password, and where the tokens are.
func printFirstStart(w io.Writer, cfg *config.Config, s *server.Server) {
	if s.AdminPassword != "" {
		fmt.Fprintf(w, "\nCreated the user admin. Its one-time password, shown only now (you choose a new one at first sign-in):\n\n    %s\n", s.AdminPassword)
		fmt.Fprintf(w, "\nLost it? vigil users reset-password admin\n")
	}
	if s.TokenGenerated {
		// Where it is, never the token itself: the terminal of a service
		// is its journal, which others may read.
		fmt.Fprintf(w, "\nIngest token for log senders (ingest only): %s (mode 0600)\n", s.TokenPath)
	}
	if s.CLITokenGenerated {
		fmt.Fprintf(w, "\nAdmin API token for the vigil command line on this machine: %s (mode 0600)\n", s.CLITokenPath)
	}
	if s.HTTPCertFingerprint != "" && (s.AdminPassword != "" || s.TokenGenerated) {
		fmt.Fprintf(w, "\nHTTPS certificate %s, SHA-256 fingerprint %s\n", s.HTTPCertFile, s.HTTPCertFingerprint)
	}
	if s.AdminPassword != "" || s.TokenGenerated || s.CLITokenGenerated {
		fmt.Fprintln(w)
	}
}

func newLogger(cfg *config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration helpers"}
	cmd.AddCommand(&cobra.Command{
		Use:   "reference",
		Short: "Print the configuration reference (Markdown table)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprint(cmd.OutOrStdout(), config.Reference())
		},
	})
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration (file, environment, flags) without starting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := config.Load(cmd.Flags(), os.Environ()); err != nil {
				ps := config.Problems(err)
				for _, p := range ps {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return &exitError{code: 2, err: fmt.Errorf("%d problems in the configuration (listed above)", len(ps))}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
			return nil
		},
	}
	config.RegisterFlags(check.Flags())
	check.SetFlagErrorFunc(configFlagError)
	cmd.AddCommand(check)
	return cmd
}

// goMemoryLimit is Go's soft limit for a process memory.limit of limit:
// less a reserve for what the process maps besides Go's memory (its own
// code, the store's memory-mapped files: ~50 MiB measured), so that the
// resident size, not only Go's share, keeps near memory.limit.
func goMemoryLimit(limit int64) int64 {
	return limit - min(limit/8, 64<<20)
}

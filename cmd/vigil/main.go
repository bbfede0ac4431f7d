// Command vigil is the Vigil SIEM in one binary: the server (vigil serve)
// and the tools that talk to it or work offline.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/cmd/vigil/internal/ehrcli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/evtxcli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/hl7cli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/parsecli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/privacycli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/sigmacli"
	"github.com/vigil-siem/vigil/cmd/vigil/internal/simcli"
	"github.com/vigil-siem/vigil/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Vigil: a SIEM for healthcare in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Read().String(),
	}
	root.SetVersionTemplate("vigil {{.Version}}\n")
	root.AddCommand(serveCmd(), searchCmd(), ingestCmd(), configCmd(), usersCmd(), tokensCmd(), auditCmd(), benchCmd(), verifyCmd(), backupCmd(), restoreCmd(), encryptionCmd(), reportCmd(), internalCmd(),
		evtxcli.Command(), sigmacli.Command(), parsecli.Command(), ehrcli.Command(), ehrcli.WorkforceCommand(), simcli.Command(), privacycli.Command(), hl7cli.Command())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}

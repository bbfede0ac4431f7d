// Package evtxcli provides the "vigil evtx" command: dump the records of a
// Windows EVTX file as NDJSON in the shape of evtx_dump -o json.
package evtxcli

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/parse/evtx"
)

// Command returns the "evtx" command with its "dump" subcommand.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evtx",
		Short: "Read Windows EVTX event log files",
	}
	cmd.AddCommand(dumpCommand())
	return cmd
}

func dumpCommand() *cobra.Command {
	var opts evtx.DumpOptions
	cmd := &cobra.Command{
		Use:   "dump FILE.evtx",
		Short: "Write each record of an EVTX file as one JSON object per line",
		Long: `Write each record of an EVTX file to standard output as one JSON object per
line (NDJSON), in the shape of evtx_dump -o json. Damaged chunks and records
are reported on standard error, with their chunk number and file offset, and
skipped; the rest of the file is still dumped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			stats, err := evtx.DumpFile(cmd.Context(), args[0], out, cmd.ErrOrStderr(), opts)
			if ferr := out.Flush(); err == nil && ferr != nil {
				err = fmt.Errorf("write output: %w", ferr)
			}
			if err != nil {
				return err
			}
			if stats.Corrupt > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d records written, %d damaged structures reported\n", args[0], stats.Records, stats.Corrupt)
				if opts.Strict {
					return fmt.Errorf("%s: %d damaged structures", args[0], stats.Corrupt)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Pretty, "pretty", false, "indent each record (the output is then no longer one record per line)")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit with an error when any damaged data was found")
	return cmd
}

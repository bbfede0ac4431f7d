// Package evtxcli provides the "vigil evtx" command: dump the records of a
// Windows EVTX file as NDJSON in the shape of evtx_dump -o json.
package evtxcli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
	var opts DumpOptions
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
			stats, err := DumpFile(cmd.Context(), args[0], out, cmd.ErrOrStderr(), opts)
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

// DumpOptions controls DumpFile.
type DumpOptions struct {
	Pretty bool // indent records
	Strict bool // the command fails when damage was reported
}

// DumpStats counts what a dump wrote and reported.
type DumpStats struct {
	Records int
	Corrupt int
}

// DumpFile writes the records of the EVTX file at path to out, one JSON
// object per line, and reports damaged data to errw.
func DumpFile(ctx context.Context, path string, out, errw io.Writer, opts DumpOptions) (DumpStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return DumpStats{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return DumpStats{}, err
	}
	ef, err := evtx.Open(f, st.Size())
	if err != nil {
		return DumpStats{}, fmt.Errorf("%s: %w", path, err)
	}
	return Dump(ctx, ef, out, errw, opts)
}

// Dump writes the records of an opened EVTX file to out.
func Dump(ctx context.Context, f *evtx.File, out, errw io.Writer, opts DumpOptions) (DumpStats, error) {
	var stats DumpStats
	var pretty bytes.Buffer
	it := f.Records()
	for {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		rec, err := it.Next()
		if err == io.EOF {
			return stats, nil
		}
		var ce *evtx.CorruptError
		if errors.As(err, &ce) {
			stats.Corrupt++
			fmt.Fprintln(errw, ce)
			continue
		}
		if err != nil {
			return stats, err
		}
		line := rec.JSON
		if opts.Pretty {
			pretty.Reset()
			if err := json.Indent(&pretty, rec.JSON, "", "  "); err != nil {
				return stats, fmt.Errorf("BUG: record %d rendered invalid JSON: %w", rec.ID, err)
			}
			line = pretty.Bytes()
		}
		if _, err := out.Write(line); err != nil {
			return stats, fmt.Errorf("write output: %w", err)
		}
		if _, err := out.Write([]byte{'\n'}); err != nil {
			return stats, fmt.Errorf("write output: %w", err)
		}
		stats.Records++
	}
}

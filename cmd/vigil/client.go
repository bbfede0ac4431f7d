package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/parse/evtx/evtxcli"
	"github.com/vigil-siem/vigil/internal/progress"
)

func searchCmd() *cobra.Command {
	var (
		cf           client.Flags
		since, until string
		asJSON       bool
		limit        int
		columns      string
	)
	cmd := &cobra.Command{
		Use:   "search [flags] 'LOGSQL QUERY'",
		Short: "Search stored events (LogsQL) and print them, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.Client()
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			p := client.SearchParams{Query: args[0], Start: "-" + strings.TrimPrefix(since, "-"), End: until, Limit: limit}
			if asJSON {
				return c.Search(cmd.Context(), p, func(line []byte) error {
					out.Write(line)
					return out.WriteByte('\n')
				})
			}
			cols := client.DefaultColumns
			if columns != "" {
				cols = strings.Split(columns, ",")
			}
			width := 160
			if f, ok := cmd.OutOrStdout().(*os.File); ok {
				if w, _, err := term.GetSize(int(f.Fd())); err == nil {
					width = w
				}
			}
			t := client.NewTable(out, cols, width)
			n := 0
			err := c.Search(cmd.Context(), p, func(line []byte) error { n++; return t.Add(line) })
			if err != nil {
				return err
			}
			t.Flush()
			fmt.Fprintf(out, "(%d events)\n", n)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "24h", "how far back to search (e.g. 15m, 1h, 7d)")
	cmd.Flags().StringVar(&until, "until", "", "end of the range (RFC 3339 or relative like -1h; default now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print NDJSON, one event per line, all fields")
	cmd.Flags().IntVar(&limit, "limit", 100, "most events to print (0: all, unordered)")
	cmd.Flags().StringVar(&columns, "columns", "", "comma-separated fields to show (default @timestamp,host.name,event.module,message)")
	return cmd
}

func ingestCmd() *cobra.Command {
	var (
		cf     client.Flags
		format string
		chunk  int
	)
	cmd := &cobra.Command{
		Use:   "ingest [flags] FILE|-",
		Short: "Send a file of events (NDJSON or syslog lines) to a server over HTTP",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.Client()
			// A file is a historical import; stdin may be a live pipe.
			c.Import = args[0] != "-"
			if format == "evtx" || (!cmd.Flags().Changed("format") && strings.HasSuffix(strings.ToLower(args[0]), ".evtx")) {
				return ingestEVTX(cmd, c, args[0], chunk)
			}
			var in io.Reader = os.Stdin
			var size int64
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil {
					size = st.Size()
				}
				in, name = f, args[0]
			}
			bar := progress.New(os.Stderr, "sending "+name, size)
			st, err := c.Send(cmd.Context(), in, format, chunk, func(b, l int64) { bar.Add(b, l) })
			bar.Finish()
			for _, r := range st.Rejections {
				fmt.Fprintln(cmd.ErrOrStderr(), "refused", r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d lines read, %d events stored, %d refused, %d requests\n", st.Lines, st.Accepted, st.Rejected, st.Requests)
			if err != nil {
				return err
			}
			if st.Rejected > 0 {
				return &exitError{code: 3, err: fmt.Errorf("%d events refused", st.Rejected)}
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "ndjson", "input format: ndjson (or a JSON array); syslog, cef, leef or kv (one record per line); or evtx (Windows event log file; the default for *.evtx)")
	cmd.Flags().IntVar(&chunk, "chunk-bytes", 4<<20, "bytes per request")
	return cmd
}

// ingestEVTX parses a Windows EVTX file locally and sends its records as
// evtx_dump-shaped JSON, which the server normalizes like Winlogbeat's.
func ingestEVTX(cmd *cobra.Command, c *client.Client, path string, chunk int) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	var dump evtxcli.DumpStats
	go func() {
		var err error
		dump, err = evtxcli.DumpFile(cmd.Context(), path, pw, cmd.ErrOrStderr(), evtxcli.DumpOptions{})
		pw.CloseWithError(err)
	}()
	bar := progress.New(os.Stderr, "sending "+path, 0)
	sent, err := c.Send(cmd.Context(), pr, "ndjson", chunk, func(b, l int64) { bar.Add(b, l) })
	bar.Finish()
	pr.CloseWithError(err)
	for _, r := range sent.Rejections {
		fmt.Fprintln(cmd.ErrOrStderr(), "refused record", r)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s (%d bytes): %d records read, %d damaged structures skipped, %d events stored, %d refused\n",
		path, st.Size(), sent.Lines, dump.Corrupt, sent.Accepted, sent.Rejected)
	if err != nil {
		return err
	}
	if sent.Rejected > 0 {
		return &exitError{code: 3, err: fmt.Errorf("%d records refused", sent.Rejected)}
	}
	return nil
}

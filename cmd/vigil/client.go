package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/formats"
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
		Short: "Send a file of events to a server over HTTP",
		Long: `Send a file of events to a server over HTTP. JSON events are sent as they
are; records of a text format (syslog, CEF, …) are sent as lines that the
server parses with the same parser as its listeners; binary formats (EVTX)
are read here and sent as JSON events. The server answers only when the
events are stored; refused records are listed with their line.

Formats:
` + formats.Help(),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.Client()
			// A file is a historical import; stdin may be a live pipe.
			c.Import = args[0] != "-"
			f, err := uploadFormat(format, args[0])
			if err != nil {
				return err
			}
			switch f.Upload {
			case formats.UploadNone:
				return fmt.Errorf("vigil ingest does not send format %s: %s", f.Name, f.UploadHint)
			case formats.UploadConverted:
				if args[0] == "-" {
					return fmt.Errorf("format %s is read from a file, not standard input", f.Name)
				}
				return ingestConverted(cmd, c, f, args[0], chunk)
			}
			var in io.Reader = os.Stdin
			var size int64
			name := "stdin"
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer file.Close()
				if st, err := file.Stat(); err == nil {
					size = st.Size()
				}
				in, name = file, args[0]
			}
			bar := progress.New(os.Stderr, "sending "+name, size)
			st, err := c.Send(cmd.Context(), in, f.Name, chunk, func(b, l int64) { bar.Add(b, l) })
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
	cmd.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(formats.Names(), ", ")+" (default: from the file name, e.g. .evtx, or its first line: JSON, web server access and error logs; else ndjson)")
	cmd.Flags().IntVar(&chunk, "chunk-bytes", 4<<20, "bytes per request")
	return cmd
}

// uploadFormat is the format of a file to send: the one given, else the
// one its name or first line selects (formats.Sniff), else ndjson.
func uploadFormat(name, path string) (*formats.Format, error) {
	if name != "" {
		return formats.Lookup(name)
	}
	if f, ok := formats.Sniff(path); ok {
		return f, nil
	}
	return formats.Lookup("ndjson")
}

// ingestConverted converts a file locally (an EVTX file to evtx_dump JSON)
// and sends the result as JSON events, which the server normalizes.
func ingestConverted(cmd *cobra.Command, c *client.Client, f *formats.Format, path string, chunk int) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	var damaged counter
	go func() {
		pw.CloseWithError(f.Convert(path, pw, io.MultiWriter(cmd.ErrOrStderr(), &damaged)))
	}()
	bar := progress.New(os.Stderr, "sending "+path, 0)
	sent, err := c.Send(cmd.Context(), pr, "ndjson", chunk, func(b, l int64) { bar.Add(b, l) })
	bar.Finish()
	pr.CloseWithError(err)
	for _, r := range sent.Rejections {
		fmt.Fprintln(cmd.ErrOrStderr(), "refused record", r)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s (%d bytes): %d records read, %d damaged structures skipped, %d events stored, %d refused\n",
		path, st.Size(), sent.Lines, damaged.lines, sent.Accepted, sent.Rejected)
	if err != nil {
		return err
	}
	if sent.Rejected > 0 {
		return &exitError{code: 3, err: fmt.Errorf("%d records refused", sent.Rejected)}
	}
	return nil
}

// counter counts the lines written to it.
type counter struct{ lines int }

func (c *counter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

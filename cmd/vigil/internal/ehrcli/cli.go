package ehrcli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/progress"
)

// DefaultStatePath is where vigil ehr import keeps its state unless told.
func DefaultStatePath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ".vigil-ehr-import-state.json"
	}
	return filepath.Join(dir, "vigil", "ehr-import-state.json")
}

// Command returns "vigil ehr" with its subcommands import and presets.
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ehr",
		Short: "Import EHR access logs (Epic-style, OpenEMR, TouchWorks or any CSV with a mapping)",
	}
	cmd.AddCommand(importCommand(), presetsCommand())
	return cmd
}

func importCommand() *cobra.Command {
	var (
		cf                    client.Flags
		preset, mapping, zone string
		opt                   ImportOptions
		strict                bool
	)
	cmd := &cobra.Command{
		Use:   "import --preset epic|openemr|touchworks [--mapping FILE] FILE...",
		Short: "Send EHR access-log exports (CSV/TSV) to a server as events",
		Long: `Read EHR access-log exports (CSV or TSV) and send every row to a Vigil server as
an event (event.module "ehr"). A preset or a mapping file (YAML or JSON, see
"vigil ehr presets") says which column holds what. Rows with problems are
stored with vigil.parse_error and listed by line number; the import goes on.

Each request is acknowledged before the next is sent (--in-flight 1, the
default). --in-flight N keeps up to N requests in flight, so that reading the
file and the server's parsing, annotation and storing overlap: a row's
request is chosen by its user, and each user's rows go in requests
acknowledged one after the other, so the server receives every user's
accesses in the file's order while different users' rows may interleave
differently (the explanation learnt from them may then differ from run to
run). A state file remembers, per file (path, size and
first KiB), the rows acknowledged: after an interruption, --resume continues
there without sending a row twice.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := ehr.Resolve(preset, mapping)
			if err != nil {
				return err
			}
			if zone != "" {
				m.Timezone = zone
				if err := m.Check(); err != nil {
					return err
				}
			}
			opt.Mapping = m
			c := cf.Client()
			c.Import = true // an export of past accesses, not a live source
			problems := 0
			for _, path := range args {
				var size int64
				if fi, err := os.Stat(path); err == nil {
					size = fi.Size()
				}
				bar := progress.New(os.Stderr, "importing "+filepath.Base(path), size)
				o := opt
				o.Progress = bar.Add
				st, err := Import(cmd.Context(), c, path, o)
				bar.Finish()
				if n := ehr.UnmappedNotice(m, st.Unmapped); n != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), path+": "+n)
				}
				for _, p := range st.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), path+": "+p)
				}
				if n := st.RowProblems + st.Refused - len(st.Problems); n > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: … and %d more problems\n", path, n)
				}
				fmt.Fprintln(cmd.OutOrStdout(), st.Summary())
				if err != nil {
					return err
				}
				problems += st.RowProblems + st.Refused
			}
			if strict && problems > 0 {
				return fmt.Errorf("%d rows with problems", problems)
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&preset, "preset", "", "column mapping preset: "+strings.Join(ehr.PresetNames(), ", "))
	cmd.Flags().StringVar(&mapping, "mapping", "", "column mapping file (YAML or JSON); wins over --preset")
	cmd.Flags().StringVar(&zone, "timezone", "", "time zone of times without an offset (IANA name, e.g. America/Chicago; default: the mapping's, else UTC)")
	cmd.Flags().BoolVar(&opt.Resume, "resume", false, "continue interrupted imports after the last row the server acknowledged")
	cmd.Flags().StringVar(&opt.StatePath, "state", DefaultStatePath(), "state file remembering how far each file was imported")
	cmd.Flags().BoolVar(&opt.KeepOriginal, "keep-original", false, "store each row as read in event.original (it holds PHI)")
	cmd.Flags().IntVar(&opt.ChunkEvents, "chunk-events", 2000, "rows per request")
	cmd.Flags().IntVar(&opt.Lanes, "in-flight", 1, "requests in flight at once (by user: each user's rows still arrive in the file's order)")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with an error when any row had a problem")
	return cmd
}

func presetsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "presets [NAME]",
		Short: "List the EHR mapping presets, or print one as a mapping file to start from",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				for _, n := range ehr.PresetNames() {
					m, _ := ehr.Preset(n)
					fmt.Fprintf(cmd.OutOrStdout(), "%-12s %s\n", n, m.Product)
				}
				return nil
			}
			m, err := ehr.Preset(args[0])
			if err != nil {
				return err
			}
			y, err := m.YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(y)
			return err
		},
	}
}

// WorkforceCommand returns "vigil workforce" with its import subcommand.
func WorkforceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workforce",
		Short: "Manage the workforce directory (HR roster)",
	}
	cmd.AddCommand(workforceImportCommand())
	return cmd
}

func workforceImportCommand() *cobra.Command {
	var (
		cf                         client.Flags
		preset, mapping, delimiter string
		dayFirst                   bool
	)
	cmd := &cobra.Command{
		Use:   "import [--mapping FILE] FILE",
		Short: "Send an HR roster (CSV) to the server's workforce directory",
		Long: `Send an HR roster (CSV with a header line) to the server's workforce
directory: employee id, EHR user id, provider id, names, address, department,
role, manager, hire and termination dates. Rows are matched by employee id
(created or updated). The "default" preset recognises the usual header names;
a mapping file (JSON or YAML: {"employee_id": "Emp No", "ehr_user_id":
["Epic Login", "Login"]}) names yours. Problems are listed by line number.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if preset != "" {
				q.Set("preset", preset)
			}
			if mapping != "" {
				data, err := os.ReadFile(mapping)
				if err != nil {
					return err
				}
				m, err := directory.ParseWorkforceMapping(data)
				if err != nil {
					return err
				}
				js, _ := json.Marshal(m)
				q.Set("mapping", string(js))
			}
			if delimiter != "" {
				q.Set("delimiter", delimiter)
			}
			if dayFirst {
				q.Set("date_order", "dmy")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			res, err := cf.Client().ImportWorkforce(cmd.Context(), f, q)
			if err != nil {
				return err
			}
			for _, e := range res.Errors {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: line %d: %s\n", args[0], e.Line, e.Error)
			}
			if n := res.ErrorTotal - len(res.Errors); n > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: … and %d more problems\n", args[0], n)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d rows: %d created, %d updated, %d unchanged, %d with problems\n",
				args[0], res.Rows, res.Created, res.Updated, res.Unchanged, res.ErrorTotal)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&preset, "preset", "", "header preset: "+strings.Join(directory.WorkforcePresetNames(), ", ")+" (the default)")
	cmd.Flags().StringVar(&mapping, "mapping", "", "mapping file (JSON or YAML): field → CSV header(s)")
	cmd.Flags().StringVar(&delimiter, "delimiter", "", "comma, semicolon, tab or pipe (default: detected)")
	cmd.Flags().BoolVar(&dayFirst, "day-first", false, "read slash dates as day/month/year (default month/day/year)")
	return cmd
}

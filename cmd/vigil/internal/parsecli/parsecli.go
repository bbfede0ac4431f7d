// Package parsecli provides "vigil parse --format NAME FILE": parse a file
// offline with the parser Vigil uses for that format (package formats, the
// one list every source reads) and print the normalized events as NDJSON,
// so that any sample can be checked by hand.
package parsecli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/formats"
)

// Command returns "vigil parse".
func Command() *cobra.Command {
	var (
		opt            formats.Options
		format, zone   string
		sorted, strict bool
		now            string
	)
	cmd := &cobra.Command{
		Use:   "parse --format FORMAT FILE|-",
		Short: "Parse a file offline and print the normalized events as NDJSON",
		Long: `Parse a file with the parser Vigil uses for its format and print each
normalized event as one JSON object per line ("@timestamp" first): the events
a server stores from the same input. Records that do not parse are printed
too, with vigil.parse_error, and reported on standard error with where they
are.

Formats:
` + formats.Help(),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				if f, ok := formats.Sniff(args[0]); ok {
					format = f.Name
				} else {
					return fmt.Errorf("give --format (the file's name and first line do not tell): %s", strings.Join(formats.Names(), ", "))
				}
			}
			f, err := formats.Lookup(format)
			if err != nil {
				return err
			}
			if zone != "" {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					return fmt.Errorf("--timezone: %w", err)
				}
				opt.Location = loc
			}
			at := time.Now().UTC()
			if now != "" {
				if at, err = time.Parse(time.RFC3339, now); err != nil {
					return fmt.Errorf("--now: %w", err)
				}
			}
			opt.Now = func() time.Time { return at }
			// Printing a local file: --keep-original covers HL7 and FHIR
			// too (a server keeps those only when configured to).
			opt.KeepOriginalHL7, opt.KeepOriginalFHIR = opt.KeepOriginal, opt.KeepOriginal
			opt.Notice = func(msg string) { fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", args[0], msg) }
			problems, err := formats.ParseFile(args[0], f, opt, sorted, cmd.OutOrStdout())
			for _, p := range problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", args[0], p)
			}
			if err != nil {
				return err
			}
			if strict && len(problems) > 0 {
				return fmt.Errorf("%s: %d records with problems", args[0], len(problems))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(formats.Names(), ", ")+" (default: from the file name, e.g. .evtx, or its first line: JSON, web server access and error logs)")
	cmd.Flags().StringVar(&zone, "timezone", "", "time zone of times without an offset (IANA name; default UTC)")
	cmd.Flags().BoolVar(&opt.KeepOriginal, "keep-original", false, "keep each record's text in event.original (a server does by default, except for HL7 and FHIR)")
	cmd.Flags().BoolVar(&sorted, "sort", false, "print fields sorted by name")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit with an error when any record had a problem")
	cmd.Flags().StringVar(&now, "now", "", "receive time given to records without a time of their own (RFC 3339; default now)")
	cmd.Flags().StringVar(&opt.Preset, "preset", "", "EHR mapping preset for --format ehr: "+strings.Join(ehr.PresetNames(), ", "))
	cmd.Flags().StringVar(&opt.MappingFile, "mapping", "", "EHR mapping file for --format ehr (YAML or JSON)")
	return cmd
}

// Package sigmacli holds the `vigil sigma` commands: lint (load rules and
// report every rejection), scan (evaluate rules over event files) and test
// (run SigmaHQ-style regression cases). The commands only parse flags; the
// work is in package offline.
package sigmacli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/detect/sigma/offline"
	"github.com/vigil-siem/vigil/internal/detect/sigma/pipeline"
	"github.com/vigil-siem/vigil/internal/formats"
)

var ErrFailed = errors.New("sigma: failures reported above")

func Command() *cobra.Command {
	root := &cobra.Command{
		Use:   "sigma",
		Short: "Sigma rules: lint, scan event files, run regression tests",
	}
	root.AddCommand(lintCommand(), scanCommand(), testCommand())
	return root
}

func registerFlags(c *offline.Config, cmd *cobra.Command, rules bool) {
	if rules {
		cmd.Flags().StringArrayVar(&c.Rules, "rules", nil, "rule directory or file (repeatable)")
	}
	cmd.Flags().StringArrayVar(&c.Pipelines, "pipeline", nil, "processing pipeline: "+strings.Join(pipeline.ShippedNames(), ", ")+" or a YAML file (repeatable; default: by event layout)")
	cmd.Flags().StringVar(&c.Placeholders, "placeholders", "", "YAML file mapping placeholder names to lists of values for the expand modifier")
}

func lintCommand() *cobra.Command {
	var cfg offline.Config
	cmd := &cobra.Command{
		Use:   "lint DIR...",
		Short: "Load every rule and report each rejection with file, line and reason",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			ok, err := offline.Lint(cmd.Context(), cmd.OutOrStdout(), args, cfg)
			if err != nil {
				return err
			}
			if !ok {
				return ErrFailed
			}
			return nil
		},
	}
	registerFlags(&cfg, cmd, false)
	return cmd
}

func scanCommand() *cobra.Command {
	var cfg offline.Config
	cmd := &cobra.Command{
		Use:   "scan --rules DIR [--rules DIR...] [--pipeline NAME] FILE...",
		Short: "Evaluate rules (and correlations) over event files: NDJSON, JSON arrays, evtx_dump JSON, EVTX, or any input format with --format",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			if len(cfg.Rules) == 0 {
				return fmt.Errorf("sigma scan: give --rules")
			}
			_, err := offline.Scan(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, cfg)
			return err
		},
	}
	registerFlags(&cfg, cmd, true)
	cmd.Flags().BoolVar(&cfg.JSON, "json", false, "print matches as JSON lines")
	var zone string
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if zone == "" {
			return nil
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return fmt.Errorf("--timezone: %w", err)
		}
		cfg.Location = loc
		return nil
	}
	cmd.Flags().StringVar(&zone, "timezone", "", "time zone of times written without one (NXLog's EventTime, syslog stamps; IANA name, default UTC)")
	cmd.Flags().StringVar(&cfg.Format, "format", "", "read the files in this input format, as a server stores them: "+strings.Join(formats.Names(), ", ")+" (default: JSON events or EVTX in their own layout)")
	return cmd
}

func testCommand() *cobra.Command {
	var cfg offline.Config
	var atLeast bool
	cmd := &cobra.Command{
		Use:   "test --rules DIR [--rules DIR...] REGRESSION_DIR...",
		Short: "Run regression cases (info.yml + events, found recursively): the named rule must match, match_count times when given",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			if len(cfg.Rules) == 0 {
				return fmt.Errorf("sigma test: give --rules")
			}
			failed, err := offline.Test(cmd.Context(), cmd.OutOrStdout(), args, cfg, atLeast)
			if err != nil {
				return err
			}
			if failed > 0 {
				return ErrFailed
			}
			return nil
		},
	}
	registerFlags(&cfg, cmd, true)
	cmd.Flags().BoolVar(&atLeast, "at-least", false, "treat match_count as a minimum instead of an exact count")
	return cmd
}

// Package privacycli provides "vigil privacy": the explanation templates
// the server learnt (list, show, approve, reject, mine), the privacy rules
// with their settings, and the access reports (per patient, per user, a
// summary) as JSON, CSV, PDF or HTML.
package privacycli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/privacy"
)

// Command returns "vigil privacy".
func Command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Explanation templates, privacy rules and access reports of a server",
		Long: `Every access to a patient record is explained or not: by the care team, or by a
routine of the user's department that Vigil learns from the access history (an
explanation template). The privacy rules look at the unexplained accesses.
These commands list the templates for the privacy officer to approve or reject,
show the rules, and produce the access reports (docs/privacy.md).`,
	}
	cmd.AddCommand(templatesCommand(), rulesCommand(), reportCommand())
	return cmd
}

func templatesCommand() *cobra.Command {
	var cf client.Flags
	var status, group string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "templates",
		Short: "List the explanation templates (learnt, proposed, approved, rejected, configured)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var res struct {
				Templates []privacy.Template `json:"templates"`
			}
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			if group != "" {
				q.Set("group", group)
			}
			if err := cf.Client().Get(cmd.Context(), "/api/v1/privacy/templates", q, &res); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res.Templates)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tGROUP\tPATIENTS\tSUPPORT\tUSERS\tCONFIDENCE\tLIFT")
			for _, t := range res.Templates {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.0f\t%d\t%.0f%%\t%.1f\n", t.ID, t.Status, t.Group, t.Feature, t.Stats.Support, t.Stats.Users,
					100*t.Stats.Confidence, t.Stats.Lift)
			}
			return tw.Flush()
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&status, "status", "", "only this status: active, proposed, approved, rejected, retired, configured, explaining")
	cmd.Flags().StringVar(&group, "group", "", "only groups containing this text (e.g. pharmacy)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(decideCommand("approve", "Approve a template: it explains accesses whatever mining finds later"),
		decideCommand("reject", "Reject a template: it never explains anything; mining looks for other explanations"),
		decideCommand("reset", "Take back a decision: the template is judged by mining again"), mineCommand(), showCommand())
	return cmd
}

func showCommand() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one template with its statistics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t privacy.Template
			if err := cf.Client().Get(cmd.Context(), "/api/v1/privacy/templates/"+url.PathEscape(args[0]), nil, &t); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), t)
		},
	}
	cf.Register(cmd.Flags())
	return cmd
}

func decideCommand(verb, short string) *cobra.Command {
	var cf client.Flags
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " ID --reason TEXT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return fmt.Errorf("template id %q is not a number", args[0])
			}
			body, _ := json.Marshal(map[string]string{"reason": reason})
			var t privacy.Template
			if err := cf.Client().Do(cmd.Context(), "POST", "/api/v1/privacy/templates/"+args[0]+"/"+verb, strings.NewReader(string(body)), &t); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "template %d (%s: %s): %s\n", t.ID, t.Group, t.Feature, t.Status)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "", "why (required to approve or reject; kept with the decision and in the audit trail)")
	return cmd
}

func mineCommand() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{
		Use:   "mine",
		Short: "Mine the templates again now (the server does it every minute while accesses arrive)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var res privacy.MineResult
			if err := cf.Client().Do(cmd.Context(), "POST", "/api/v1/privacy/mine", nil, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d templates chosen in %d groups from %d accesses (%s)\n", res.Chosen, res.Groups, res.Accesses, res.Took)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	return cmd
}

func rulesCommand() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the privacy rules with their settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var res struct {
				Rules []privacy.RuleInfo `json:"rules"`
			}
			if err := cf.Client().Get(cmd.Context(), "/api/v1/privacy/rules", nil, &res); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLEVEL\tENABLED\tID\tTITLE")
			for _, r := range res.Rules {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\n", r.Name, r.Level, r.Enabled, r.ID, r.Title)
			}
			return tw.Flush()
		},
	}
	cf.Register(cmd.Flags())
	return cmd
}

func reportCommand() *cobra.Command {
	var cf client.Flags
	var from, to, format, out, table string
	cmd := &cobra.Command{
		Use:   "report patient MRN | user LOGIN | summary",
		Short: "An access report: every access to a patient's record, every patient a user opened, or how accesses were explained",
		Long: `Access reports, from the stored access events and their explanations:

  vigil privacy report patient MRN1234567 --from -90d --format pdf -o mrn.pdf
  vigil privacy report user jdoe --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --format csv
  vigil privacy report summary --from -7d

The patient report lists every access to the record (when, who, role,
department, action, explanation): the access report of HIPAA's proposed
164.528(b). The user report lists every patient the user opened, those with
unexplained accesses first. Each generation is recorded in the server's audit
trail.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var path string
			switch {
			case args[0] == "patient" && len(args) == 2:
				path = "/api/v1/privacy/reports/patients/" + url.PathEscape(args[1])
			case args[0] == "user" && len(args) == 2:
				path = "/api/v1/privacy/reports/users/" + url.PathEscape(args[1])
			case args[0] == "summary" && len(args) == 1:
				path = "/api/v1/privacy/reports/summary"
			default:
				return fmt.Errorf("want: report patient ID, report user LOGIN or report summary")
			}
			q := url.Values{"format": {format}}
			if from != "" {
				q.Set("from", from)
			}
			if to != "" {
				q.Set("to", to)
			}
			if table != "" {
				q.Set("table", table)
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			} else if format == "pdf" {
				return fmt.Errorf("a PDF goes to a file: give -o FILE")
			}
			_, err := cf.Client().Download(cmd.Context(), path, q, w)
			return err
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "start of the period (RFC 3339 or relative, e.g. -30d; default 30 days ago)")
	cmd.Flags().StringVar(&to, "to", "", "end of the period (default now)")
	cmd.Flags().StringVar(&format, "format", "json", "json, csv, pdf or html")
	cmd.Flags().StringVar(&table, "table", "", "csv: the table to write (accesses, patients, departments …, or all)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file (mode 0600: reports hold PHI) instead of standard output")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/compliance"
	"github.com/vigil-siem/vigil/internal/report"
)

func reportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Compliance reports: generate, list, sign off"}
	cmd.AddCommand(reportHIPAACmd(), reportListCmd(), reportSignoffCmd())
	return cmd
}

func reportHIPAACmd() *cobra.Command {
	var (
		cf           client.Flags
		since, until string
		format, out  string
	)
	cmd := &cobra.Command{
		Use:   "hipaa [--since 30d] [--format pdf|html|csv] -o FILE",
		Short: "Generate the HIPAA Security Rule evidence report of the period (kept by the server for sign-off)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if out == "" {
				return &exitError{code: 2, err: errors.New("-o FILE is required (- for standard output)")}
			}
			q := url.Values{"since": {"-" + trimMinus(since)}, "format": {string(f)}}
			if until != "" {
				q.Set("until", until)
			}
			resp, err := cf.Client().Post(cmd.Context(), "/api/v1/reports/hipaa", q, nil, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				return client.ResponseError(resp.StatusCode, data)
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "-" {
				file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
				if err != nil {
					return err
				}
				defer file.Close()
				w = file
			}
			n, err := io.Copy(w, resp.Body)
			if err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "report %s (%d bytes) written to %s; SHA-256 of its PDF %s\nsign it off: vigil report signoff %s --reviewer NAME\n",
					resp.Header.Get("X-Vigil-Report-Id"), n, out, resp.Header.Get("X-Vigil-Report-SHA256"), resp.Header.Get("X-Vigil-Report-Id"))
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&since, "since", "30d", "start of the period, this far back (e.g. 30d, 7d, 12h)")
	cmd.Flags().StringVar(&until, "until", "", "end of the period (RFC 3339 or relative like -1d; default now)")
	cmd.Flags().StringVar(&format, "format", "pdf", "pdf, html or csv")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (- for standard output)")
	return cmd
}

func reportListCmd() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the reports the server keeps, with their sign-offs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var resp struct {
				Reports []compliance.Stored `json:"reports"`
			}
			if err := cf.Client().Get(cmd.Context(), "/api/v1/reports", nil, &resp); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, r := range resp.Reports {
				fmt.Fprintf(w, "%d  %s  %s to %s  generated %s by %s  sha256 %s\n", r.ID, r.Kind, r.From.Format("2006-01-02"), r.To.Format("2006-01-02"),
					r.Generated.Format(time.RFC3339), r.GeneratedBy, r.SHA256)
				for _, s := range r.Signoffs {
					fmt.Fprintf(w, "      signed off %s by %s (%s): %s\n", s.Signed.Format(time.RFC3339), s.Reviewer, s.Role, s.Comment)
				}
			}
			return nil
		},
	}
	cf.Register(cmd.Flags())
	return cmd
}

func reportSignoffCmd() *cobra.Command {
	var (
		cf                            client.Flags
		reviewer, role, comment, hash string
	)
	cmd := &cobra.Command{
		Use:   "signoff ID --reviewer NAME [--role ROLE] [--comment TEXT] [--sha256 HASH]",
		Short: "Record a reviewer's sign-off of a kept report (name, date, comment); never changed afterwards",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, _ := json.Marshal(map[string]string{"reviewer": reviewer, "role": role, "comment": comment, "sha256": hash})
			resp, err := cf.Client().Post(cmd.Context(), "/api/v1/reports/"+url.PathEscape(args[0])+"/signoff", nil, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusCreated {
				return client.ResponseError(resp.StatusCode, data)
			}
			var so compliance.Signoff
			json.Unmarshal(data, &so)
			fmt.Fprintf(cmd.OutOrStdout(), "report %s signed off by %s at %s (SHA-256 %s)\n", args[0], so.Reviewer, so.Signed.Format(time.RFC3339), so.SHA256)
			return nil
		},
	}
	cf.Register(cmd.Flags())
	cmd.Flags().StringVar(&reviewer, "reviewer", "", "reviewer's name")
	cmd.Flags().StringVar(&role, "role", "", "reviewer's role")
	cmd.Flags().StringVar(&comment, "comment", "", "comment")
	cmd.Flags().StringVar(&hash, "sha256", "", "the SHA-256 of the PDF reviewed (checked against the kept report)")
	return cmd
}

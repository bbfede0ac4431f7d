package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/access"
	"github.com/vigil-siem/vigil/internal/accounts"
	"github.com/vigil-siem/vigil/internal/audit"
	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/db"
)

const tokenHelp = `
These commands call the server's API with an administrator's token: by
default the admin token a local server keeps in --data-dir/admin.token (mode
0600, written on first start), else --token or $VIGIL_TOKEN.`

// jsonBody encodes v as a request body.
func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func usersCmd() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{Use: "users", Short: "Manage user accounts (add, list, disable, reset passwords, roles)", Long: "Manage the user accounts of a Vigil server." + tokenHelp}
	cf.Register(cmd.PersistentFlags())
	var (
		roles              []string
		displayName, email string
	)
	add := &cobra.Command{
		Use:   "add NAME --role ROLE[,ROLE]",
		Short: "Create a user and print its one-time password (changed at first sign-in)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				User            accounts.User `json:"user"`
				OneTimePassword string        `json:"one_time_password"`
			}
			err := cf.Client().Do(cmd.Context(), "POST", "/api/v1/users",
				jsonBody(map[string]any{"name": args[0], "roles": roles, "display_name": displayName, "email": email}), &out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created %s (%s). One-time password, shown only now:\n\n    %s\n\n%s chooses a new one at first sign-in.\n",
				out.User.Name, strings.Join(out.User.Roles, ", "), out.OneTimePassword, out.User.Name)
			if out.User.MFARequired {
				fmt.Fprintln(cmd.OutOrStdout(), "A role requires a second factor: the user enrols an authenticator app right after.")
			}
			return nil
		},
	}
	add.Flags().StringSliceVar(&roles, "role", nil, "roles: "+strings.Join(access.RoleNames(), ", ")+" (repeat or comma-separate)")
	add.Flags().StringVar(&displayName, "display-name", "", "full name")
	add.Flags().StringVar(&email, "email", "", "e-mail address")
	add.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users with their roles and state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Users []accounts.User `json:"users"`
			}
			if err := cf.Client().Get(cmd.Context(), "/api/v1/users", nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLES\tSOURCE\tSTATE\tSECOND FACTOR\tLAST SIGN-IN")
			for _, u := range out.Users {
				state := "enabled"
				switch {
				case u.Disabled:
					state = "disabled"
				case u.Locked:
					state = "locked"
				case u.MustChangePassword:
					state = "one-time password"
				}
				mfa := "-"
				switch {
				case u.TOTPEnabled:
					mfa = "totp"
				case u.MFARequired:
					mfa = "required, not enrolled"
				}
				last := "never"
				if !u.LastLoginAt.IsZero() {
					last = u.LastLoginAt.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, strings.Join(u.Roles, ","), u.Source, state, mfa, last)
			}
			return tw.Flush()
		},
	}
	action := func(use, short, path string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out map[string]any
				if err := cf.Client().Do(cmd.Context(), "POST", "/api/v1/users/"+url.PathEscape(args[0])+"/"+path, nil, &out); err != nil {
					return err
				}
				if pw, _ := out["one_time_password"].(string); pw != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "New one-time password for %s, shown only now:\n\n    %s\n\nTheir sessions ended; they choose a new password at next sign-in.\n", args[0], pw)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: done\n", args[0])
				return nil
			},
		}
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user (the audit trail keeps what they did)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cf.Client().Do(cmd.Context(), "DELETE", "/api/v1/users/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", args[0])
			return nil
		},
	}
	var setRoles []string
	roleCmd := &cobra.Command{
		Use:   "set-roles NAME --role ROLE[,ROLE]",
		Short: "Replace a user's roles",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cf.Client().Do(cmd.Context(), "PUT", "/api/v1/users/"+url.PathEscape(args[0])+"/roles", jsonBody(map[string]any{"roles": setRoles}), nil)
		},
	}
	roleCmd.Flags().StringSliceVar(&setRoles, "role", nil, "roles: "+strings.Join(access.RoleNames(), ", "))
	roleCmd.MarkFlagRequired("role")
	cmd.AddCommand(add, list, del, roleCmd,
		action("disable", "Disable a user and end their sessions", "disable"),
		action("enable", "Enable a disabled user", "enable"),
		action("reset-password", "Give a user a new one-time password (printed) and end their sessions", "reset-password"),
		action("reset-mfa", "Remove a user's second factor (a lost phone); a role that requires one makes them enrol again", "reset-mfa"),
		action("unlock", "Clear a sign-in lockout after failed attempts", "unlock"))
	return cmd
}

func tokensCmd() *cobra.Command {
	var cf client.Flags
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens (create, list, revoke)", Long: "Manage the API tokens of a Vigil server: for log senders (role ingest), Prometheus (role metrics), scripts." + tokenHelp}
	cf.Register(cmd.PersistentFlags())
	var (
		name    string
		roles   []string
		expires string
	)
	create := &cobra.Command{
		Use:   "create --name NAME --role ROLE [--expires 90d]",
		Short: "Create a token and print it once (it is stored hashed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Token  accounts.Token `json:"token"`
				Secret string         `json:"secret"`
			}
			if err := cf.Client().Do(cmd.Context(), "POST", "/api/v1/tokens", jsonBody(map[string]any{"name": name, "roles": roles, "expires": expires}), &out); err != nil {
				return err
			}
			exp := "never expires"
			if !out.Token.ExpiresAt.IsZero() {
				exp = "expires " + out.Token.ExpiresAt.Local().Format(time.RFC3339)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Token %s (%s, %s), shown only now:\n", out.Token.Name, strings.Join(out.Token.Roles, ","), exp)
			fmt.Fprintln(cmd.OutOrStdout(), out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "token name (e.g. filebeat-dmz, prometheus)")
	create.Flags().StringSliceVar(&roles, "role", nil, "roles: "+strings.Join(access.RoleNames(), ", "))
	create.Flags().StringVar(&expires, "expires", "", "lifetime, e.g. 90d or 12h (default: no expiry)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("role")
	var revoked bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens: name, roles, prefix, expiry and last use (never the secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out struct {
				Tokens []accounts.Token `json:"tokens"`
			}
			if err := cf.Client().Get(cmd.Context(), "/api/v1/tokens", url.Values{"revoked": {strconv.FormatBool(revoked)}}, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLES\tPREFIX\tCREATED\tEXPIRES\tLAST USED\tSTATE")
			day := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.Local().Format("2006-01-02 15:04")
			}
			for _, t := range out.Tokens {
				state := "active"
				switch {
				case !t.RevokedAt.IsZero():
					state = "revoked " + day(t.RevokedAt)
				case !t.ExpiresAt.IsZero() && time.Now().After(t.ExpiresAt):
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.Name, strings.Join(t.Roles, ","), t.Prefix, day(t.CreatedAt), day(t.ExpiresAt), day(t.LastUsed), state)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&revoked, "revoked", false, "list revoked tokens too")
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cf.Client().Do(cmd.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The audit trail of Vigil's own use: verify its hash chain, list and export it"}
	var (
		dataDir, expect string
		asJSON          bool
	)
	verify := &cobra.Command{
		Use:   "verify [--data-dir DIR] [--expect SEQ:HASH]",
		Short: "Walk the audit trail's hash chain and name the first changed, removed or inserted record (exit status 3)",
		Long: `Verify reads the control-plane database of a data dir (the server may be
running) and recomputes every record's hash and its link to the one before.
It prints the last record's number and hash: note them down (or send them off
the machine); --expect SEQ:HASH later proves the trail still holds that
record unchanged, so a cut or rewritten tail is found too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var seq int64
			var hash string
			if expect != "" {
				s, h, ok := strings.Cut(expect, ":")
				n, err := strconv.ParseInt(s, 10, 64)
				if !ok || err != nil || len(h) != 64 {
					return &exitError{code: 2, err: fmt.Errorf("--expect %q: want SEQ:HASH as verify printed it", expect)}
				}
				seq, hash = n, h
			}
			v, err := verifyAudit(cmd.Context(), filepath.Join(dataDir, "vigil.db"), seq, hash)
			if err != nil {
				return err
			}
			if asJSON {
				json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			} else if v.OK {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail verified: %d records (%d to %d), %d pruned by retention before them\nhead: %d:%s\n",
					v.Records, v.FirstSeq, v.LastSeq, v.Pruned, v.LastSeq, v.HeadHash)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "audit trail BROKEN at record %d: %s\n(%d records verified before it)\n", v.BrokenAt, v.Problem, v.Records)
			}
			if !v.OK {
				return &exitError{code: verifyFailed, err: fmt.Errorf("audit trail broken at record %d", v.BrokenAt)}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&dataDir, "data-dir", "./vigil-data", "the server's data dir")
	verify.Flags().StringVar(&expect, "expect", "", "a head noted earlier (SEQ:HASH) that must still be in the trail")
	verify.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	var (
		cf                                  client.Flags
		since, until, actor, action, format string
		limit                               int
	)
	list := &cobra.Command{
		Use:   "list [--since 24h] [--actor NAME] [--action auth.*] [--format table|csv|ndjson]",
		Short: "List or export audit records from a server (needs audit:read)",
		Long:  "List or export audit records from a server. Exports (csv, ndjson) stream every matching record, oldest first." + tokenHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"actor": actor, "action": action, "until": until} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if since != "" {
				q.Set("since", "-"+strings.TrimPrefix(since, "-"))
			}
			c := cf.Client()
			if format == "csv" || format == "ndjson" {
				q.Set("format", format)
				resp, err := c.Fetch(cmd.Context(), "GET", "/api/v1/audit", q)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
				return err
			}
			q.Set("limit", strconv.Itoa(limit))
			var out struct {
				Records []audit.Record `json:"records"`
			}
			if err := c.Get(cmd.Context(), "/api/v1/audit", q, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tFROM\tACTION\tTARGET\tOUTCOME\tDETAILS")
			for _, r := range out.Records {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Local().Format("2006-01-02 15:04:05"), r.Actor, r.ClientAddr, r.Action, r.Target, r.Outcome, truncateText(string(r.Details), 120))
			}
			return tw.Flush()
		},
	}
	cf.Register(list.Flags())
	list.Flags().StringVar(&since, "since", "24h", "how far back (e.g. 1h, 7d)")
	list.Flags().StringVar(&until, "until", "", "end of the range (RFC 3339 or relative like -1h)")
	list.Flags().StringVar(&actor, "actor", "", "only this user or token")
	list.Flags().StringVar(&action, "action", "", "only this action, or a prefix ending in * (auth.*)")
	list.Flags().StringVar(&format, "format", "table", "table (newest first), csv or ndjson (every record, oldest first)")
	list.Flags().IntVar(&limit, "limit", 100, "most records in the table")
	cmd.AddCommand(verify, list)
	return cmd
}

// verifyAudit opens a data dir's database read-only and walks the chain.
func verifyAudit(ctx context.Context, path string, seq int64, hash string) (audit.Verification, error) {
	if _, err := os.Stat(path); err != nil {
		return audit.Verification{}, fmt.Errorf("no control-plane database: %w (give the server's --data-dir)", err)
	}
	d, err := db.OpenReadOnly(path)
	if err != nil {
		return audit.Verification{}, err
	}
	defer d.Close()
	return audit.Verify(ctx, d, seq, hash)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Package simcli is the `vigil simulate` command: it runs the hospital
// simulator (internal/simulate) against a Vigil server.
package simcli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/client"
	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/privacy"
	"github.com/vigil-siem/vigil/internal/simulate"
)

// Options are the command's flags.
type Options struct {
	client.Flags
	MLLP, Syslog           string
	Seed                   uint64
	Duration, Span         time.Duration
	Rate, Activity         float64
	Start, Timezone, Truth string
	Staff, Patients        int
	NoIncidents, DryRun    bool
	Orders                 bool
	BaselineMinSpan        time.Duration
	BaselineMinEvents      float64
	Profile                string
	Beds, Rounds           int
	// Export writes the period as files instead of sending it; Evaluate
	// runs it through Vigil's detection in this process and scores it.
	Export   string
	Evaluate bool
	// PrivacyConfig is the privacy configuration Evaluate uses.
	PrivacyConfig string
	// Import evaluates the period as a historical import (Evaluate).
	Import bool
}

// Command returns "vigil simulate".
func Command() *cobra.Command {
	var o Options
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Stream a synthetic hospital (HL7, FHIR, EHR, DICOM audit, Linux and Windows logons) with injected incidents to a server",
		Long: `Generate a consistent synthetic hospital - patients, a workforce with departments, roles,
managers, shifts and care teams, admissions, transfers and discharges - and stream what its
systems log to a running Vigil: the HR roster (workforce import API), HL7 ADT over MLLP, FHIR
AuditEvents and EHR access logs (HTTP), DICOM/IHE ATNA audit messages and Linux logins (syslog
TCP) and Windows logons (Winlogbeat JSON over HTTP). Incidents are injected on top of the
benign background: snooping on a family member, a co-worker and a VIP, access after
termination, bulk record access, break-glass misuse, password spraying, SSH brute force,
DICOM export to an unknown destination or to a DVD, access outside usual hours, a failed-login
burst, ATNA security alerts and audit-log use. --truth writes them as JSON lines (incident,
expected rule ids, user, patient, source address, time window).

Time is compressed (--rate, default 1440: a simulated day per minute) and the simulated
period starts at 06:00 and ends before now, so the alerts are live. The same --seed and
--start give the same hospital and the same events. Every name and number is made up.

  vigil serve                       # in one terminal
  vigil simulate --truth truth.jsonl  # in another; alerts within a minute:
  curl -H "Authorization: Bearer $(cat vigil-data/ingest.token)" http://127.0.0.1:8080/api/v1/alerts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	o.Flags.Register(f)
	f.StringVar(&o.MLLP, "mllp", "127.0.0.1:2575", "the server's HL7 MLLP listener")
	f.StringVar(&o.Syslog, "syslog", "127.0.0.1:5514", "the server's syslog TCP listener")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed and start give the same hospital and events")
	f.DurationVar(&o.Duration, "duration", 2*time.Minute, "how long the run takes")
	f.Float64Var(&o.Rate, "rate", 1440, "simulated seconds per real second (1440: a day a minute; 0: as fast as the server takes it)")
	f.DurationVar(&o.Span, "span", 0, "simulated period (default duration × rate; a day when --rate 0)")
	f.StringVar(&o.Start, "start", "", "simulated start, RFC 3339 (default: the latest 06:00 that lets the period end before now)")
	f.StringVar(&o.Timezone, "timezone", "Local", "the hospital's time zone (shifts, times in the logs); must match the server's enrichment zone")
	f.StringVar(&o.Truth, "truth", "", "write the ground truth of the injected incidents to this file (JSON lines)")
	f.IntVar(&o.Staff, "staff", 0, "size of the workforce (default 140, or from --beds)")
	f.IntVar(&o.Patients, "patients", 0, "size of the patient index (default 600, or from --beds)")
	f.IntVar(&o.Beds, "beds", 0, "size the hospital by its inpatient beds (e.g. 300): staff and patients follow")
	f.StringVar(&o.Profile, "profile", "general", "kind of hospital: "+strings.Join(simulate.ProfileNames(), ", ")+" (other department names, codes and proportions)")
	f.IntVar(&o.Rounds, "rounds", 1, "inject the privacy incidents this many times over the period (by other staff each time)")
	f.StringVar(&o.Export, "export", "", "write the period into this directory as files instead of sending it: roster.csv, adt.hl7 (with --orders, the order and result messages too), access_log.csv (Epic-style), truth.jsonl")
	f.BoolVar(&o.Evaluate, "evaluate", false, "run the period through Vigil's detection in this process (parsers, directory, enrichment, explanation, privacy and Sigma rules) and print how it scores against the ground truth")
	f.StringVar(&o.PrivacyConfig, "privacy-config", "", "with --evaluate: the privacy configuration file to use")
	f.BoolVar(&o.Import, "import", false, "with --evaluate: replay the period as a historical import (the ADT history first, then the access log in requests of 2,000 rows)")
	f.Float64Var(&o.Activity, "activity", 1, "multiplier of the background clinical activity")
	f.BoolVar(&o.NoIncidents, "no-incidents", false, "benign background only")
	f.BoolVar(&o.Orders, "orders", false, "also send the ancillary feeds over MLLP: orders (ORM), results (ORU), pharmacy (RDE) and clinic appointments (SIU) for about 90% of the ancillary work")
	f.BoolVar(&o.DryRun, "dry-run", false, "generate and render everything, send nothing (measures the generator)")
	def := enrich.DefaultBaselineConfig()
	f.DurationVar(&o.BaselineMinSpan, "baseline-min-span", def.MinSpan, "the server's usual-hours warm-up span (places the outside-hours incident)")
	f.Float64Var(&o.BaselineMinEvents, "baseline-min-events", def.MinEvents, "the server's usual-hours warm-up event count")
	return cmd
}

// Run runs the simulator with the command's options, writing the summary
// to w and status lines to errw.
func Run(ctx context.Context, o Options, w, errw io.Writer) error {
	loc := time.Local
	if o.Timezone != "" && o.Timezone != "Local" {
		l, err := time.LoadLocation(o.Timezone)
		if err != nil {
			return fmt.Errorf("--timezone: %w", err)
		}
		loc = l
	}
	var start time.Time
	if o.Start != "" {
		t, err := time.Parse(time.RFC3339, o.Start)
		if err != nil {
			return fmt.Errorf("--start: want RFC 3339 (2026-11-26T06:00:00-06:00): %w", err)
		}
		start = t
	}
	if o.Export != "" || o.Evaluate {
		return offline(ctx, o, loc, start, w)
	}
	token := o.ResolvedToken()
	cfg := simulate.Config{
		Server: o.Server, Token: token, MLLP: o.MLLP, Syslog: o.Syslog, Insecure: o.Insecure, Seed: o.Seed, Start: start,
		Duration: o.Duration, Rate: o.Rate, Span: o.Span, Staff: o.Staff, Patients: o.Patients, Activity: o.Activity, Location: loc,
		NoIncidents: o.NoIncidents, Orders: o.Orders, DryRun: o.DryRun, Status: errw, Profile: o.Profile, Beds: o.Beds, Rounds: o.Rounds,
		Baseline: enrich.BaselineConfig{MinSpan: o.BaselineMinSpan, MinEvents: o.BaselineMinEvents},
		Log:      slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if o.Truth != "" {
		f, err := os.Create(o.Truth)
		if err != nil {
			return fmt.Errorf("--truth: %w", err)
		}
		defer f.Close()
		cfg.Truth = f
	}
	st, err := simulate.Run(ctx, cfg)
	if st != nil {
		printSummary(w, st, &cfg, o)
	}
	return err
}

func printSummary(w io.Writer, st *simulate.Stats, cfg *simulate.Config, o Options) {
	loc := cfg.Location
	fmt.Fprintf(w, "simulated %s – %s (%s), seed %d\n", st.SimStart.In(loc).Format("2006-01-02 15:04 MST"),
		st.SimEnd.In(loc).Format("2006-01-02 15:04 MST"), st.SimEnd.Sub(st.SimStart).Round(time.Minute), o.Seed)
	var names []string
	total := 0
	for k, n := range st.Events {
		names = append(names, k)
		total += n
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d", k, st.Events[k]))
	}
	verb := "sent"
	if o.DryRun {
		verb = "rendered"
	}
	rate := 0.0
	if st.Elapsed > 0 {
		rate = float64(st.Sent) / st.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "%d events (%s); %d %s in %s (%.0f events/s, %.1f MB), %d failed requests\n", total, strings.Join(parts, ", "),
		st.Sent, verb, st.Elapsed.Round(time.Millisecond), rate, float64(st.Bytes)/1e6, st.Errors)
	fmt.Fprintf(w, "%d incidents injected", st.Incidents)
	if o.Truth != "" {
		fmt.Fprintf(w, ", ground truth in %s", o.Truth)
	}
	fmt.Fprintln(w)
	for _, s := range st.Skipped {
		fmt.Fprintf(w, "not injected: %s\n", s)
	}
}

// offline plans the period and exports it to files, or evaluates it in
// this process.
func offline(ctx context.Context, o Options, loc *time.Location, start time.Time, w io.Writer) error {
	if o.Export != "" && o.Evaluate {
		return fmt.Errorf("give --export or --evaluate, not both")
	}
	span := o.Span
	if span <= 0 {
		span = 48 * time.Hour
	}
	if start.IsZero() {
		start = simulate.DefaultStart(time.Now(), span, loc)
	}
	plan := simulate.NewPlan(simulate.PlanOptions{Seed: o.Seed, Start: start, Span: span, Location: loc, Profile: o.Profile, Beds: o.Beds,
		Staff: o.Staff, Patients: o.Patients, Activity: o.Activity, Incidents: !o.NoIncidents, Rounds: o.Rounds, Orders: o.Orders,
		Baseline: enrich.BaselineConfig{MinSpan: o.BaselineMinSpan, MinEvents: o.BaselineMinEvents}})
	for _, s := range plan.Skipped {
		fmt.Fprintf(w, "not injected: %s\n", s)
	}
	if o.Export != "" {
		st, err := simulate.Export(plan, o.Export)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %d workers, %d HL7 messages, %d record accesses, %d incidents (%s, %s – %s)\n", o.Export, st.Workers, st.Messages,
			st.Accesses, st.Incidents, plan.H.Profile.Name, start.In(loc).Format(time.RFC3339), start.Add(span).In(loc).Format(time.RFC3339))
		return nil
	}
	dir, err := os.MkdirTemp("", "vigil-evaluate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pc, err := privacy.LoadConfig(o.PrivacyConfig)
	if err != nil {
		return err
	}
	ev, err := simulate.Evaluate(ctx, plan, simulate.EvalOptions{Dir: dir, Privacy: pc, Import: o.Import})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "seed %d, %s hospital, %d staff, %d patients, %s from %s\n", o.Seed, plan.H.Profile.Name, len(plan.H.Workers), len(plan.H.Patients),
		span, start.In(loc).Format(time.RFC3339))
	_, err = io.WriteString(w, ev.Report())
	return err
}

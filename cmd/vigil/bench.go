package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/bench"
	"github.com/vigil-siem/vigil/internal/simulate"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Load tools that measure Vigil (and peers) end to end"}
	var (
		targets, transports, compare []string
		cfg                          bench.Config
		vlBin, rsBin, sigmahq, ph    string
		keep                         bool
		repeat                       int
		profileDir                   string
		vigilArgs                    []string
	)
	ingest := &cobra.Command{
		Use:   "ingest",
		Short: "Start each receiver in turn, send it the same syslog (TCP) or JSON (HTTP) events, and report msgs/s until stored, CPU µs/msg, peak RSS and disk bytes per message",
		Long: `Start each receiver in turn as a child process on loopback, send it the
same generated events and measure until every one is stored: messages per
second from the first byte sent to the last event stored, the receiver's
CPU time per message, its peak RSS, and its disk use per message after a
clean stop (the whole data dir, and the store alone).

Receivers: vigil (defaults: durable bus, store, built-in rules),
vigil-sigmahq (also every SigmaHQ rule folder, rules*, of --sigmahq),
vigil-nodetect, vigil-fsync (--bus-sync-always), vigil-nooriginal,
vigil-encrypted (the data dir encrypted at rest, encryption.key_file),
rsyslog (rsyslogd writing a file), victorialogs (a VictoriaLogs server).
--compare LABEL=BINARY runs the vigil receivers of another build too, in
the same run (before/after). --repeat runs the whole list again and
prints the median of each receiver.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			builds := []struct{ label, bin string }{{"", self}}
			for _, c := range compare {
				label, bin, ok := strings.Cut(c, "=")
				if !ok {
					return fmt.Errorf("--compare %q: want LABEL=BINARY", c)
				}
				builds = append(builds, struct{ label, bin string }{label, bin})
			}
			var sigmaDirs []string
			if sigmahq != "" {
				sigmaDirs, _ = filepath.Glob(filepath.Join(sigmahq, "rules*"))
			}
			make := func(name, tr string) ([]bench.Target, error) {
				var ts []bench.Target
				vigil := func(f func(v *bench.Vigil)) {
					for _, b := range builds {
						v := &bench.Vigil{Bin: b.bin, Label: b.label}
						f(v)
						v.Args = append(v.Args, vigilArgs...)
						ts = append(ts, v)
					}
				}
				switch name {
				case "vigil":
					vigil(func(*bench.Vigil) {})
				case "vigil-sigmahq":
					if len(sigmaDirs) == 0 {
						return nil, fmt.Errorf("vigil-sigmahq: no rules* folders under --sigmahq %q (a SigmaHQ checkout)", sigmahq)
					}
					vigil(func(v *bench.Vigil) { v.Rules, v.Placeholders = sigmaDirs, ph })
				case "vigil-fsync":
					vigil(func(v *bench.Vigil) { v.SyncAlways = true })
				case "vigil-nodetect":
					vigil(func(v *bench.Vigil) { v.NoDetect = true })
				case "vigil-encrypted":
					vigil(func(v *bench.Vigil) { v.Encrypted = true })
				case "vigil-nooriginal":
					vigil(func(v *bench.Vigil) { v.Args = []string{"--ingest-keep-original=false"} })
				case "rsyslog":
					if tr != "tcp" {
						return nil, nil
					}
					bin, err := exec.LookPath(rsBin)
					if err != nil {
						return nil, fmt.Errorf("rsyslogd not found (%s): apt-get install rsyslog", rsBin)
					}
					ts = append(ts, &bench.Rsyslog{Bin: bin})
				case "victorialogs":
					bin, err := exec.LookPath(vlBin)
					if err != nil {
						return nil, fmt.Errorf("victoria-logs not found (%s): go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1", vlBin)
					}
					ts = append(ts, &bench.VictoriaLogs{Bin: bin})
				default:
					return nil, fmt.Errorf("unknown target %q: want vigil, vigil-sigmahq, vigil-nodetect, vigil-fsync, vigil-nooriginal, vigil-encrypted, rsyslog, victorialogs", name)
				}
				return ts, nil
			}
			var results []bench.Result
			for run := 1; run <= repeat; run++ {
				for _, tr := range transports {
					for _, name := range targets {
						ts, err := make(name, tr)
						if err != nil {
							return err
						}
						for _, t := range ts {
							dir, err := os.MkdirTemp("", "vigil-bench-")
							if err != nil {
								return err
							}
							c := cfg
							c.Transport = tr
							if _, ok := t.(bench.Profiler); ok && profileDir != "" {
								pf, err := os.Create(filepath.Join(profileDir, fmt.Sprintf("%s-%s-%d.pprof", fileName(t.Name()), tr, run)))
								if err != nil {
									return err
								}
								defer pf.Close()
								c.Profile = pf
							}
							if _, ok := t.(bench.AllocProfiler); ok && profileDir != "" {
								af, err := os.Create(filepath.Join(profileDir, fmt.Sprintf("%s-%s-%d.allocs.pprof", fileName(t.Name()), tr, run)))
								if err != nil {
									return err
								}
								defer af.Close()
								c.AllocProfile = af
							}
							load := loadAverage()
							fmt.Fprintf(cmd.ErrOrStderr(), "run %d/%d: %s over %s, %d %s events, load average %s\n", run, repeat, t.Name(), tr, c.Events, c.Workload, load)
							r, err := bench.Run(cmd.Context(), t, dir, c)
							r.Load = load
							if !keep {
								os.RemoveAll(dir)
							}
							if err != nil {
								return err
							}
							fmt.Fprintf(cmd.ErrOrStderr(), "  %.0f msgs/s, %.1f CPU µs/msg, %.1f allocs/msg (%.0f B), peak RSS %.0f MiB, %.1f disk B/msg (store %.1f)\n",
								r.EventsPerSec, r.CPUMicrosPerEvent(), r.AllocsPerEvent(), r.AllocBytesPerEvent(), float64(r.PeakRSS)/(1<<20), r.BytesPerEvent(), r.StoreBytesPerEvent())
							results = append(results, r)
						}
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d %s events per run, %d connections, %d CPUs, %s\n\n", cfg.Events, cfg.Workload, cfg.Conns, runtime.NumCPU(), time.Now().Format(time.RFC3339))
			fmt.Fprint(cmd.OutOrStdout(), bench.Markdown(results))
			if repeat > 1 {
				fmt.Fprintf(cmd.OutOrStdout(), "\nMedian of %d runs:\n\n", repeat)
				fmt.Fprint(cmd.OutOrStdout(), bench.Markdown(medians(results)))
			}
			return nil
		},
	}
	f := ingest.Flags()
	f.StringSliceVar(&targets, "target", []string{"vigil", "vigil-sigmahq", "victorialogs", "rsyslog"}, "receivers: vigil, vigil-sigmahq, vigil-nodetect, vigil-fsync, vigil-nooriginal, vigil-encrypted (data dir encrypted at rest), rsyslog, victorialogs")
	f.StringSliceVar(&transports, "transport", []string{"tcp"}, "transports: tcp (octet-counted RFC 5424 syslog), http (NDJSON)")
	f.StringVar(&cfg.Workload, "workload", bench.WorkloadOpenSSH, "events: openssh (sshd messages) or mix (sshd, sudo, PAM, firewall, application)")
	f.IntVar(&cfg.Events, "events", 1_000_000, "events per run")
	f.IntVar(&cfg.Conns, "conns", 2, "TCP connections or concurrent HTTP clients")
	f.IntVar(&cfg.Batch, "batch", 1000, "events per HTTP request")
	f.Uint64Var(&cfg.Seed, "seed", 1, "generator seed")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up on a run after this long")
	f.IntVar(&repeat, "repeat", 1, "run every receiver this many times, interleaved, and print the medians")
	f.StringSliceVar(&compare, "compare", nil, "LABEL=BINARY: also run the vigil receivers with another build (e.g. before=/tmp/vigil-old)")
	f.StringVar(&sigmahq, "sigmahq", filepath.Join("..", "shared", "corpora", "sigmahq"), "a SigmaHQ checkout: vigil-sigmahq loads all its rules* folders")
	f.StringVar(&ph, "sigma-placeholders", "", "placeholder file for SigmaHQ's rules-placeholder (without it those rules are rejected and reported)")
	f.StringVar(&vlBin, "victoria-logs", filepath.Join(gobin(), "victoria-logs"), "victoria-logs binary")
	f.StringVar(&rsBin, "rsyslogd", "rsyslogd", "rsyslogd binary")
	f.BoolVar(&keep, "keep", false, "keep the receivers' data dirs")
	f.StringVar(&profileDir, "profile", "", "directory for CPU profiles of the vigil and VictoriaLogs receivers, taken while they ingest, and vigil's allocation profiles of the whole run (*.allocs.pprof; go tool pprof -sample_index=alloc_space FILE)")
	f.StringArrayVar(&vigilArgs, "vigil-arg", nil, "one more flag for every vigil receiver's serve command (repeatable), e.g. --vigil-arg=--bus-max-bytes=4MiB")
	f.IntVar(&cfg.ProfileSeconds, "profile-seconds", 10, "length of each CPU profile")
	cmd.AddCommand(ingest, benchPrivacyCmd())
	return cmd
}

func benchPrivacyCmd() *cobra.Command {
	var (
		dir, profile, start string
		keep                bool
		opt                 simulate.PlanOptions
		cfg                 bench.PrivacyConfig
	)
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Import a simulated hospital's EHR access log into a server and report accesses/s until explained, stored and through the rules, CPU µs/access and peak RSS",
		Long: `Generate a hospital's history with the simulator (by default a 300-bed hospital
over 85 days, about 1,000,000 record accesses) as the files a hospital would
load: the HR roster, the ADT messages and the EHR access log (Epic-style CSV).
Then start vigil serve on loopback, load the roster (vigil workforce import)
and the ADT history (vigil hl7 send over MLLP), and time vigil ehr import of
the access log until every access is stored and has passed the detector (the
explanation runs before an access is stored, the privacy and Sigma rules in
the detector): accesses per second from the first request to the last access
through the detector, the server's CPU time per access, its peak RSS, how
many accesses were explained and the privacy alerts raised.

The files are kept in --dir and reused by later runs with the same flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			loc, err := time.LoadLocation(cfg.Timezone)
			if err != nil {
				return fmt.Errorf("--timezone: %w", err)
			}
			if opt.Start, err = time.Parse(time.RFC3339, start); err != nil {
				return fmt.Errorf("--start: %w", err)
			}
			opt.Location, opt.Incidents = loc, true
			status := cmd.ErrOrStderr()
			if dir == "" {
				dir = filepath.Join(os.TempDir(), fmt.Sprintf("vigil-bench-privacy-%d-%d-%s-%g", opt.Seed, opt.Beds, opt.Span, opt.Activity))
			}
			accesses, err := countRows(filepath.Join(dir, simulate.ExportAccesses))
			if err != nil {
				fmt.Fprintf(status, "generating the hospital into %s\n", dir)
				st, err := simulate.Export(simulate.NewPlan(opt), dir)
				if err != nil {
					return err
				}
				accesses = st.Accesses
				fmt.Fprintf(status, "  %d workers, %d HL7 messages, %d record accesses, %d incidents\n", st.Workers, st.Messages, st.Accesses, st.Incidents)
			}
			cfg.Bin, cfg.Dir, cfg.Accesses, cfg.Status = self, dir, accesses, status
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				cfg.Profile = f
			}
			data, err := os.MkdirTemp("", "vigil-bench-privacy-data-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(data)
			}
			fmt.Fprintf(status, "importing %d accesses from %s, load average %s\n", accesses, dir, loadAverage())
			r, err := bench.RunPrivacy(cmd.Context(), data, cfg)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d accesses (seed %d, %d beds, %s, activity %g), %d CPUs, load average %s at the start, %s at the end, %s\n\n",
				r.Accesses, opt.Seed, opt.Beds, opt.Span, opt.Activity, runtime.NumCPU(), r.Load, r.LoadAfter, time.Now().UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "| what | figure |\n|---|---|\n")
			fmt.Fprintf(w, "| accesses/s (import start to the last access stored and through the rules) | %.0f |\n", r.AccessesPerSec)
			fmt.Fprintf(w, "| wall time: import command / until all through | %.1f s / %.1f s |\n", r.ImportSeconds, r.Seconds)
			fmt.Fprintf(w, "| server CPU per access | %.1f µs (%.0f accesses per CPU-second) |\n", r.CPUMicrosPerAccess(), float64(r.Accesses)/r.CPUSeconds)
			fmt.Fprintf(w, "| import command CPU per access | %.1f µs |\n", r.ImportCPUSeconds*1e6/float64(r.Accesses))
			fmt.Fprintf(w, "| server peak RSS | %.0f MiB |\n", float64(r.PeakRSS)/(1<<20))
			fmt.Fprintf(w, "| explained / unexplained | %d / %d |\n", r.Explained, r.Unexplained)
			fmt.Fprintf(w, "| privacy alerts raised | %d |\n", r.PrivacyAlerts)
			fmt.Fprintf(w, "| ADT history before (not timed above) | %d messages in %.1f s |\n", r.ADTMessages, r.ADTSeconds)
			if r.Explained+r.Unexplained < int64(r.Accesses) {
				return fmt.Errorf("only %d of %d accesses were judged by the privacy engine", r.Explained+r.Unexplained, r.Accesses)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "where the generated files are kept (and reused when present; default: a folder named for the flags under the temp dir)")
	f.Uint64Var(&opt.Seed, "seed", 31, "the hospital's seed")
	f.IntVar(&opt.Beds, "beds", 300, "the hospital's inpatient beds (staff and patients follow)")
	f.DurationVar(&opt.Span, "span", 85*24*time.Hour, "the simulated period")
	f.Float64Var(&opt.Activity, "activity", 5, "multiplier of the clinical activity (5 with the defaults: about 1,000,000 accesses)")
	f.IntVar(&opt.Rounds, "rounds", 3, "rounds of injected privacy incidents")
	f.StringVar(&start, "start", "2026-08-03T06:00:00Z", "the simulated start (RFC 3339)")
	f.StringVar(&cfg.Timezone, "timezone", "UTC", "the hospital's time zone (the server's detect.timezone)")
	f.DurationVar(&cfg.Timeout, "timeout", 60*time.Minute, "give up after this long")
	f.StringVar(&profile, "profile", "", "write a CPU profile of the server, taken during the import, to this file (go tool pprof FILE)")
	f.IntVar(&cfg.ProfileSeconds, "profile-seconds", 30, "length of the CPU profile")
	f.StringSliceVar(&cfg.Args, "serve-args", nil, "more flags for vigil serve")
	f.BoolVar(&keep, "keep", false, "keep the server's data dir")
	return cmd
}

// countRows counts the data rows of a CSV file (its lines but the header).
func countRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n - 1, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// medians is the median result of each receiver and transport.
func medians(rs []bench.Result) []bench.Result {
	groups := map[string][]bench.Result{}
	var order []string
	for _, r := range rs {
		k := r.Target + "\x00" + r.Transport
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []bench.Result
	for _, k := range order {
		g := groups[k]
		sort.Slice(g, func(i, j int) bool { return g[i].EventsPerSec < g[j].EventsPerSec })
		out = append(out, g[len(g)/2])
	}
	return out
}

// fileName makes a receiver's name usable in a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// loadAverage is the machine's load average, as uptime shows it.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func gobin() string {
	if b := os.Getenv("GOBIN"); b != "" {
		return b
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(strings.Split(p, ":")[0], "bin")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "bin")
}

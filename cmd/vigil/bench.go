package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/bench"
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
					return nil, fmt.Errorf("unknown target %q: want vigil, vigil-sigmahq, vigil-nodetect, vigil-fsync, vigil-nooriginal, rsyslog, victorialogs", name)
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
							if profileDir != "" {
								pf, err := os.Create(filepath.Join(profileDir, fmt.Sprintf("%s-%s-%d.pprof", fileName(t.Name()), tr, run)))
								if err != nil {
									return err
								}
								defer pf.Close()
								c.Profile = pf
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
							fmt.Fprintf(cmd.ErrOrStderr(), "  %.0f msgs/s, %.1f CPU µs/msg, peak RSS %.0f MiB, %.1f disk B/msg (store %.1f)\n",
								r.EventsPerSec, r.CPUMicrosPerEvent(), float64(r.PeakRSS)/(1<<20), r.BytesPerEvent(), r.StoreBytesPerEvent())
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
	f.StringSliceVar(&targets, "target", []string{"vigil", "vigil-sigmahq", "victorialogs", "rsyslog"}, "receivers: vigil, vigil-sigmahq, vigil-nodetect, vigil-fsync, vigil-nooriginal, rsyslog, victorialogs")
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
	f.StringVar(&profileDir, "profile", "", "directory for CPU profiles of the vigil receivers, taken while they ingest (go tool pprof FILE)")
	f.IntVar(&cfg.ProfileSeconds, "profile-seconds", 10, "length of each CPU profile")
	cmd.AddCommand(ingest)
	return cmd
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

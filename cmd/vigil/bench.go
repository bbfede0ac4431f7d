package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/bench"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Load tools that measure Vigil (and peers) end to end"}
	var (
		targets, transports []string
		cfg                 bench.Config
		vlBin, rsBin        string
		keep                bool
	)
	ingest := &cobra.Command{
		Use:   "ingest",
		Short: "Start each receiver, send it the same events over TCP syslog and/or HTTP, and report events/s until stored, disk bytes per event and peak RSS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			var results []bench.Result
			for _, tr := range transports {
				for _, name := range targets {
					var t bench.Target
					switch name {
					case "vigil":
						t = &bench.Vigil{Bin: self}
					case "vigil-fsync":
						t = &bench.Vigil{Bin: self, SyncAlways: true}
					case "vigil-nodetect":
						t = &bench.Vigil{Bin: self, NoDetect: true}
					case "vigil-nooriginal":
						t = &bench.Vigil{Bin: self, Args: []string{"--ingest-keep-original=false"}}
					case "rsyslog":
						if tr != "tcp" {
							continue
						}
						bin, err := exec.LookPath(rsBin)
						if err != nil {
							return fmt.Errorf("rsyslogd not found (%s): apt-get install rsyslog", rsBin)
						}
						t = &bench.Rsyslog{Bin: bin}
					case "victorialogs":
						bin, err := exec.LookPath(vlBin)
						if err != nil {
							return fmt.Errorf("victoria-logs not found (%s): go install github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1", vlBin)
						}
						t = &bench.VictoriaLogs{Bin: bin}
					default:
						return fmt.Errorf("unknown target %q: want vigil, vigil-nodetect, vigil-fsync, rsyslog, victorialogs", name)
					}
					dir, err := os.MkdirTemp("", "vigil-bench-")
					if err != nil {
						return err
					}
					c := cfg
					c.Transport = tr
					fmt.Fprintf(cmd.ErrOrStderr(), "%s over %s: %d events…\n", t.Name(), tr, c.Events)
					r, err := bench.Run(cmd.Context(), t, dir, c)
					if !keep {
						os.RemoveAll(dir)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "  %.0f events/s, %.0f events per CPU-second, %.1f bytes/event on disk, peak RSS %.0f MiB\n", r.EventsPerSec, r.EventsPerCPUSecond(), r.BytesPerEvent(), float64(r.PeakRSS)/(1<<20))
					results = append(results, r)
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), bench.Markdown(results))
			return nil
		},
	}
	f := ingest.Flags()
	f.StringSliceVar(&targets, "target", []string{"vigil"}, "receivers: vigil, vigil-nodetect, vigil-fsync, rsyslog, victorialogs")
	f.StringSliceVar(&transports, "transport", []string{"tcp", "http"}, "transports: tcp (octet-counted syslog), http (NDJSON)")
	f.IntVar(&cfg.Events, "events", 1_000_000, "events per run")
	f.IntVar(&cfg.Conns, "conns", 4, "TCP connections or concurrent HTTP clients")
	f.IntVar(&cfg.Batch, "batch", 1000, "events per HTTP request")
	f.Uint64Var(&cfg.Seed, "seed", 1, "generator seed")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "give up on a run after this long")
	f.StringVar(&vlBin, "victoria-logs", filepath.Join(gobin(), "victoria-logs"), "victoria-logs binary")
	f.StringVar(&rsBin, "rsyslogd", "rsyslogd", "rsyslogd binary")
	f.BoolVar(&keep, "keep", false, "keep the receivers' data dirs")
	cmd.AddCommand(ingest)
	return cmd
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

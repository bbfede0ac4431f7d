package engine

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/detect/sigma"
	"github.com/vigil-siem/vigil/internal/detect/sigma/eventfile"
	"github.com/vigil-siem/vigil/internal/event"
)

// benchStream is the mixed Windows stream of the benchmarks: the shared
// regression events (converted to the Winlogbeat layout Vigil stores) and
// generated benign Sysmon and Security events, 1 regression event in 10.
func benchStream(tb testing.TB) []event.Event {
	c := corpusDir(tb)
	var reg []event.Event
	_ = filepath.WalkDir(filepath.Join(c, "regression_data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return eventfile.Read(f, func(ev *event.Event) error {
			if eventfile.Detect(ev) == eventfile.FormatEvtxDump {
				eventfile.EvtxToWinlog(ev)
			}
			reg = append(reg, ev.Clone())
			return nil
		})
	})
	rng := rand.New(rand.NewSource(7))
	images := []string{`C:\Windows\System32\svchost.exe`, `C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Windows\explorer.exe`,
		`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `C:\Windows\System32\conhost.exe`, `C:\Program Files\Epic\Hyperspace\Hyperspace.exe`}
	users := []string{`HOSP\nurse01`, `HOSP\drsmith`, `NT AUTHORITY\SYSTEM`, `HOSP\radiology`}
	var out []event.Event
	for i := 0; len(out) < 5000; i++ {
		if i%10 == 0 && len(reg) > 0 {
			out = append(out, reg[(i/10)%len(reg)].Clone())
			continue
		}
		var ev event.Event
		img := images[rng.Intn(len(images))]
		switch rng.Intn(4) {
		case 0, 1:
			ev.Add("winlog.channel", "Microsoft-Windows-Sysmon/Operational")
			ev.Add("winlog.provider_name", "Microsoft-Windows-Sysmon")
			ev.Add("winlog.event_id", "1")
			ev.Add("winlog.event_data.Image", img)
			ev.Add("winlog.event_data.CommandLine", fmt.Sprintf(`"%s" --type=renderer --field-trial-handle=%d --lang=en-US /prefetch:%d`, img, rng.Int63(), rng.Intn(9)))
			ev.Add("winlog.event_data.ParentImage", images[rng.Intn(len(images))])
			ev.Add("winlog.event_data.ParentCommandLine", images[rng.Intn(len(images))])
			ev.Add("winlog.event_data.OriginalFileName", filepath.Base(img))
			ev.Add("winlog.event_data.CurrentDirectory", `C:\Windows\system32\`)
			ev.Add("winlog.event_data.User", users[rng.Intn(len(users))])
			ev.Add("winlog.event_data.IntegrityLevel", "Medium")
			ev.Add("winlog.event_data.Hashes", fmt.Sprintf("SHA256=%064X", rng.Int63()))
			ev.Add("winlog.event_data.ProcessId", fmt.Sprint(rng.Intn(60000)))
		case 2:
			ev.Add("winlog.channel", "Microsoft-Windows-Sysmon/Operational")
			ev.Add("winlog.provider_name", "Microsoft-Windows-Sysmon")
			ev.Add("winlog.event_id", "11")
			ev.Add("winlog.event_data.Image", img)
			ev.Add("winlog.event_data.TargetFilename", fmt.Sprintf(`C:\Users\nurse01\AppData\Local\Temp\chart_%d.tmp`, rng.Intn(1e6)))
		default:
			ev.Add("winlog.channel", "Security")
			ev.Add("winlog.provider_name", "Microsoft-Windows-Security-Auditing")
			ev.Add("winlog.event_id", "4624")
			ev.Add("winlog.event_data.TargetUserName", "nurse01")
			ev.Add("winlog.event_data.LogonType", "3")
			ev.Add("winlog.event_data.IpAddress", fmt.Sprintf("10.1.%d.%d", rng.Intn(255), rng.Intn(255)))
			ev.Add("winlog.event_data.WorkstationName", "WS-ICU-04")
		}
		ev.Add("event.module", "windows")
		ev.Add("host.name", "WS-ICU-04")
		out = append(out, ev)
	}
	return out
}

func subset(rs *sigma.RuleSet, n int) *sigma.RuleSet {
	if n <= 0 || n >= len(rs.Rules) {
		return rs
	}
	// Windows rules first (the stream is Windows), spread over the set.
	var win []*sigma.Rule
	for _, r := range rs.Rules {
		if r.LogSource.Product == "windows" {
			win = append(win, r)
		}
	}
	out := &sigma.RuleSet{}
	step := len(win) / n
	for i := 0; i < len(win) && len(out.Rules) < n; i += step {
		out.Rules = append(out.Rules, win[i])
	}
	return out
}

func BenchmarkMatch(b *testing.B) {
	rs := loadCorpus(b)
	stream := benchStream(b)
	size := 0
	for i := range stream {
		for _, f := range stream[i].Fields {
			size += len(f.Name) + len(f.Value)
		}
	}
	for _, n := range []int{100, 1000, 0} {
		for _, naive := range []bool{false, true} {
			name := fmt.Sprintf("rules=%d/compiled", n)
			if n == 0 {
				name = fmt.Sprintf("rules=all(%d)/compiled", len(rs.Rules))
			}
			if naive {
				name = name[:len(name)-len("compiled")] + "naive"
			}
			b.Run(name, func(b *testing.B) {
				e := mustCompile(b, subset(rs, n), "vigil", Options{DisablePrefilter: naive})
				w := e.NewWorker()
				matches := 0
				fn := func(*Match) { matches++ }
				// Warm up: automata for each combination of log sources are
				// built on first use.
				for i := range stream {
					w.Match(&stream[i], fn)
				}
				w.Flush()
				b.SetBytes(int64(size / len(stream)))
				b.ReportAllocs()
				runtime.GC() // collect compile garbage before timing
				cpu0 := cputime.Self()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.Match(&stream[i%len(stream)], fn)
				}
				b.StopTimer()
				cpu := cputime.Self() - cpu0
				w.Flush()
				st := e.Stats()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				// On a shared machine wall time includes waiting for a core;
				// the process's own CPU time gives the rate per busy core.
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
				b.ReportMetric(float64(st.Evaluations)/float64(st.Events), "evals/event")
			})
		}
	}
}

// maxCompiledMB bounds the heap the compiled SigmaHQ set keeps (rules,
// routes, prefilter, searchers): loaded and compiled, the set kept 106 MB
// before the leaves' dense automata were replaced and build-only data
// dropped; the engine alone keeps about 21 MB now. Every
// megabyte of it is walked by each garbage collection for the life of
// the server, and counts against its memory limit.
const maxCompiledMB = 40

// TestNoAllocNoMatch checks that an event matching nothing allocates
// nothing, and that the compiled full rule set stays small.
func TestNoAllocNoMatch(t *testing.T) {
	rs := loadCorpus(t) // kept by the tests' cache: not part of the engine
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	e := mustCompile(t, rs, "vigil", Options{}) // its own, not corpusEngine's
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if mb := (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / 1e6; mb > maxCompiledMB {
		t.Errorf("the compiled rule set keeps %.1f MB of heap, want at most %d MB", mb, maxCompiledMB)
	} else {
		t.Logf("the compiled rule set keeps %.1f MB of heap", mb)
	}
	var ev event.Event
	ev.Add("winlog.channel", "Microsoft-Windows-Sysmon/Operational")
	ev.Add("winlog.event_id", "1")
	ev.Add("winlog.event_data.Image", `C:\Program Files\Epic\Hyperspace\Hyperspace.exe`)
	ev.Add("winlog.event_data.CommandLine", `"C:\Program Files\Epic\Hyperspace\Hyperspace.exe" /env PRD`)
	ev.Add("winlog.event_data.ParentImage", `C:\Windows\explorer.exe`)
	w := e.NewWorker()
	fn := func(m *Match) { t.Errorf("unexpected match %s", m.Rule.Title) }
	w.Match(&ev, fn)
	n := testing.AllocsPerRun(100, func() {
		if w.Match(&ev, fn) != 0 {
			t.Fatal("matched")
		}
	})
	if n != 0 {
		t.Errorf("got %.1f allocations per event, want 0", n)
	}
}

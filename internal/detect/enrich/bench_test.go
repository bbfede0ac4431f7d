package enrich

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
)

// A populated directory for the benchmarks: 2,000 workers and 5,000
// patients, each admitted once with an attending and two nurses.
const (
	benchWorkers  = 2000
	benchPatients = 5000
)

var (
	benchOnce sync.Once
	benchDir  *directory.Store
	benchErr  error
)

func benchDirectory(b *testing.B) *directory.Store {
	benchOnce.Do(func() {
		dir, err := benchTempDir()
		if err != nil {
			benchErr = err
			return
		}
		d, err := db.Open(filepath.Join(dir, "vigil.db"))
		if err != nil {
			benchErr = err
			return
		}
		ctx := context.Background()
		s, err := directory.New(ctx, d)
		if err != nil {
			benchErr = err
			return
		}
		var csv strings.Builder
		csv.WriteString("employee_id,ehr_user_id,provider_id,family_name,given_name,address,postal_code,phone,department,role,termination_date\n")
		for i := 0; i < benchWorkers; i++ {
			term := ""
			if i%50 == 0 {
				term = "2024-01-31"
			}
			fmt.Fprintf(&csv, "E%d,user%d,P%d,Fam%d,Giv%d,%d Main St,627%02d,217555%04d,Dept%d,Nurse,%s\n", i, i, i, i%700, i, i, i%100, i, i%20, term)
		}
		if _, err := s.ImportWorkforce(ctx, strings.NewReader(csv.String()), directory.ImportOptions{}); err != nil {
			benchErr = err
			return
		}
		for i := 0; i < benchPatients; i++ {
			vip := ""
			if i%100 == 0 {
				vip = "VIP"
			}
			f := make([]string, 46)
			f[0], f[1], f[2], f[3], f[7], f[16] = "PV1", "1", "I", "4W^1^A^GH", fmt.Sprintf("P%d", i%benchWorkers), vip
			f[19], f[44] = fmt.Sprintf("V%d^^^GH^VN", i), "20240301080000"
			msg := strings.Join([]string{
				fmt.Sprintf("MSH|^~\\&|EHR|GH|VIGIL|SEC|20240301080000||ADT^A01^ADT_A01|B%d|P|2.5.1", i),
				"EVN|A01|20240301080000",
				fmt.Sprintf("PID|1||MRN%d^^^GH^MR||Fam%d^Pat%d||19700101|F|||%d Side Rd^^Town^IL^627%02d", i, i%900, i, i, i%100),
				fmt.Sprintf("NK1|1|Fam%d^Giv%d|SPO", i%700, (i*7)%benchWorkers),
				strings.TrimRight(strings.Join(f, "|"), "|"),
				fmt.Sprintf("ROL|1|AD|RN^Nurse^HL70443|P%d|20240301080000", (i+1)%benchWorkers),
				fmt.Sprintf("ROL|2|AD|RN^Nurse^HL70443|P%d|20240301080000", (i+2)%benchWorkers),
			}, "\r")
			m, err := hl7.Parse([]byte(msg), hl7.Limits{})
			if err != nil {
				benchErr = err
				return
			}
			a, err := hl7.ExtractADT(m, time.UTC)
			if err != nil {
				benchErr = err
				return
			}
			if _, err := s.ApplyADT(ctx, a); err != nil {
				benchErr = err
				return
			}
		}
		benchDir = s
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func benchTempDir() (string, error) {
	return filepathTemp()
}

// benchEvents builds n events of a kind, as sources store them.
func benchEvents(kind string, n int, rng *rand.Rand, patients int) []event.Event {
	evs := make([]event.Event, n)
	at := time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := range evs {
		ev := &evs[i]
		ev.Time = at.Add(time.Duration(i) * time.Second)
		switch kind {
		case "other":
			for _, f := range [][2]string{{"event.module", "syslog"}, {"event.dataset", "syslog"}, {"host.name", "web01"},
				{"log.syslog.facility.code", "3"}, {"log.syslog.severity.code", "6"}, {"process.name", "nginx"}, {"process.pid", "812"},
				{"message", "GET /index.html 200"}, {"source.ip", "10.0.0.5"}, {"event.original", "<30>Mar  2 10:00:00 web01 nginx[812]: GET /index.html 200"}} {
				ev.Add(f[0], f[1])
			}
		case "auth":
			u := rng.IntN(benchWorkers)
			for _, f := range [][2]string{{"event.module", "windows"}, {"event.category", "authentication"}, {"event.code", "4624"},
				{"winlog.channel", "Security"}, {"winlog.event_id", "4624"}, {"host.name", "ws-12"}, {"user.name", fmt.Sprintf("user%d", u)},
				{"user.domain", "GH"}, {"source.ip", "10.1.2.3"}, {"winlog.event_data.LogonType", "2"}} {
				ev.Add(f[0], f[1])
			}
		case "access":
			p := rng.IntN(patients)
			u := (p + 1 + rng.IntN(3)) % benchWorkers // a care-team member mostly
			if rng.IntN(10) == 0 {
				u = rng.IntN(benchWorkers)
			}
			for _, f := range [][2]string{{"event.module", "ehr"}, {"event.dataset", "ehr.access"}, {"event.kind", "event"},
				{"event.category", "database"}, {"event.type", "access"}, {"event.action", "chart-review"}, {"host.name", "ws-12"},
				{"user.name", fmt.Sprintf("user%d", u)}, {"healthcare.patient.id", fmt.Sprintf("MRN%d", p)},
				{"message", "Epic access chart-review by user"}, {"log.file.path", "/exports/access.csv"}} {
				ev.Add(f[0], f[1])
			}
		}
	}
	return evs
}

func benchSize(evs []event.Event) int64 {
	n := 0
	for i := range evs {
		n += len(event.AppendJSON(nil, &evs[i]))
	}
	return int64(n / len(evs))
}

// BenchmarkEnrich measures Enrich on a populated directory:
//   - other: events of non-healthcare sources (no lookup at all);
//   - auth: Windows logons of 2,000 users (worker cache warm);
//   - access-warm: EHR accesses to 500 patients (caches warm);
//   - access-cold: EHR accesses to 5,000 patients through caches of 500
//     entries (mostly misses: SQLite reads);
//   - mixed: 70% other, 10% auth, 20% access to 2,000 patients.
func BenchmarkEnrich(b *testing.B) {
	dir := benchDirectory(b)
	ctx := context.Background()
	run := func(name string, cacheSize int, evs []event.Event) {
		b.Run(name, func(b *testing.B) {
			e, err := New(Config{Directory: dir, Location: time.UTC, CacheSize: cacheSize, CacheTTL: time.Hour, NegativeTTL: time.Hour,
				RefreshAfter: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			lens := make([]int, len(evs))
			for i := range evs {
				lens[i] = len(evs[i].Fields)
				e.Enrich(ctx, &evs[i]) // warm
				evs[i].Fields = evs[i].Fields[:lens[i]]
			}
			b.SetBytes(benchSize(evs))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ev := &evs[i%len(evs)]
				ev.Fields = ev.Fields[:lens[i%len(evs)]]
				e.Enrich(ctx, ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	run("other", 20000, benchEvents("other", 1000, rng, 0))
	run("auth", 20000, benchEvents("auth", 4000, rng, 0))
	run("access-warm", 20000, benchEvents("access", 4000, rng, 500))
	run("access-cold", 500, benchEvents("access", 20000, rng, benchPatients))
	var mixed []event.Event
	for _, k := range []struct {
		kind string
		n    int
	}{{"other", 7000}, {"auth", 1000}, {"access", 2000}} {
		mixed = append(mixed, benchEvents(k.kind, k.n, rng, 2000)...)
	}
	rng.Shuffle(len(mixed), func(i, j int) { mixed[i], mixed[j] = mixed[j], mixed[i] })
	run("mixed", 20000, mixed)
}

func filepathTemp() (string, error) { return os.MkdirTemp("", "vigil-enrich-bench-") }

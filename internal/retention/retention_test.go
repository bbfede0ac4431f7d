package retention

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/store"
)

type rig struct {
	store  *store.Embedded
	ledger *integrity.Ledger
	key    *integrity.Key
	m      *Manager
	seq    uint64
	mu     sync.Mutex
	audit  []string
}

func newRig(t *testing.T, policies []string, retention time.Duration) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{}
	var err error
	if r.store, err = store.Open(filepath.Join(dir, "store"), store.Config{KeepPartitions: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.store.Close)
	if r.ledger, err = integrity.OpenLedger(context.Background(), filepath.Join(dir, "integrity.db"), integrity.LedgerOptions{RowTime: r.store.RowTime}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ledger.Close() })
	if r.key, _, err = integrity.LoadOrCreateKey(filepath.Join(dir, "keys")); err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var ps []Policy
	for _, p := range policies {
		pol, err := ParsePolicy(p)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, pol)
	}
	r.m = &Manager{DB: d, Store: r.store, Ledger: r.ledger, Policies: ps, Retention: retention,
		Audit: func(_ context.Context, action, target, outcome string, details map[string]string) error {
			keys := make([]string, 0, len(details))
			for k := range details {
				keys = append(keys, k+"="+details[k])
			}
			sort.Strings(keys)
			r.mu.Lock()
			r.audit = append(r.audit, fmt.Sprintf("%s %s %s %s", action, target, outcome, strings.Join(keys, " ")))
			r.mu.Unlock()
			return nil
		}}
	if err := r.m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// add stores and seals a batch: events at the given ages, each
// "category/user".
func (r *rig) add(t *testing.T, specs ...string) {
	t.Helper()
	r.seq++
	var evs []event.Event
	for i, s := range specs {
		age, rest, _ := strings.Cut(s, " ")
		d, _ := time.ParseDuration(age)
		cat, user, _ := strings.Cut(rest, "/")
		e := event.Event{Time: time.Now().Add(-d)}
		e.Add("message", "event "+s)
		e.Add("event.category", cat)
		e.Add("user.name", user)
		e.Add(event.FieldID, fmt.Sprintf("%d-%d", r.seq, i))
		evs = append(evs, e)
	}
	r.ledger.Seal(r.seq, "test", evs)
	r.store.Add(evs)
	r.store.Flush()
	if err := r.ledger.Commit(context.Background(), r.seq); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) users(t *testing.T) []string {
	t.Helper()
	var out []string
	err := r.store.Search(context.Background(), store.Request{Query: "*", Start: time.Now().Add(-500 * 24 * time.Hour), End: time.Now().Add(time.Hour)}, func(row []event.Field) error {
		for _, f := range row {
			if f.Name == "user.name" {
				out = append(out, strings.Clone(f.Value))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func (r *rig) verify(t *testing.T, cut time.Time) {
	t.Helper()
	rep, err := integrity.Verify(context.Background(), r.ledger, integrity.VerifyOptions{PublicKey: r.key.Public, Store: r.store, RetentionCut: cut})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify after disposal: %d problems: %v", rep.ProblemsTotal, rep.Problems)
	}
}

const day = 24 * time.Hour

func TestPolicyDeletesExactlyWhatItShouldAndRecordsIt(t *testing.T) {
	r := newRig(t, []string{"firewall 90d event.category:network", "ehr 2190d event.category:ehr"}, 0)
	ctx := context.Background()
	r.add(t, "2400h network/fw-old-1", "2400h network/fw-old-2", "2400h ehr/ehr-old", "240h network/fw-new")
	r.add(t, "2500h network/fw-held", "1h ehr/ehr-new", "2500h auth/other-old")
	hold, err := r.m.AddHold(ctx, Hold{Name: "investigation 2026-04", Query: "user.name:fw-held", Reason: "subpoena 26-118", CreatedBy: "privacy.officer"})
	if err != nil {
		t.Fatal(err)
	}
	// A dry run counts and deletes nothing.
	plan, err := r.m.Run(ctx, true)
	if err != nil || len(plan) != 1 || plan[0].Events != 2 {
		t.Fatalf("dry run: %+v, %v", plan, err)
	}
	if got := len(r.users(t)); got != 7 {
		t.Fatalf("dry run deleted: %d events left", got)
	}
	ds, err := r.m.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Policy != "firewall" || ds[0].Events != 2 || fmt.Sprint(ds[0].Batches) != "[1]" || fmt.Sprint(ds[0].Holds) != fmt.Sprint([]int64{hold.ID}) {
		t.Fatalf("disposals %+v", ds)
	}
	if got := strings.Join(r.users(t), ","); got != "ehr-new,ehr-old,fw-held,fw-new,other-old" {
		t.Fatalf("left: %s", got)
	}
	// Recorded: the disposal log and the audit trail say what, when, under
	// which policy.
	logged, err := r.m.Disposals(ctx, time.Time{})
	if err != nil || len(logged) != 1 || logged[0].Finished.IsZero() || logged[0].Events != 2 || logged[0].Error != "" {
		t.Fatalf("disposal log %+v, %v", logged, err)
	}
	wantAudit := "retention.dispose events success batches=1 before=" + logged[0].Before.Format(time.RFC3339)
	var found bool
	for _, a := range r.audit {
		found = found || strings.HasPrefix(a, wantAudit) && strings.Contains(a, "events=2") && strings.Contains(a, "policy=firewall") && strings.Contains(a, "holds=[1]")
	}
	if !found {
		t.Fatalf("audit trail %q lacks %q", r.audit, wantAudit)
	}
	// The ledger resealed batch 1: verification accounts for every event.
	r.verify(t, time.Time{})
	// Running again deletes nothing more.
	if ds, err := r.m.Run(ctx, false); err != nil || len(ds) != 0 {
		t.Fatalf("second run: %+v, %v", ds, err)
	}
	// The hold released, its event goes too.
	if err := r.m.ReleaseHold(ctx, hold.ID, "privacy.officer", ""); err == nil {
		t.Fatal("released without a reason")
	}
	if err := r.m.ReleaseHold(ctx, hold.ID, "privacy.officer", "matter closed"); err != nil {
		t.Fatal(err)
	}
	if ds, err := r.m.Run(ctx, false); err != nil || len(ds) != 1 || ds[0].Events != 1 || len(ds[0].Holds) != 0 {
		t.Fatalf("after release: %+v, %v", ds, err)
	}
	if got := strings.Join(r.users(t), ","); got != "ehr-new,ehr-old,fw-new,other-old" {
		t.Fatalf("left after release: %s", got)
	}
	r.verify(t, time.Time{})
}

func TestStoreRetentionDropsDaysHoldsKeep(t *testing.T) {
	r := newRig(t, nil, 30*day)
	ctx := context.Background()
	r.add(t, "1200h auth/old-a", "1200h auth/old-b")
	r.add(t, "1400h auth/kept-by-hold", "1400h auth/old-c")
	r.add(t, "24h auth/recent")
	if _, err := r.m.AddHold(ctx, Hold{Name: "case 7", Query: "user.name:kept-by-hold", Case: "7", Reason: "breach investigation"}); err != nil {
		t.Fatal(err)
	}
	ds, err := r.m.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var dropped, filtered int
	for _, d := range ds {
		switch {
		case d.Partition != "" && d.Filter == "*":
			dropped++
		case d.Partition == "":
			filtered++
		}
	}
	if dropped != 0 || filtered != 2 {
		t.Fatalf("with a hold: %+v", ds)
	}
	if got := strings.Join(r.users(t), ","); got != "kept-by-hold,recent" {
		t.Fatalf("left: %s", got)
	}
	cut := time.Now().Add(-30 * day).Truncate(day)
	r.verify(t, cut)
	// Without holds, whole days are dropped.
	holds, _ := r.m.Holds(ctx, true)
	r.m.ReleaseHold(ctx, holds[0].ID, "x", "done")
	ds, err = r.m.Run(ctx, false)
	if err != nil || len(ds) != 1 || ds[0].Partition == "" || ds[0].Events != 1 {
		t.Fatalf("without holds: %+v, %v", ds, err)
	}
	if got := strings.Join(r.users(t), ","); got != "recent" {
		t.Fatalf("left: %s", got)
	}
	r.verify(t, cut)
}

func TestParsePolicyAndHoldErrors(t *testing.T) {
	for _, bad := range []string{"", "fw 90d", "fw 2h event.category:network", "f/w 90d x", "fw 90d x | delete"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
	p, err := ParsePolicy("ehr-access 2190d event.module:ehr event.action:view")
	if err != nil || p.Keep < 6*365*day || p.Filter != "event.module:ehr event.action:view" {
		t.Fatalf("%+v, %v", p, err)
	}
	r := newRig(t, nil, 0)
	ctx := context.Background()
	for _, h := range []Hold{{Name: "x", Query: "*", Reason: "r"}, {Name: "x", Query: "a:b", Reason: ""}, {Name: "", Query: "a:b", Reason: "r"}, {Name: "x", Query: "a:(", Reason: "r"}} {
		if _, err := r.m.AddHold(ctx, h); err == nil {
			t.Errorf("hold %+v accepted", h)
		}
	}
}

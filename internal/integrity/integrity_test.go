package integrity

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/bus/bustest"
	"github.com/vigil-siem/vigil/internal/dispatch"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/storewriter"
	"github.com/vigil-siem/vigil/internal/tsa"
	"github.com/vigil-siem/vigil/internal/tsa/tsatest"
)

// rig is a bus, a store, a ledger and a store writer sealing into it.
type rig struct {
	dir    string
	bus    *bus.Bus
	cons   *bus.Consumer
	store  *store.Embedded
	ledger *Ledger
	key    *Key
	writer *storewriter.Writer
	stop   func()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir()}
	r.bus, _ = bustest.Open(t, bus.Config{})
	// A short ack wait: a batch handed to a stopped writer's pending
	// fetch comes again soon to the next one.
	var err error
	if r.cons, err = r.bus.Consumer(context.Background(), "writer", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	r.openStore(t)
	r.ledger, err = OpenLedger(context.Background(), filepath.Join(r.dir, "integrity.db"), LedgerOptions{RowTime: r.store.RowTime})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ledger.Close() })
	if r.key, _, err = LoadOrCreateKey(filepath.Join(r.dir, "keys")); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) openStore(t *testing.T) {
	t.Helper()
	s, err := store.Open(filepath.Join(r.dir, "store"), store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.store = s
	t.Cleanup(func() {
		if r.store == s {
			s.Close()
		}
	})
}

// startWriter runs a store writer sealing into the ledger.
func (r *rig) startWriter(t *testing.T) {
	t.Helper()
	// As in the server: the bus reader hands the writer decoded batches.
	d := dispatch.New(r.cons, testLog(), dispatch.Config{})
	w, err := storewriter.New(storewriter.Config{Source: d.Subscribe("store-writer", 0), Store: r.store, StatePath: filepath.Join(r.dir, "writer.json"),
		FlushEvery: 50 * time.Millisecond, Sealer: r.ledger, Log: testLog(), Metrics: storewriter.NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	r.writer = w
	ctx, cancel := context.WithCancel(context.Background())
	dispatched := make(chan error, 1)
	go func() { dispatched <- d.Run(ctx) }()
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	r.stop = func() {
		cancel() // the writer ends when its queue closes
		if err := <-dispatched; err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.stop = nil
	}
	t.Cleanup(func() {
		if r.stop != nil {
			r.stop()
		}
	})
}

// publish sends n events per batch for each tag, and waits until the
// ledger has sealed them all.
func (r *rig) publish(t *testing.T, n int, tags ...string) {
	t.Helper()
	var last uint64
	for _, tag := range tags {
		var evs []event.Event
		for i := range n {
			e := event.Event{Time: time.Now().Add(-time.Minute).Add(time.Duration(i) * time.Millisecond)}
			e.Add("message", fmt.Sprintf("%s event number %d of the batch", tag, i))
			e.Add("user.name", fmt.Sprintf("user-%s-%d", tag, i))
			e.Add("test.tag", tag)
			evs = append(evs, e)
		}
		seq, err := r.bus.Publish(context.Background(), "test", event.AppendBatch(nil, evs))
		if err != nil {
			t.Fatal(err)
		}
		last = seq
	}
	deadline := time.Now().Add(15 * time.Second)
	for r.ledger.Head().Seq < last {
		if time.Now().After(deadline) {
			t.Fatalf("ledger head %d, want %d", r.ledger.Head().Seq, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) checkpoint(t *testing.T) *Signed {
	t.Helper()
	s, err := (&Checkpointer{Ledger: r.ledger, Key: r.key}).Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) verify(t *testing.T, opts VerifyOptions) *Report {
	t.Helper()
	opts.PublicKey = r.key.Public
	if opts.Store == nil {
		opts.Store = r.store
	}
	rep, err := Verify(context.Background(), r.ledger, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantOK(t *testing.T, rep *Report) {
	t.Helper()
	if !rep.OK() {
		t.Fatalf("verify found %d problems, first: %v", rep.ProblemsTotal, rep.Problems)
	}
}

func wantProblem(t *testing.T, rep *Report, kind, contains string) Problem {
	t.Helper()
	if rep.OK() {
		t.Fatalf("verify found nothing, want a %s problem", kind)
	}
	p := rep.Problems[0]
	if p.Kind != kind || !strings.Contains(p.String(), contains) {
		t.Fatalf("first problem %q (of %d: %v), want %s containing %q", p.String(), rep.ProblemsTotal, rep.Problems, kind, contains)
	}
	return p
}

func TestSealVerify(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 5, "a", "b", "c")
	r.checkpoint(t)
	r.publish(t, 3, "d")
	rep := r.verify(t, VerifyOptions{})
	wantOK(t, rep)
	if rep.Batches != 4 || rep.Events != 18 || rep.Entries != 4 || rep.Checkpoints != 1 || rep.Unsigned != 1 {
		t.Fatalf("report %+v: want 4 batches, 18 events, 4 entries, 1 checkpoint, 1 unsigned", rep)
	}
	cp := r.checkpoint(t)
	c, err := cp.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != 2 || c.Entries != 4 || c.Events != 18 || c.Seq != 4 {
		t.Fatalf("checkpoint %+v", c)
	}
	if again := r.checkpoint(t); again != nil {
		t.Fatal("a checkpoint of an unchanged head was written")
	}
	rep = r.verify(t, VerifyOptions{})
	wantOK(t, rep)
	if rep.Unsigned != 0 || rep.LastCheckpoint.Number != 2 {
		t.Fatalf("report %+v", rep)
	}
	// Since limits the scan.
	rep = r.verify(t, VerifyOptions{Since: time.Now().Add(time.Hour)})
	wantOK(t, rep)
	if rep.Batches != 0 {
		t.Fatalf("since in the future scanned %d batches", rep.Batches)
	}
}

func TestVerifyNamesRemovedEvent(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 4, "a", "b", "c")
	r.checkpoint(t)
	if err := r.store.Delete(context.Background(), `user.name:="user-b-2"`, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := wantProblem(t, r.verify(t, VerifyOptions{}), ProblemMissing, "missing event 2-2")
	if p.Seq != 2 || !strings.Contains(p.Detail, "sealed in batch 2") {
		t.Fatalf("problem %+v", p)
	}
}

func TestVerifyNamesAddedEvent(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 3, "a", "b")
	forged := event.Event{Time: time.Now().Add(-30 * time.Second)}
	forged.Add("message", "a forged log line")
	forged.Add(event.FieldID, "2-3")
	r.store.Add([]event.Event{forged})
	r.store.Flush()
	p := wantProblem(t, r.verify(t, VerifyOptions{}), ProblemAdded, "added event 2-3")
	if !strings.Contains(p.Detail, "sealed 3 events") {
		t.Fatalf("problem %+v", p)
	}
	// Without an id, and beyond every batch.
	noID := event.Event{Time: time.Now().Add(-30 * time.Second)}
	noID.Add("message", "no id")
	beyond := event.Event{Time: time.Now().Add(-30 * time.Second)}
	beyond.Add(event.FieldID, "99-0")
	r.store.Add([]event.Event{noID, beyond})
	r.store.Flush()
	rep := r.verify(t, VerifyOptions{})
	if rep.ProblemsTotal != 3 {
		t.Fatalf("got %d problems, want 3: %v", rep.ProblemsTotal, rep.Problems)
	}
	var texts []string
	for _, p := range rep.Problems {
		texts = append(texts, p.String())
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"without a valid vigil.id", "added event 99-0", "beyond every batch"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}

func TestMain(m *testing.M) {
	// The test binary doubles as the store reading child (see
	// ChildScanner), as the vigil binary does in production.
	if dir := os.Getenv("VIGIL_TEST_SCAN_CHILD"); dir != "" {
		if err := ServeScans(context.Background(), dir, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childScanner(dir string) *ChildScanner {
	return &ChildScanner{Command: func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "VIGIL_TEST_SCAN_CHILD="+dir)
		return cmd
	}}
}

// A byte changed in a stored part: whether the library then reads other
// bytes or cannot read the part at all, verify fails and names the batch.
func TestVerifyNamesBatchInDamagedPart(t *testing.T) {
	for _, file := range []string{"message_values.bin", "columns_header.bin", "timestamps.bin", "values.bin0", "bloom.bin0", "metaindex.bin"} {
		t.Run(file, func(t *testing.T) {
			r := newRig(t)
			r.startWriter(t)
			r.publish(t, 50, "a")
			r.checkpoint(t)
			r.stop()
			r.store.Close()
			if added, _, err := r.ledger.SealParts(context.Background(), filepath.Join(r.dir, "store")); err != nil || added == 0 {
				t.Fatalf("sealed %d parts: %v", added, err)
			}
			parts, _ := filepath.Glob(filepath.Join(r.dir, "store", "partitions", "*", "datadb", "*", file))
			if len(parts) != 1 {
				t.Fatalf("found %v, want one part file %s", parts, file)
			}
			data, err := os.ReadFile(parts[0])
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x5a
			if err := os.WriteFile(parts[0], data, 0o600); err != nil {
				t.Fatal(err)
			}
			view := filepath.Join(t.TempDir(), "view")
			if err := store.LinkView(filepath.Join(r.dir, "store"), view); err != nil {
				t.Fatal(err)
			}
			cs := childScanner(view)
			defer cs.Close()
			rep := r.verify(t, VerifyOptions{Store: cs, StoreDir: view, ScannerFor: func(dir string) (Scanner, func()) {
				c := childScanner(dir)
				return c, func() { c.Close() }
			}})
			if rep.OK() {
				t.Fatal("verify found nothing wrong")
			}
			var named bool
			var all []string
			for _, p := range rep.Problems {
				all = append(all, p.String())
				if p.Seq == 1 && (p.Kind == ProblemAltered || p.Kind == ProblemUnreadable || p.Kind == ProblemMissing) {
					named = true
				}
			}
			if !named {
				t.Fatalf("no problem names batch 1:\n%s", strings.Join(all, "\n"))
			}
			t.Logf("%s: %s", file, all[len(all)-1])
		})
	}
}

func TestVerifyLedgerTampering(t *testing.T) {
	f := func(name, sql, kind, contains string) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			r.startWriter(t)
			r.publish(t, 2, "a", "b", "c", "d")
			r.checkpoint(t)
			r.stop()
			if _, err := r.ledger.DB().Exec(sql); err != nil {
				t.Fatal(err)
			}
			if err := r.ledger.loadHead(context.Background()); err != nil {
				t.Fatal(err)
			}
			wantProblem(t, r.verify(t, VerifyOptions{}), kind, contains)
		})
	}
	f("digest changed", `UPDATE entries SET digest = zeroblob(32) WHERE n = 2`, ProblemChain, "entry 2 (batch of batch 2) does not match its chain link")
	f("entry removed", `DELETE FROM entries WHERE n = 3`, ProblemChain, "ledger entries 3 to 3 are missing")
	f("last entries removed", `DELETE FROM entries WHERE n >= 3`, ProblemChain, "checkpoint 1 covers 4 ledger entries but the ledger ends at 2")
	f("count changed and relinked", `UPDATE entries SET events = 1 WHERE n = 4`, ProblemChain, "entry 4")
	f("checkpoint forged", `UPDATE checkpoints SET body = replace(body, '"events":8', '"events":9')`, ProblemCheckpoint, "signature does not verify")
}

func TestRestoreGapAndUnsealed(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 2, "a", "b")
	r.stop()
	ctx := context.Background()
	// A stopped writer's rows beyond the ledger: unsealed up to the
	// writer's reservation, added above it.
	e := event.Event{Time: time.Now().Add(-time.Minute)}
	e.Add(event.FieldID, "3-0")
	r.store.Add([]event.Event{e})
	r.store.Flush()
	rep := r.verify(t, VerifyOptions{UnsealedLimit: 10})
	wantOK(t, rep)
	if rep.Unsealed != 1 {
		t.Fatalf("unsealed %d, want 1", rep.Unsealed)
	}
	wantProblem(t, r.verify(t, VerifyOptions{}), ProblemAdded, "added event 3-0")
	// A restore records sequences 3..5 as never stored: an event there
	// was added.
	if err := r.ledger.RecordGap(ctx, 3, 5, "restored from a backup taken at bus sequence 2"); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, r.verify(t, VerifyOptions{}), ProblemAdded, "records as gap")
	if h := r.ledger.Head(); h.Seq != 5 || h.N != 3 {
		t.Fatalf("head %+v", h)
	}
}

func TestLedgerSurvivesReopenAndRedelivery(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 3, "a", "b")
	r.checkpoint(t)
	r.stop()
	head := r.ledger.Head()
	r.ledger.Close()
	l, err := OpenLedger(context.Background(), filepath.Join(r.dir, "integrity.db"), LedgerOptions{RowTime: r.store.RowTime})
	if err != nil {
		t.Fatal(err)
	}
	r.ledger = l
	if got := l.Head(); got != head {
		t.Fatalf("head after reopen %+v, want %+v", got, head)
	}
	r.startWriter(t)
	r.publish(t, 2, "c")
	r.stop()
	if l.Mismatches() != 0 {
		t.Fatalf("%d mismatched reseals", l.Mismatches())
	}
	rep := r.verify(t, VerifyOptions{})
	wantOK(t, rep)
	if rep.Batches != 3 || rep.Events != 8 {
		t.Fatalf("report %+v", rep)
	}
}

func testLog() *slog.Logger {
	if os.Getenv("VIGIL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func TestCheckpointTimestamped(t *testing.T) {
	a := tsatest.Start(t)
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 2, "a")
	cp := &Checkpointer{Ledger: r.ledger, Key: r.key, TSA: &tsa.Client{URL: a.URL, Roots: a.Roots}}
	s, err := cp.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Timestamp) == 0 {
		t.Fatal("checkpoint has no timestamp token")
	}
	check := func(token []byte, digest Hash) error {
		_, err := tsa.Verify(token, digest, a.Roots)
		return err
	}
	wantOK(t, r.verify(t, VerifyOptions{VerifyTimestamp: check}))
	// A token stamping something else is reported.
	other, err := (&tsa.Client{URL: a.URL, Roots: a.Roots}).Timestamp(context.Background(), Hash{1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ledger.DB().Exec(`UPDATE checkpoints SET timestamp_token = ?`, other); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, r.verify(t, VerifyOptions{VerifyTimestamp: check}), ProblemTimestamp, "stamps another digest")
	// An unreachable authority: the checkpoint is kept without a token.
	r.publish(t, 1, "b")
	cp.TSA = &tsa.Client{URL: "http://127.0.0.1:1/", Roots: a.Roots}
	if s, err = cp.Checkpoint(context.Background()); err != nil || s == nil || len(s.Timestamp) != 0 {
		t.Fatalf("checkpoint with the authority down: %v, %v", s, err)
	}
}

func TestExportVerifiesWithPublicKeyOnly(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 2, "a", "b")
	r.checkpoint(t)
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	r.publish(t, 2, "c")
	r.checkpoint(t)
	r.publish(t, 1, "d")
	r.checkpoint(t)
	ctx := context.Background()
	for _, since := range []time.Time{{}, mid} {
		b, err := Export(ctx, r.ledger, r.key.Public, since)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "export")
		if err := WriteExport(dir, b); err != nil {
			t.Fatal(err)
		}
		// The auditor has the public key (from a trusted channel) and the
		// export, nothing else.
		pubPEM, err := os.ReadFile(filepath.Join(r.dir, "keys", PublicKeyFile))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKey(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadBundle(dir)
		if err != nil {
			t.Fatal(err)
		}
		res := VerifyBundle(got, pub, nil)
		if len(res.Problems) != 0 || res.Checkpoints != 3 || res.Last.Number != 3 {
			t.Fatalf("since %v: %+v", since, res)
		}
		if since.IsZero() && res.Entries != 4 || !since.IsZero() && (got.Start != 1 || res.Entries != 2) {
			t.Fatalf("since %v: start %d, %d entries", since, got.Start, res.Entries)
		}
		// Standard tools agree on the latest checkpoint's signature.
		if openssl, err := exec.LookPath("openssl"); err == nil {
			out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(dir, PublicKeyFile), "-rawin",
				"-in", filepath.Join(dir, "checkpoint.json"), "-sigfile", filepath.Join(dir, "checkpoint.sig")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
				t.Fatalf("openssl pkeyutl -verify: %v: %s", err, out)
			}
		}
		// Tampering with the export is found; so is another key.
		got.Entries[len(got.Entries)-1].Events++
		if res := VerifyBundle(got, pub, nil); len(res.Problems) == 0 || res.Problems[0].Kind != ProblemChain {
			t.Fatalf("altered entry: %+v", res.Problems)
		}
		other, _, _ := LoadOrCreateKey(t.TempDir())
		if res := VerifyBundle(got, other.Public, nil); len(res.Problems) == 0 || !strings.Contains(res.Problems[0].Detail, "signature") {
			t.Fatalf("other key: %+v", res.Problems)
		}
	}
}

// The audit trail's head goes into every checkpoint; verification asks the
// trail whether that signed head is still in its chain.
func TestCheckpointCoversAuditTrail(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 1, "a")
	head := &AuditHead{Records: 41, Hash: "ab12"}
	cp := &Checkpointer{Ledger: r.ledger, Key: r.key, AuditHead: func(context.Context) (*AuditHead, error) { return head, nil }}
	if _, err := cp.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A new audit record alone makes a new checkpoint.
	head = &AuditHead{Records: 42, Hash: "cd34"}
	if s, err := cp.Checkpoint(context.Background()); err != nil || s == nil {
		t.Fatalf("audit moved, no checkpoint: %v", err)
	}
	var asked string
	trail := func(ok bool) func(context.Context, int64, string) (bool, string, error) {
		return func(_ context.Context, seq int64, hash string) (bool, string, error) {
			asked = fmt.Sprintf("%d %s", seq, hash)
			if ok {
				return true, "", nil
			}
			return false, "record 40 does not match its hash: it was changed", nil
		}
	}
	rep := r.verify(t, VerifyOptions{AuditVerify: trail(true)})
	wantOK(t, rep)
	if asked != "42 cd34" || !rep.AuditChecked {
		t.Fatalf("trail asked about %q", asked)
	}
	wantProblem(t, r.verify(t, VerifyOptions{AuditVerify: trail(false)}), ProblemAudit, "record 40 does not match its hash")
}

func searchRows(t *testing.T, s *store.Embedded, q string) [][]event.Field {
	t.Helper()
	var rows [][]event.Field
	err := s.Search(context.Background(), store.Request{Query: q, Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}, func(row []event.Field) error {
		r := make([]event.Field, len(row))
		for i, f := range row {
			r[i] = event.Field{Name: strings.Clone(f.Name), Value: strings.Clone(f.Value)}
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Evidence a case collected (events as search returned them) is proven
// sealed, and an auditor checks the proof with the public key alone.
func TestEvidenceProof(t *testing.T) {
	r := newRig(t)
	r.startWriter(t)
	r.publish(t, 5, "a", "b")
	r.checkpoint(t)
	r.publish(t, 3, "c")
	r.checkpoint(t)
	ctx := context.Background()
	rows := searchRows(t, r.store, `user.name:in("user-b-1", "user-b-3", "user-c-0")`)
	if len(rows) != 3 {
		t.Fatalf("%d evidence rows", len(rows))
	}
	p, err := Prove(ctx, r.ledger, r.store, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Batches) != 2 || len(p.Segments) != 2 {
		t.Fatalf("proof has %d batches, %d segments", len(p.Batches), len(p.Segments))
	}
	res := VerifyProof(p, r.key.Public, rows)
	if len(res.Problems) != 0 || res.Events != 3 {
		t.Fatalf("proof: %+v", res)
	}
	// Changed evidence, a changed proof, another key: refused.
	changed := append([][]event.Field(nil), rows...)
	changed[0] = append([]event.Field(nil), rows[0]...)
	for i := range changed[0] {
		if changed[0][i].Name == "message" {
			changed[0][i].Value += "!"
		}
	}
	if res := VerifyProof(p, r.key.Public, changed); len(res.Problems) == 0 || !strings.Contains(res.Problems[0], "differs from the sealed event") {
		t.Fatalf("changed evidence: %+v", res)
	}
	p.Batches[0].Digests[0] = strings.Repeat("0", 64)
	if res := VerifyProof(p, r.key.Public, nil); len(res.Problems) == 0 {
		t.Fatal("changed proof accepted")
	}
	other, _, _ := LoadOrCreateKey(t.TempDir())
	p2, _ := Prove(ctx, r.ledger, r.store, rows)
	if res := VerifyProof(p2, other.Public, nil); len(res.Problems) == 0 {
		t.Fatal("proof accepted with another key")
	}
	// Events not yet covered by a checkpoint cannot be proven yet.
	r.publish(t, 1, "d")
	if _, err := Prove(ctx, r.ledger, r.store, searchRows(t, r.store, `user.name:"user-d-0"`)); err == nil || !strings.Contains(err.Error(), "not covered by a signed checkpoint") {
		t.Fatalf("uncovered: %v", err)
	}
}

package integrity

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Problem kinds, in the words verify prints.
const (
	ProblemChain      = "chain"      // a ledger entry or link was changed, removed or inserted
	ProblemCheckpoint = "checkpoint" // a checkpoint's signature, order or coverage is wrong
	ProblemTimestamp  = "timestamp"  // an RFC 3161 token does not verify
	ProblemGap        = "gap"        // bus sequences that should be sealed are not
	ProblemMissing    = "missing"    // a sealed event is not in the store
	ProblemAltered    = "altered"    // stored events differ from their seal
	ProblemAdded      = "added"      // a stored event no seal accounts for
	ProblemUnreadable = "unreadable" // the store could not be read
	ProblemAudit      = "audit"      // the audit trail of Vigil's own use does not verify
)

// Problem is one finding.
type Problem struct {
	Kind string `json:"kind"`
	// Seq is the batch (bus sequence) concerned, 0 when none.
	Seq uint64 `json:"seq,omitempty"`
	// Event is the event's vigil.id when one event is concerned.
	Event string `json:"event,omitempty"`
	// Entry is the ledger entry concerned, 0 when none.
	Entry int64 `json:"entry,omitempty"`
	// Time is when the event or batch is filed.
	Time   time.Time `json:"time,omitzero"`
	Detail string    `json:"detail"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Kind)
	if p.Event != "" {
		b.WriteString(" event " + p.Event)
	} else if p.Seq != 0 {
		b.WriteString(" batch " + strconv.FormatUint(p.Seq, 10))
	}
	if p.Entry != 0 {
		b.WriteString(" (ledger entry " + strconv.FormatInt(p.Entry, 10) + ")")
	}
	if !p.Time.IsZero() {
		b.WriteString(" filed " + p.Time.UTC().Format(time.RFC3339Nano))
	}
	b.WriteString(": " + p.Detail)
	return b.String()
}

// Report is the result of a verification.
type Report struct {
	Since   time.Time `json:"since,omitzero"`
	Checked time.Time `json:"checked"`
	// Entries and Checkpoints are the ledger entries and checkpoints
	// verified; LastCheckpoint the latest signed one.
	Entries        int64       `json:"entries"`
	Checkpoints    int         `json:"checkpoints"`
	LastCheckpoint *Checkpoint `json:"last_checkpoint,omitempty"`
	// Unsigned counts entries after the last checkpoint (sealed and
	// chained, not yet signed).
	Unsigned int64 `json:"unsigned"`
	// Batches and Events are what the store scan verified against seals.
	Batches int64 `json:"batches"`
	Events  int64 `json:"events"`
	// Expired counts batches whose events are past the store's retention.
	Expired int64 `json:"expired"`
	// Unsealed counts stored events newer than the ledger (stored, not
	// yet sealed: the server seals them when it next flushes or starts)
	// and events stored before the ledger began.
	Unsealed int64 `json:"unsealed"`
	// StoreScanned is false when only the ledger was verified.
	StoreScanned bool `json:"store_scanned"`
	// AuditChecked says the audit trail's chain was verified too.
	AuditChecked bool `json:"audit_checked"`
	// Problems, first (lowest batch) first, at most MaxProblems of
	// ProblemsTotal.
	Problems      []Problem `json:"problems"`
	ProblemsTotal int       `json:"problems_total"`
	Notes         []string  `json:"notes,omitempty"`
}

// MaxProblems caps the problems a report lists.
const MaxProblems = 1000

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return r.ProblemsTotal == 0 }

func (r *Report) add(p Problem) {
	r.ProblemsTotal++
	r.Problems = append(r.Problems, p)
	if len(r.Problems) > 4*MaxProblems {
		r.trim()
	}
}

// trim sorts problems (lowest batch first) and keeps MaxProblems.
func (r *Report) trim() {
	slices.SortStableFunc(r.Problems, func(a, b Problem) int {
		// Ledger-level problems (no batch) first: nothing after them can
		// be trusted.
		if c := compareSeq(a.Seq, b.Seq); c != 0 {
			return c
		}
		return eventIndexCompare(a.Event, b.Event)
	})
	if len(r.Problems) > MaxProblems {
		r.Problems = r.Problems[:MaxProblems]
	}
}

func eventIndexCompare(a, b string) int {
	_, ai, _ := parseID(a)
	_, bi, _ := parseID(b)
	return compareSeq(uint64(ai), uint64(bi))
}

// VerifyOptions say what to verify.
type VerifyOptions struct {
	// Since limits the store scan to batches with events filed at or
	// after it (zero: everything). The chain is verified from the last
	// checkpoint before the first such batch.
	Since time.Time
	// PublicKey verifies checkpoint signatures (required).
	PublicKey ed25519.PublicKey
	// Store, when set, is scanned and every event compared with its seal.
	Store Scanner
	// RetentionCut: batches with every event filed before it are past
	// retention and not looked for; events of a batch straddling it may
	// be missing.
	RetentionCut time.Time
	// UnsealedLimit: stored events of batches above the ledger's head up
	// to this sequence are "unsealed" (a stopped writer's, sealed at its
	// next start); above it they are added. Zero: the ledger's head (a
	// quiesced server: nothing may be unsealed).
	UnsealedLimit uint64
	// VerifyTimestamp, when set, checks a checkpoint's RFC 3161 token.
	VerifyTimestamp func(token []byte, digest Hash) error
	// StoreDir is the directory of the store being verified (stopped, or
	// a view): every sealed part in it is compared with its seal.
	StoreDir string
	// ScannerFor opens a scanner of another store directory (one changed
	// part on its own, to name the batches it holds); optional.
	ScannerFor func(dir string) (Scanner, func())
	// AuditVerify, when set, walks the audit trail's own hash chain and
	// checks that the head the last checkpoint signed is in it
	// (audit.Trail.Verify).
	AuditVerify func(ctx context.Context, expectSeq int64, expectHash string) (ok bool, problem string, err error)
	// Window is the store scan's time step (default 1h).
	Window time.Duration
	Now    func() time.Time
}

// Scanner reads stored events' digests (store.Embedded).
type Scanner interface {
	ScanDigests(ctx context.Context, start, end time.Time, fn func(store.StoredEvent) error) error
}

// Verify checks the ledger (every link and checkpoint from the scope's
// start) and, when opts.Store is set, every stored event in scope.
func Verify(ctx context.Context, l *Ledger, opts VerifyOptions) (*Report, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	r := &Report{Since: opts.Since, Checked: now().UTC(), Problems: []Problem{}}
	scope, err := verifyChain(ctx, l, opts, r)
	if err != nil {
		return nil, err
	}
	if opts.AuditVerify != nil {
		var seq int64
		var hash string
		if c := r.LastCheckpoint; c != nil && c.Audit != nil {
			seq, hash = c.Audit.Records, c.Audit.Hash
		}
		ok, problem, err := opts.AuditVerify(ctx, seq, hash)
		if err != nil {
			return nil, fmt.Errorf("verify the audit trail: %w", err)
		}
		if !ok {
			r.add(Problem{Kind: ProblemAudit, Detail: "the audit trail: " + problem})
		}
		r.AuditChecked = true
	}
	if opts.StoreDir != "" {
		if err := verifyParts(ctx, l, opts, r); err != nil {
			return nil, err
		}
	}
	if opts.Store != nil {
		r.StoreScanned = true
		if err := verifyStore(ctx, l, scope, opts, r, now()); err != nil {
			return nil, err
		}
	}
	r.trim()
	return r, nil
}

// verifyParts compares the store's parts with their seals and names the
// batches whose events a changed part holds.
func verifyParts(ctx context.Context, l *Ledger, opts VerifyOptions, r *Report) error {
	changed, unsealed, err := l.checkParts(ctx, opts.StoreDir)
	if err != nil {
		return err
	}
	if unsealed > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d store parts were written after the last part seal; their events are checked against the event seals only", unsealed))
	}
	for _, c := range changed {
		r.add(Problem{Kind: ProblemAltered, Detail: fmt.Sprintf("store part %s changed since it was sealed at %s: %s", c.path, c.sealed.Format(time.RFC3339), c.detail)})
		if opts.ScannerFor == nil || !strings.Contains(c.path, "/datadb/") {
			continue
		}
		dir, err := os.MkdirTemp("", "vigil-part-")
		if err != nil {
			return err
		}
		seqs, scanErr := batchesInPart(ctx, opts, c.path, dir)
		os.RemoveAll(dir)
		if scanErr != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the events of changed part %s could not be read on their own: %v", c.path, scanErr))
			continue
		}
		for _, seq := range seqs {
			r.add(Problem{Kind: ProblemAltered, Seq: seq, Detail: fmt.Sprintf("events of batch %d are in store part %s, whose files changed since it was sealed", seq, c.path)})
		}
	}
	return nil
}

func batchesInPart(ctx context.Context, opts VerifyOptions, part, dir string) ([]uint64, error) {
	if err := partView(opts.StoreDir, part, dir); err != nil {
		return nil, err
	}
	sc, done := opts.ScannerFor(dir)
	defer done()
	found := map[uint64]bool{}
	err := sc.ScanDigests(ctx, time.Unix(0, 0), time.Now().AddDate(10, 0, 0), func(se store.StoredEvent) error {
		if seq, _, ok := parseID(se.ID); ok {
			found[seq] = true
		}
		return nil
	})
	seqs := make([]uint64, 0, len(found))
	for s := range found {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	return seqs, err
}

// verifyChain re-walks the chain and checkpoints; it returns the first
// entry of the store scan's scope.
func verifyChain(ctx context.Context, l *Ledger, opts VerifyOptions, r *Report) (int64, error) {
	scope := int64(1)
	if !opts.Since.IsZero() {
		n, err := l.FirstEntryAfter(ctx, opts.Since)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			n = l.Head().N + 1
		}
		scope = n
	}
	// Checkpoints: signatures, succession; remember which chain value each
	// one vouches for.
	type anchor struct {
		number  int64
		entries int64
		chain   string
	}
	var (
		anchors  []anchor
		prevHash string
		number   int64
	)
	err := l.Checkpoints(ctx, func(s *Signed) error {
		cp, err := s.Parse()
		if err != nil {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint after %d: %v", number, err)})
			return nil
		}
		r.Checkpoints++
		if err := s.Verify(opts.PublicKey); err != nil {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d (%s): %v", cp.Number, cp.Time.Format(time.RFC3339), err)})
		}
		if cp.Key != KeyID(opts.PublicKey) {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d is signed by key %s, not %s", cp.Number, cp.Key, KeyID(opts.PublicKey))})
		}
		if cp.Number != number+1 {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d follows checkpoint %d", cp.Number, number)})
		}
		if cp.Prev != prevHash {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d does not name checkpoint %d as its predecessor", cp.Number, number)})
		}
		if len(s.Timestamp) > 0 && opts.VerifyTimestamp != nil {
			if err := opts.VerifyTimestamp(s.Timestamp, s.BodyHash()); err != nil {
				r.add(Problem{Kind: ProblemTimestamp, Detail: fmt.Sprintf("checkpoint %d: RFC 3161 timestamp: %v", cp.Number, err)})
			}
		}
		if len(anchors) > 0 && cp.Entries < anchors[len(anchors)-1].entries {
			r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d covers %d entries, fewer than checkpoint %d", cp.Number, cp.Entries, cp.Number-1)})
		}
		anchors = append(anchors, anchor{cp.Number, cp.Entries, cp.Chain})
		prevHash = Hex(s.BodyHash())
		number = cp.Number
		cpCopy := *cp
		r.LastCheckpoint = &cpCopy
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Start from the last checkpoint before the scope (its chain value is
	// signed), or from the beginning.
	start, prev := int64(1), Hash{}
	for _, a := range anchors {
		if a.entries < scope && a.entries >= start {
			h, err := ParseHex(a.chain)
			if err != nil {
				r.add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d: %v", a.number, err)})
				continue
			}
			start, prev = a.entries+1, h
		}
	}
	next := 0
	for next < len(anchors) && anchors[next].entries < start {
		next++
	}
	expectN := start
	var lastSeq uint64
	if start > 1 {
		e, err := l.Entry(ctx, start-1)
		if err != nil {
			r.add(Problem{Kind: ProblemChain, Entry: start - 1, Detail: fmt.Sprintf("entry %d, which a checkpoint covers, is gone", start-1)})
		} else {
			lastSeq = lastSeqOf(e)
		}
	}
	err = l.Entries(ctx, start, func(e *Entry) error {
		r.Entries++
		if e.N != expectN {
			r.add(Problem{Kind: ProblemChain, Entry: expectN, Detail: fmt.Sprintf("ledger entries %d to %d are missing", expectN, e.N-1)})
		}
		expectN = e.N + 1
		want := Link(prev, e)
		if want != e.Chain {
			r.add(Problem{Kind: ProblemChain, Entry: e.N, Seq: e.Seq, Detail: fmt.Sprintf("entry %d (%s of batch %d) does not match its chain link: the entry or one before it was altered", e.N, e.Kind, e.Seq)})
		}
		prev = e.Chain
		for next < len(anchors) && anchors[next].entries == e.N {
			if anchors[next].chain != Hex(want) {
				r.add(Problem{Kind: ProblemChain, Entry: e.N, Seq: e.Seq, Detail: fmt.Sprintf("checkpoint %d signed a different chain at entry %d: entries up to it were altered", anchors[next].number, e.N)})
			}
			next++
		}
		if e.Kind != KindReseal {
			if e.Seq != lastSeq+1 && e.N > 1 {
				if e.Seq <= lastSeq {
					r.add(Problem{Kind: ProblemChain, Entry: e.N, Seq: e.Seq, Detail: fmt.Sprintf("batch %d recorded again after batch %d", e.Seq, lastSeq)})
				} else {
					r.add(Problem{Kind: ProblemGap, Entry: e.N, Seq: lastSeq + 1, Detail: fmt.Sprintf("bus sequences %d to %d have no seal", lastSeq+1, e.Seq-1)})
				}
			}
			lastSeq = max(lastSeq, lastSeqOf(e))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	head := expectN - 1
	if len(anchors) > 0 {
		lastA := anchors[len(anchors)-1]
		if lastA.entries > head {
			r.add(Problem{Kind: ProblemChain, Entry: head + 1, Detail: fmt.Sprintf("checkpoint %d covers %d ledger entries but the ledger ends at %d: entries were removed", lastA.number, lastA.entries, head)})
		}
		r.Unsigned = max(head-lastA.entries, 0)
	} else {
		r.Unsigned = head
	}
	return scope, nil
}

func lastSeqOf(e *Entry) uint64 {
	if e.Kind == KindGap || e.Kind == KindUnsealed {
		return e.Seq + uint64(e.Events) - 1
	}
	return e.Seq
}

// parseID splits a vigil.id "<seq>-<index>".
func parseID(id string) (uint64, int, bool) {
	i := strings.IndexByte(id, '-')
	if i <= 0 {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(id[:i], 10, 64)
	idx, err2 := strconv.Atoi(id[i+1:])
	if err1 != nil || err2 != nil || idx < 0 || seq == 0 {
		return 0, 0, false
	}
	return seq, idx, true
}

// sealed is a batch under verification.
type sealed struct {
	e *Entry // its effective seal (batch or latest reseal)
	// digests by index (nil until a row is seen); seen marks them.
	digests []store.Digest
	seen    []bool
	// extra holds digests of a resealed batch's rows (indices unknown
	// beforehand), by index.
	extra map[int]store.Digest
	done  bool
	// expiredPart: the batch straddles the retention cut.
	expiredPart bool
}

// span margin: rows filed this long after a batch's recorded span still
// count as inside it.
const spanMargin = 2 * time.Minute

func verifyStore(ctx context.Context, l *Ledger, scope int64, opts VerifyOptions, r *Report, now time.Time) error {
	step := opts.Window
	if step <= 0 {
		step = time.Hour
	}
	head := l.Head()
	unsealedLimit := max(opts.UnsealedLimit, head.Seq)
	batches := map[uint64]*sealed{}
	type rng struct {
		from, to uint64
		kind     Kind
	}
	var noEvents []rng
	var order []*sealed
	var scanStart time.Time
	// Every entry is read to know gaps and reseals; only those in scope
	// are scanned.
	err := l.Entries(ctx, 1, func(e *Entry) error {
		switch e.Kind {
		case KindBatch, KindReseal:
			if e.N < scope && batches[e.Seq] == nil {
				return nil
			}
			b := batches[e.Seq]
			if b == nil {
				b = &sealed{}
				batches[e.Seq] = b
				order = append(order, b)
			}
			b.e = e
		case KindGap, KindUnsealed, KindCorrupt:
			noEvents = append(noEvents, rng{e.Seq, lastSeqOf(e), e.Kind})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Drop batches past retention; find where the scan starts.
	kept := order[:0]
	for _, b := range order {
		// Past retention, unless a disposal resealed what a legal hold kept.
		if !opts.RetentionCut.IsZero() && b.e.MaxTime.Before(opts.RetentionCut) && (b.e.Kind != KindReseal || b.e.Events == 0) {
			r.Expired++
			b.done = true
			continue
		}
		if !opts.RetentionCut.IsZero() && b.e.MinTime.Before(opts.RetentionCut) && b.e.Kind != KindReseal {
			b.expiredPart = true
		}
		if scanStart.IsZero() || b.e.MinTime.Before(scanStart) {
			scanStart = b.e.MinTime
		}
		kept = append(kept, b)
	}
	order = kept
	if !opts.Since.IsZero() && (scanStart.IsZero() || opts.Since.Before(scanStart)) {
		scanStart = opts.Since
	}
	if scanStart.IsZero() {
		scanStart = now.Add(-time.Hour)
	}
	if !opts.RetentionCut.IsZero() && scanStart.Before(opts.RetentionCut) && !slices.ContainsFunc(order, func(b *sealed) bool { return b.e.Kind == KindReseal }) {
		scanStart = opts.RetentionCut
	}
	scanEnd := now.Add(48 * time.Hour) // the store accepts events up to two days ahead
	for _, b := range order {
		scanEnd = maxTime(scanEnd, b.e.MaxTime.Add(spanMargin))
	}
	sort.Slice(order, func(i, j int) bool { return order[i].e.MaxTime.Before(order[j].e.MaxTime) })
	inNoEvents := func(seq uint64) (Kind, bool) {
		i := sort.Search(len(noEvents), func(i int) bool { return noEvents[i].to >= seq })
		if i < len(noEvents) && noEvents[i].from <= seq {
			return noEvents[i].kind, true
		}
		return 0, false
	}
	var unreadable []window
	finalized := 0
	finalize := func(upTo time.Time) {
		for finalized < len(order) && (upTo.IsZero() || order[finalized].e.MaxTime.Add(spanMargin).Before(upTo)) {
			finish(order[finalized], r, unreadable)
			finalized++
		}
	}
	for ws := scanStart.Truncate(step); ws.Before(scanEnd); ws = ws.Add(step) {
		we := ws.Add(step)
		err := opts.Store.ScanDigests(ctx, ws, we, func(se store.StoredEvent) error {
			seq, idx, ok := parseID(se.ID)
			if !ok {
				r.add(Problem{Kind: ProblemAdded, Event: se.ID, Time: se.Time, Detail: "stored event without a valid vigil.id: no seal accounts for it"})
				return nil
			}
			b := batches[seq]
			if b == nil {
				if k, ok := inNoEvents(seq); ok {
					if k == KindUnsealed {
						r.Unsealed++
						return nil
					}
					r.add(Problem{Kind: ProblemAdded, Seq: seq, Event: se.ID, Time: se.Time, Detail: fmt.Sprintf("stored event of bus sequence %d, which the ledger records as %s (no events stored)", seq, k)})
					return nil
				}
				switch {
				case seq > head.Seq && seq <= unsealedLimit:
					r.Unsealed++
				case seq > head.Seq:
					r.add(Problem{Kind: ProblemAdded, Seq: seq, Event: se.ID, Time: se.Time, Detail: fmt.Sprintf("stored event of bus sequence %d, beyond every batch the writer stored", seq)})
				case !opts.Since.IsZero() && se.Time.Before(opts.Since.Add(spanMargin)):
					// A batch sealed before the scope, filed before it.
				default:
					// Sealed before the scope but filed in it: its time
					// was changed.
					r.add(Problem{Kind: ProblemAltered, Seq: seq, Event: se.ID, Time: se.Time, Detail: "filed at a time outside its batch's sealed span"})
				}
				return nil
			}
			if b.done {
				r.add(Problem{Kind: ProblemAltered, Seq: seq, Event: se.ID, Time: se.Time, Detail: fmt.Sprintf("filed at a time outside its batch's sealed span (%s to %s)", b.e.MinTime.Format(time.RFC3339), b.e.MaxTime.Format(time.RFC3339))})
				return nil
			}
			if b.e.Kind == KindReseal {
				if b.extra == nil {
					b.extra = map[int]store.Digest{}
				}
				if _, dup := b.extra[idx]; dup || se.Duplicates > 0 {
					r.add(Problem{Kind: ProblemAdded, Seq: seq, Event: se.ID, Time: se.Time, Detail: "stored twice"})
					return nil
				}
				b.extra[idx] = se.Digest
				return nil
			}
			if idx >= b.e.Events {
				r.add(Problem{Kind: ProblemAdded, Seq: seq, Event: se.ID, Time: se.Time, Detail: fmt.Sprintf("batch %d sealed %d events; this one is beyond them", seq, b.e.Events)})
				return nil
			}
			if b.digests == nil {
				b.digests = make([]store.Digest, b.e.Events)
				b.seen = make([]bool, b.e.Events)
			}
			if b.seen[idx] || se.Duplicates > 0 {
				r.add(Problem{Kind: ProblemAdded, Seq: seq, Event: se.ID, Time: se.Time, Detail: "stored twice"})
				return nil
			}
			b.seen[idx] = true
			b.digests[idx] = se.Digest
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			unreadable = append(unreadable, window{ws, we, err.Error()})
			r.add(Problem{Kind: ProblemUnreadable, Time: ws, Detail: fmt.Sprintf("the store could not be read from %s to %s: %v", ws.Format(time.RFC3339), we.Format(time.RFC3339), err)})
		}
		finalize(we)
	}
	finalize(time.Time{})
	return nil
}

// window is a time range of the store that could not be read.
type window struct {
	from, to time.Time
	err      string
}

// finish compares a batch's stored events with its seal.
func finish(b *sealed, r *Report, unreadable []window) {
	b.done = true
	e := b.e
	r.Batches++
	if e.Kind == KindReseal {
		idx := make([]int, 0, len(b.extra))
		for i := range b.extra {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		ds := make([]store.Digest, len(idx))
		for i, k := range idx {
			ds[i] = b.extra[k]
		}
		r.Events += int64(len(ds))
		if len(ds) != e.Events {
			r.add(Problem{Kind: ProblemMissing, Seq: e.Seq, Entry: e.N, Time: e.MinTime, Detail: fmt.Sprintf("batch %d keeps %d events after disposal (%s) but %d are stored", e.Seq, e.Events, e.Note, len(ds))})
			return
		}
		if ResealDigest(e.Seq, ds) != e.Digest {
			r.add(Problem{Kind: ProblemAltered, Seq: e.Seq, Entry: e.N, Time: e.MinTime, Detail: fmt.Sprintf("the %d events kept of batch %d differ from their seal after disposal (%s)", e.Events, e.Seq, e.Note)})
		}
		return
	}
	missing := 0
	for i := 0; i < e.Events; i++ {
		if b.seen == nil || !b.seen[i] {
			missing++
		}
	}
	if missing > 0 {
		for _, w := range unreadable {
			if e.MinTime.Before(w.to) && !e.MaxTime.Add(spanMargin).Before(w.from) {
				r.Events += int64(e.Events - missing)
				r.add(Problem{Kind: ProblemUnreadable, Seq: e.Seq, Entry: e.N, Time: e.MinTime,
					Detail: fmt.Sprintf("%d of the %d events of batch %d (%s, filed %s to %s) are in a part of the store that could not be read: %s", missing, e.Events, e.Seq, e.Source, e.MinTime.Format(time.RFC3339), e.MaxTime.Format(time.RFC3339), w.err)})
				return
			}
		}
	}
	for i := 0; i < e.Events; i++ {
		if b.seen == nil || !b.seen[i] {
			if !b.expiredPart {
				r.add(Problem{Kind: ProblemMissing, Seq: e.Seq, Event: fmt.Sprintf("%d-%d", e.Seq, i), Entry: e.N, Time: e.MinTime,
					Detail: fmt.Sprintf("sealed in batch %d (%s, %d events, filed %s to %s) but not in the store", e.Seq, e.Source, e.Events, e.MinTime.Format(time.RFC3339), e.MaxTime.Format(time.RFC3339))})
			}
		}
	}
	r.Events += int64(e.Events - missing)
	if missing > 0 {
		return
	}
	if BatchDigest(e.Seq, b.digests) != e.Digest {
		r.add(Problem{Kind: ProblemAltered, Seq: e.Seq, Entry: e.N, Time: e.MinTime,
			Detail: fmt.Sprintf("the stored events %d-0 to %d-%d of batch %d (%s, filed %s to %s) differ from their seal: at least one was changed", e.Seq, e.Seq, e.Events-1, e.Seq, e.Source, e.MinTime.Format(time.RFC3339), e.MaxTime.Format(time.RFC3339))})
	}
	b.digests, b.seen = nil, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

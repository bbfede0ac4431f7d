package integrity

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
)

// Evidence proofs: a case keeps events it collected (an NDJSON export,
// with their vigil.id); a proof shows, with the public key alone, that
// each of them is exactly an event Vigil stored and sealed: its digest is
// one of its batch's sealed digests, the batch's digest is in the chain,
// and the chain links the checkpoints signed before and after it.

// ProofFormat names the proof format.
const ProofFormat = "vigil-evidence-proof-v1"

// Proof is an evidence proof.
type Proof struct {
	Format   string        `json:"format"`
	Instance string        `json:"instance"`
	Events   []ProvenEvent `json:"events"`
	Batches  []ProofBatch  `json:"batches"`
	Segments []Segment     `json:"segments"`
}

// ProvenEvent is one evidence event: its digest and where it is sealed.
type ProvenEvent struct {
	ID     string `json:"id"`
	Digest string `json:"digest"`
	Seq    uint64 `json:"seq"`
	// Position is the event's place in its batch's digest list.
	Position int `json:"position"`
}

// ProofBatch is a sealed batch holding evidence: its chain entry and the
// digests of all its (remaining) events, in order.
type ProofBatch struct {
	Entry   BundleEntry `json:"entry"`
	Digests []string    `json:"digests"`
}

// Segment is the chain between two signed checkpoints (From nil: the
// chain's start) with every entry in between.
type Segment struct {
	From    *Signed       `json:"from,omitempty"`
	To      *Signed       `json:"to"`
	Entries []BundleEntry `json:"entries"`
}

// EventFromRow turns a stored event as search returns it (public names,
// "@timestamp") back into the event whose digest the store sealed.
func EventFromRow(row []event.Field) (event.Event, error) {
	var ev event.Event
	var ts, original string
	for _, f := range row {
		switch f.Name {
		case "@timestamp":
			ts = f.Value
		case store.FieldOriginalTime:
			original = f.Value
		default:
			ev.Fields = append(ev.Fields, f)
		}
	}
	if original != "" {
		ts = original
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ev, fmt.Errorf("event without a readable @timestamp (%q)", ts)
	}
	ev.Time = t
	return ev, nil
}

// DigestScanner reads the digests of stored rows matching a filter
// (store.Embedded).
type DigestScanner interface {
	ScanDigestsOf(ctx context.Context, filter string, start, end time.Time, fn func(store.StoredEvent) error) error
}

// Prove builds the proof that rows (stored events, as search returns
// them) are sealed. Every batch concerned must be covered by a checkpoint
// (the caller writes one first when needed).
func Prove(ctx context.Context, l *Ledger, st DigestScanner, rows [][]event.Field) (*Proof, error) {
	p := &Proof{Format: ProofFormat}
	var err error
	if p.Instance, err = l.Instance(ctx); err != nil {
		return nil, err
	}
	bySeq := map[uint64][]int{} // seq → indexes into p.Events
	idx := map[string]int{}
	for i, row := range rows {
		ev, err := EventFromRow(row)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i+1, err)
		}
		id := ev.Value(event.FieldID)
		seq, index, ok := parseID(id)
		if !ok {
			return nil, fmt.Errorf("event %d has no vigil.id: it is not a stored event", i+1)
		}
		d := store.EventDigest(&ev)
		p.Events = append(p.Events, ProvenEvent{ID: id, Digest: hex.EncodeToString(d[:]), Seq: seq, Position: index})
		bySeq[seq] = append(bySeq[seq], len(p.Events)-1)
		idx[id] = len(p.Events) - 1
	}
	seqs := make([]uint64, 0, len(bySeq))
	for s := range bySeq {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var ns []int64
	for _, seq := range seqs {
		e, err := l.effective(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", seq, err)
		}
		stored := map[int]store.Digest{}
		err = st.ScanDigestsOf(ctx, fmt.Sprintf(`vigil.id:="%d-"*`, seq), time.Unix(0, 0), time.Now().AddDate(10, 0, 0), func(se store.StoredEvent) error {
			if s, i, ok := parseID(se.ID); ok && s == seq {
				stored[i] = se.Digest
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		positions := make([]int, 0, len(stored))
		for i := range stored {
			positions = append(positions, i)
		}
		sort.Ints(positions)
		digests := make([]store.Digest, len(positions))
		hexes := make([]string, len(positions))
		for k, i := range positions {
			digests[k] = stored[i]
			hexes[k] = hex.EncodeToString(digests[k][:])
		}
		if BatchDigest(seq, digests) != e.Digest {
			return nil, fmt.Errorf("batch %d as stored does not match its seal: run vigil verify", seq)
		}
		for _, k := range bySeq[seq] {
			ev := &p.Events[k]
			pos := slices.Index(positions, ev.Position)
			if pos < 0 {
				return nil, fmt.Errorf("event %s is not in the store", ev.ID)
			}
			if hexes[pos] != ev.Digest {
				return nil, fmt.Errorf("event %s differs from the stored, sealed event", ev.ID)
			}
			ev.Position = pos
		}
		p.Batches = append(p.Batches, ProofBatch{Entry: bundleEntry(e), Digests: hexes})
		ns = append(ns, e.N)
	}
	// The checkpoints around each entry, each interval once.
	var cps []*Signed
	var cpN []int64
	err = l.Checkpoints(ctx, func(s *Signed) error {
		c, err := s.Parse()
		if err != nil {
			return err
		}
		cps, cpN = append(cps, s), append(cpN, c.Entries)
		return nil
	})
	if err != nil {
		return nil, err
	}
	done := map[int]bool{}
	for _, n := range ns {
		k := sort.Search(len(cpN), func(i int) bool { return cpN[i] >= n })
		if k == len(cpN) {
			return nil, fmt.Errorf("ledger entry %d is not covered by a signed checkpoint yet", n)
		}
		if done[k] {
			continue
		}
		done[k] = true
		seg := Segment{To: cps[k]}
		from := int64(1)
		if k > 0 {
			seg.From, from = cps[k-1], cpN[k-1]+1
		}
		err := l.Entries(ctx, from, func(e *Entry) error {
			if e.N > cpN[k] {
				return errStopEntries
			}
			seg.Entries = append(seg.Entries, bundleEntry(e))
			return nil
		})
		if err != nil && err != errStopEntries {
			return nil, err
		}
		p.Segments = append(p.Segments, seg)
	}
	return p, nil
}

var errStopEntries = fmt.Errorf("stop")

func bundleEntry(e *Entry) BundleEntry {
	return BundleEntry{N: e.N, Seq: e.Seq, Kind: e.Kind.String(), Source: e.Source, Events: e.Events, MinTime: e.MinTime, MaxTime: e.MaxTime,
		Digest: Hex(e.Digest), Chain: Hex(e.Chain), Note: e.Note}
}

// ProofResult is what VerifyProof found.
type ProofResult struct {
	Events   int      `json:"events"`
	Problems []string `json:"problems"`
}

// VerifyProof checks a proof with the public key alone: the checkpoints'
// signatures, every segment's chain from one signed checkpoint to the
// next, each batch's digest from its event digests and its entry in a
// segment, and each event's digest in its batch. With rows (the evidence
// file's events) it also recomputes each event's digest from its content.
func VerifyProof(p *Proof, pub ed25519.PublicKey, rows [][]event.Field) *ProofResult {
	res := &ProofResult{Problems: []string{}}
	bad := func(format string, a ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, a...)) }
	if p.Format != ProofFormat {
		bad("format %q, want %q", p.Format, ProofFormat)
		return res
	}
	entries := map[int64]BundleEntry{}
	for si, seg := range p.Segments {
		start, startN := Hash{}, int64(0)
		if seg.From != nil {
			if err := seg.From.Verify(pub); err != nil {
				bad("segment %d: first checkpoint: %v", si+1, err)
			}
			c, err := seg.From.Parse()
			if err != nil {
				bad("segment %d: %v", si+1, err)
				continue
			}
			start, _ = ParseHex(c.Chain)
			startN = c.Entries
		}
		if seg.To == nil {
			bad("segment %d has no closing checkpoint", si+1)
			continue
		}
		if err := seg.To.Verify(pub); err != nil {
			bad("segment %d: closing checkpoint: %v", si+1, err)
		}
		to, err := seg.To.Parse()
		if err != nil {
			bad("segment %d: %v", si+1, err)
			continue
		}
		prev, n := start, startN
		for _, be := range seg.Entries {
			k, err1 := kindFromString(be.Kind)
			d, err2 := ParseHex(be.Digest)
			c, err3 := ParseHex(be.Chain)
			if err1 != nil || err2 != nil || err3 != nil || be.N != n+1 {
				bad("segment %d: entry %d malformed or out of order", si+1, be.N)
				break
			}
			e := &Entry{N: be.N, Seq: be.Seq, Kind: k, Source: be.Source, Events: be.Events, MinTime: be.MinTime, MaxTime: be.MaxTime, Digest: d, Note: be.Note}
			if Link(prev, e) != c {
				bad("segment %d: entry %d does not link", si+1, be.N)
			}
			prev, n = c, be.N
			entries[be.N] = be
		}
		if n != to.Entries || Hex(prev) != to.Chain {
			bad("segment %d does not end at the chain checkpoint %d signed", si+1, to.Number)
		}
	}
	batchDigests := map[uint64][]string{}
	for _, b := range p.Batches {
		in, ok := entries[b.Entry.N]
		if !ok || in != b.Entry {
			bad("batch %d: its entry %d is not in a signed segment", b.Entry.Seq, b.Entry.N)
			continue
		}
		ds := make([]store.Digest, len(b.Digests))
		for i, h := range b.Digests {
			d, err := ParseHex(h)
			if err != nil {
				bad("batch %d: malformed digest", b.Entry.Seq)
			}
			ds[i] = d
		}
		if Hex(BatchDigest(b.Entry.Seq, ds)) != b.Entry.Digest {
			bad("batch %d: its events' digests do not give its sealed digest", b.Entry.Seq)
		}
		batchDigests[b.Entry.Seq] = b.Digests
	}
	for _, ev := range p.Events {
		ds := batchDigests[ev.Seq]
		if ev.Position < 0 || ev.Position >= len(ds) || ds[ev.Position] != ev.Digest {
			bad("event %s: its digest is not in batch %d's sealed digests", ev.ID, ev.Seq)
			continue
		}
		res.Events++
	}
	if rows != nil {
		want := map[string]string{}
		for _, ev := range p.Events {
			want[ev.ID] = ev.Digest
		}
		for i, row := range rows {
			ev, err := EventFromRow(row)
			if err != nil {
				bad("evidence event %d: %v", i+1, err)
				continue
			}
			id := ev.Value(event.FieldID)
			d := store.EventDigest(&ev)
			switch w, ok := want[id]; {
			case !ok:
				bad("evidence event %d (%s) is not in the proof", i+1, nonEmptyID(id))
			case w != hex.EncodeToString(d[:]):
				bad("evidence event %s differs from the sealed event", id)
			}
		}
		if len(rows) != len(p.Events) {
			bad("the evidence has %d events, the proof %d", len(rows), len(p.Events))
		}
	}
	return res
}

func nonEmptyID(id string) string {
	if strings.TrimSpace(id) == "" {
		return "no vigil.id"
	}
	return id
}

// ReadRows reads events exported as NDJSON (one JSON object per line,
// the fields search returns), as case evidence keeps them.
func ReadRows(data []byte) ([][]event.Field, error) {
	var rows [][]event.Field
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %w", i+1, err)
		}
		row := make([]event.Field, 0, len(m))
		for k, v := range m {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				s = string(v) // numbers and the like, as their JSON text
			}
			row = append(row, event.Field{Name: k, Value: s})
		}
		rows = append(rows, row)
	}
	return rows, nil
}

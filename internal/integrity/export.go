package integrity

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// BundleFormat names the export format.
const BundleFormat = "vigil-integrity-export-v1"

// Bundle is what an auditor takes away: the signed checkpoints and the
// chain entries from just after one of them to the end, checkable with the
// public key alone (VerifyBundle), without Vigil's data.
type Bundle struct {
	Format    string `json:"format"`
	Instance  string `json:"instance"`
	PublicKey string `json:"public_key"` // PEM, for reference: verify with a key obtained separately
	// Checkpoints are every checkpoint, in order.
	Checkpoints []*Signed `json:"checkpoints"`
	// Start is the checkpoint number the entries start after (0: the
	// beginning); Entries follow it to the head.
	Start   int64         `json:"start"`
	Entries []BundleEntry `json:"entries"`
}

// BundleEntry is a ledger entry in the export.
type BundleEntry struct {
	N       int64     `json:"n"`
	Seq     uint64    `json:"seq"`
	Kind    string    `json:"kind"`
	Source  string    `json:"source,omitempty"`
	Events  int       `json:"events"`
	MinTime time.Time `json:"min_time,omitzero"`
	MaxTime time.Time `json:"max_time,omitzero"`
	Digest  string    `json:"digest"`
	Chain   string    `json:"chain"`
	Note    string    `json:"note,omitempty"`
}

func kindFromString(s string) (Kind, error) {
	for k := KindBatch; k <= KindUnsealed; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown entry kind %q", s)
}

// Export builds a bundle whose entries start after the last checkpoint at
// or before since (zero: all).
func Export(ctx context.Context, l *Ledger, pub ed25519.PublicKey, since time.Time) (*Bundle, error) {
	pemKey, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Format: BundleFormat, PublicKey: string(pemKey)}
	if b.Instance, err = l.Instance(ctx); err != nil {
		return nil, err
	}
	var startEntries int64
	err = l.Checkpoints(ctx, func(s *Signed) error {
		b.Checkpoints = append(b.Checkpoints, s)
		c, err := s.Parse()
		if err != nil {
			return err
		}
		if !since.IsZero() && !c.Time.After(since) {
			b.Start, startEntries = c.Number, c.Entries
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = l.Entries(ctx, startEntries+1, func(e *Entry) error {
		b.Entries = append(b.Entries, BundleEntry{N: e.N, Seq: e.Seq, Kind: e.Kind.String(), Source: e.Source, Events: e.Events,
			MinTime: e.MinTime, MaxTime: e.MaxTime, Digest: Hex(e.Digest), Chain: Hex(e.Chain), Note: e.Note})
		return nil
	})
	return b, err
}

// BundleResult is what VerifyBundle found.
type BundleResult struct {
	Checkpoints int         `json:"checkpoints"`
	Entries     int         `json:"entries"`
	Last        *Checkpoint `json:"last_checkpoint,omitempty"`
	Problems    []Problem   `json:"problems"`
}

// VerifyBundle checks a bundle with only the public key: every
// checkpoint's signature and succession, every entry's link from the
// starting checkpoint's signed chain value, and that every later checkpoint
// signs the chain value the entries give. verifyTS, when set, checks
// timestamp tokens.
func VerifyBundle(b *Bundle, pub ed25519.PublicKey, verifyTS func(token []byte, digest Hash) error) *BundleResult {
	res := &BundleResult{Problems: []Problem{}}
	add := func(p Problem) { res.Problems = append(res.Problems, p) }
	if b.Format != BundleFormat {
		add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("format %q, want %q", b.Format, BundleFormat)})
		return res
	}
	var (
		prevHash string
		number   int64
		start    = Hash{}
		startN   int64
		signedAt = map[int64]string{} // entries → chain a checkpoint signed
		nums     = map[int64]int64{}
	)
	for _, s := range b.Checkpoints {
		c, err := s.Parse()
		if err != nil {
			add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint after %d: %v", number, err)})
			continue
		}
		res.Checkpoints++
		if err := s.Verify(pub); err != nil {
			add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d: %v", c.Number, err)})
		}
		if c.Number != number+1 || c.Prev != prevHash {
			add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d does not follow checkpoint %d", c.Number, number)})
		}
		if len(s.Timestamp) > 0 && verifyTS != nil {
			if err := verifyTS(s.Timestamp, s.BodyHash()); err != nil {
				add(Problem{Kind: ProblemTimestamp, Detail: fmt.Sprintf("checkpoint %d: %v", c.Number, err)})
			}
		}
		if c.Number == b.Start {
			h, err := ParseHex(c.Chain)
			if err != nil {
				add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("checkpoint %d: %v", c.Number, err)})
			}
			start, startN = h, c.Entries
		}
		signedAt[c.Entries] = c.Chain
		nums[c.Entries] = c.Number
		prevHash, number = Hex(s.BodyHash()), c.Number
		cc := *c
		res.Last = &cc
	}
	if b.Start != 0 && startN == 0 && b.Start > 0 {
		found := false
		for _, s := range b.Checkpoints {
			if c, err := s.Parse(); err == nil && c.Number == b.Start {
				found = true
			}
		}
		if !found {
			add(Problem{Kind: ProblemCheckpoint, Detail: fmt.Sprintf("the entries start after checkpoint %d, which the bundle lacks", b.Start)})
			return res
		}
	}
	prev, expect := start, startN+1
	for _, be := range b.Entries {
		res.Entries++
		k, err := kindFromString(be.Kind)
		d, err2 := ParseHex(be.Digest)
		c, err3 := ParseHex(be.Chain)
		if err != nil || err2 != nil || err3 != nil {
			add(Problem{Kind: ProblemChain, Entry: be.N, Detail: "malformed entry"})
			continue
		}
		if be.N != expect {
			add(Problem{Kind: ProblemChain, Entry: expect, Detail: fmt.Sprintf("entries %d to %d are missing", expect, be.N-1)})
		}
		expect = be.N + 1
		e := &Entry{N: be.N, Seq: be.Seq, Kind: k, Source: be.Source, Events: be.Events, MinTime: be.MinTime, MaxTime: be.MaxTime, Digest: d, Note: be.Note}
		want := Link(prev, e)
		if want != c {
			add(Problem{Kind: ProblemChain, Entry: be.N, Seq: be.Seq, Detail: fmt.Sprintf("entry %d does not match its chain link", be.N)})
		}
		if sc, ok := signedAt[be.N]; ok && sc != Hex(want) {
			add(Problem{Kind: ProblemChain, Entry: be.N, Detail: fmt.Sprintf("checkpoint %d signed another chain at entry %d", nums[be.N], be.N)})
		}
		prev = c
	}
	if res.Last != nil && res.Last.Entries >= expect {
		add(Problem{Kind: ProblemChain, Entry: expect, Detail: fmt.Sprintf("checkpoint %d covers %d entries; the bundle ends at %d", res.Last.Number, res.Last.Entries, expect-1)})
	}
	return res
}

// WriteExport writes an export to dir: bundle.json, the public key, and
// the latest checkpoint as the exact bytes signed (checkpoint.json), its
// raw signature (checkpoint.sig) and timestamp token (checkpoint.tsr), so
// it can be checked with standard tools too (openssl pkeyutl -verify
// -pubin -inkey integrity.pub -rawin -in checkpoint.json -sigfile
// checkpoint.sig).
func WriteExport(dir string, b *Bundle) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"bundle.json": data, PublicKeyFile: []byte(b.PublicKey)}
	if n := len(b.Checkpoints); n > 0 {
		last := b.Checkpoints[n-1]
		files["checkpoint.json"] = last.Body
		files["checkpoint.sig"] = last.Signature
		if len(last.Timestamp) > 0 {
			files["checkpoint.tsr"] = last.Timestamp
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o640); err != nil {
			return err
		}
	}
	return nil
}

// ReadBundle reads bundle.json (or a bundle file).
func ReadBundle(path string) (*Bundle, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "bundle.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &b, nil
}

// Package integrity makes tampering with stored events detectable.
//
// Every batch the store writer hands to the log store is sealed: its digest
// is the SHA-256 over the digests of its events' canonical stored form
// (store.EventDigest), in order. Seals go into a ledger (SQLite, beside the
// store) as a hash chain in bus-sequence order, so a seal cannot be
// changed, removed or reordered without breaking every link after it.
// Periodically the chain's head is written into a checkpoint signed with
// an Ed25519 key kept in the data dir, and optionally timestamped by an
// RFC 3161 authority. Verify re-reads the stored events, recomputes every
// digest and link and checks every signature, and names the first batch
// or event that is missing, altered or added.
//
// What a seal proves, and what it does not: an attacker who can write the
// data dir but does not hold the signing key cannot change, remove or add a
// stored event without verify saying which; one who holds the key can
// rewrite history after the last checkpoint that left the machine (an
// exported checkpoint or an RFC 3161 timestamp anchors the chain
// elsewhere). Batches the store legitimately deletes (retention,
// disposal) are recorded in the chain too, so deletion is never silent.
package integrity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// Hash is a SHA-256 value.
type Hash = [sha256.Size]byte

// Kind is what a ledger entry records.
type Kind int

// Entry kinds.
const (
	// KindBatch: a batch of events was stored; Digest seals them.
	KindBatch Kind = iota
	// KindCorrupt: a batch could not be decoded and nothing was stored;
	// Digest is over its raw bytes.
	KindCorrupt
	// KindGap: bus sequences Seq..Seq+Events-1 were never stored (they
	// were on the bus, not yet in the store, when the backup this instance
	// was restored from was taken).
	KindGap
	// KindReseal: events of batch Seq were deleted under a recorded
	// disposal; Digest seals the events that remain (Events of them).
	KindReseal
)

func (k Kind) String() string {
	switch k {
	case KindBatch:
		return "batch"
	case KindCorrupt:
		return "corrupt"
	case KindGap:
		return "gap"
	case KindReseal:
		return "reseal"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Entry is one link of the chain.
type Entry struct {
	// N is the entry's position in the chain, from 1.
	N    int64
	Seq  uint64
	Kind Kind
	// Source is the bus source of a batch (syslog-udp, http, …).
	Source string
	// Events is the number of events sealed.
	Events int
	// MinTime and MaxTime bound the times the events are filed under in
	// the store.
	MinTime, MaxTime time.Time
	Digest           Hash
	// Chain is the hash of this entry and every entry before it.
	Chain Hash
	// Sealed is when the entry was committed.
	Sealed time.Time
	// Note explains a gap or a reseal (the disposal it records).
	Note string
}

// BatchDigest seals the digests of a batch's events, in order.
func BatchDigest(seq uint64, events []store.Digest) Hash {
	h := sha256.New()
	var b [2 * binary.MaxVarintLen64]byte
	h.Write([]byte("vigil-batch-v1\n"))
	n := binary.PutUvarint(b[:], seq)
	n += binary.PutUvarint(b[n:], uint64(len(events)))
	h.Write(b[:n])
	for i := range events {
		h.Write(events[i][:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// CorruptDigest seals an undecodable batch by its raw bytes.
func CorruptDigest(seq uint64, data []byte) Hash {
	h := sha256.New()
	h.Write([]byte("vigil-corrupt-v1\n"))
	h.Write(binary.AppendUvarint(nil, seq))
	sum := sha256.Sum256(data)
	h.Write(sum[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// Link is the chain hash of an entry after prev.
func Link(prev Hash, e *Entry) Hash {
	h := sha256.New()
	h.Write([]byte("vigil-chain-v1\n"))
	h.Write(prev[:])
	b := binary.AppendUvarint(nil, uint64(e.N))
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendUvarint(b, uint64(e.Kind))
	b = binary.AppendUvarint(b, uint64(e.Events))
	b = binary.AppendVarint(b, nanos(e.MinTime))
	b = binary.AppendVarint(b, nanos(e.MaxTime))
	b = binary.AppendUvarint(b, uint64(len(e.Source)))
	b = append(b, e.Source...)
	b = binary.AppendUvarint(b, uint64(len(e.Note)))
	b = append(b, e.Note...)
	h.Write(b)
	h.Write(e.Digest[:])
	var out Hash
	h.Sum(out[:0])
	return out
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Hex prints a hash.
func Hex(h Hash) string { return hex.EncodeToString(h[:]) }

// ParseHex reads a hash printed by Hex.
func ParseHex(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("not a SHA-256 hash in hex: %q", s)
	}
	copy(h[:], b)
	return h, nil
}

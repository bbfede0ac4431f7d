package integrity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/atomicfile"
)

// CheckpointFormat names the checkpoint body's format.
const CheckpointFormat = "vigil-checkpoint-v1"

// Checkpoint is the signed statement of the chain's head at a time.
type Checkpoint struct {
	Format string `json:"format"`
	// Instance identifies the Vigil instance (its ledger).
	Instance string    `json:"instance"`
	Number   int64     `json:"number"`
	Time     time.Time `json:"time"`
	// Entries is the chain length and Chain its head (hex).
	Entries int64  `json:"entries"`
	Chain   string `json:"chain"`
	// Seq is the highest bus sequence covered; Batches and Events count
	// what is sealed and kept.
	Seq     uint64 `json:"seq"`
	Batches int64  `json:"batches"`
	Events  int64  `json:"events"`
	// Audit is the head of the audit trail of Vigil's own use, when one
	// is wired in.
	Audit *AuditHead `json:"audit,omitempty"`
	// Prev is the SHA-256 (hex) of the previous checkpoint's body.
	Prev string `json:"prev"`
	// Key identifies the signing key (KeyID).
	Key string `json:"key"`
}

// AuditHead is the end of the audit trail's own hash chain.
type AuditHead struct {
	Records int64  `json:"records"`
	Hash    string `json:"hash"`
}

// Signed is a checkpoint as stored and exported: the exact body bytes that
// were signed, the Ed25519 signature over them, and an optional RFC 3161
// timestamp token over the body's SHA-256.
type Signed struct {
	Body      []byte `json:"body"`
	Signature []byte `json:"signature"`
	Timestamp []byte `json:"timestamp,omitempty"`
}

// Parse reads the body.
func (s *Signed) Parse() (*Checkpoint, error) {
	var c Checkpoint
	dec := json.NewDecoder(bytes.NewReader(s.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint body: %w", err)
	}
	if c.Format != CheckpointFormat {
		return nil, fmt.Errorf("checkpoint body: format %q, want %q", c.Format, CheckpointFormat)
	}
	return &c, nil
}

// BodyHash is the SHA-256 of the body: what the next checkpoint's Prev
// names and what a timestamp authority stamps.
func (s *Signed) BodyHash() Hash { return sha256.Sum256(s.Body) }

// Verify checks the signature with pub.
func (s *Signed) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, s.Body, s.Signature) {
		return errors.New("signature does not verify with the public key")
	}
	return nil
}

// Key is the Ed25519 key pair that signs checkpoints.
type Key struct {
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
	ID      string
}

// Key file names in the key directory.
const (
	PrivateKeyFile = "integrity.key"
	PublicKeyFile  = "integrity.pub"
)

// LoadOrCreateKey reads the signing key from dir, generating it (mode
// 0600) on first use. created says whether it was generated.
func LoadOrCreateKey(dir string) (k *Key, created bool, err error) {
	path := filepath.Join(dir, PrivateKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("key dir: %w", err)
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, false, err
		}
		if err := atomicfile.WriteMode(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, false, fmt.Errorf("write signing key: %w", err)
		}
		pubPEM, err := MarshalPublicKey(pub)
		if err != nil {
			return nil, false, err
		}
		if err := atomicfile.WriteMode(filepath.Join(dir, PublicKeyFile), pubPEM, 0o644); err != nil {
			return nil, false, fmt.Errorf("write public key: %w", err)
		}
		return &Key{Private: priv, Public: pub, ID: KeyID(pub)}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, false, fmt.Errorf("signing key %s: not a PEM private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, false, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{Private: priv, Public: pub, ID: KeyID(pub)}, false, nil
}

// MarshalPublicKey prints pub as a PEM "PUBLIC KEY" (what openssl reads).
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads a PEM public key written by MarshalPublicKey.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 public key")
	}
	return pub, nil
}

// KeyID names a public key: the first 8 bytes of the SHA-256 of its
// PKIX encoding, in hex.
func KeyID(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// Timestamper obtains an RFC 3161 timestamp token over a SHA-256 digest.
type Timestamper interface {
	Timestamp(ctx context.Context, digest Hash) ([]byte, error)
}

// Checkpointer writes signed checkpoints of the ledger's head.
type Checkpointer struct {
	Ledger *Ledger
	Key    *Key
	// AuditHead, when set, reads the audit trail's head for each
	// checkpoint.
	AuditHead func(context.Context) (*AuditHead, error)
	// TSA, when set, timestamps each checkpoint; a failure is logged and
	// the checkpoint kept without a token.
	TSA Timestamper
	// StoreDir, when set, is the running store's directory: its new parts
	// are sealed (SealParts) before each checkpoint.
	StoreDir string
	Log      *slog.Logger
	Now      func() time.Time
}

// Checkpoint signs the current head unless the last checkpoint already
// covers it. It returns the checkpoint (nil when none was needed).
func (c *Checkpointer) Checkpoint(ctx context.Context) (*Signed, error) {
	l := c.Ledger
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if c.StoreDir != "" {
		if _, _, err := l.SealParts(ctx, c.StoreDir); err != nil {
			c.logger().Warn("seal store parts", "err", err)
		}
	}
	head := l.Head()
	var audit *AuditHead
	if c.AuditHead != nil {
		a, err := c.AuditHead(ctx)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: audit trail head: %w", err)
		}
		audit = a
	}
	last, err := l.LastCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	cp := &Checkpoint{Format: CheckpointFormat, Number: 1, Time: now().UTC(), Entries: head.N, Chain: Hex(head.Chain),
		Seq: head.Seq, Batches: head.Batches, Events: head.Events, Audit: audit, Key: c.Key.ID}
	if cp.Instance, err = l.Instance(ctx); err != nil {
		return nil, err
	}
	if last != nil {
		prev, err := last.Parse()
		if err != nil {
			return nil, err
		}
		if prev.Entries == head.N && sameAudit(prev.Audit, audit) {
			return nil, nil
		}
		cp.Number = prev.Number + 1
		cp.Prev = Hex(last.BodyHash())
	}
	body, err := json.Marshal(cp)
	if err != nil {
		return nil, err
	}
	s := &Signed{Body: body, Signature: ed25519.Sign(c.Key.Private, body)}
	if c.TSA != nil {
		tok, err := c.TSA.Timestamp(ctx, s.BodyHash())
		if err != nil {
			c.logger().Warn("checkpoint kept without an RFC 3161 timestamp", "checkpoint", cp.Number, "err", err)
		} else {
			s.Timestamp = tok
		}
	}
	if err := l.addCheckpoint(ctx, cp, s); err != nil {
		return nil, err
	}
	return s, nil
}

func sameAudit(a, b *AuditHead) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (c *Checkpointer) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Run writes a checkpoint every interval until ctx ends, and one more
// then.
func (c *Checkpointer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if _, err := c.Checkpoint(fctx); err != nil {
				c.logger().Error("final checkpoint", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if _, err := c.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				c.logger().Error("checkpoint", "err", err)
			}
		}
	}
}

// Instance is the ledger's instance id, generated on first use.
func (l *Ledger) Instance(ctx context.Context) (string, error) {
	var id string
	err := l.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance'`).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("ledger instance: %w", err)
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id = hex.EncodeToString(b)
	if _, err := l.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('instance', ?) ON CONFLICT (key) DO NOTHING`, id); err != nil {
		return "", fmt.Errorf("ledger instance: %w", err)
	}
	return l.Instance(ctx)
}

func (l *Ledger) addCheckpoint(ctx context.Context, cp *Checkpoint, s *Signed) error {
	_, err := l.db.ExecContext(ctx, `INSERT INTO checkpoints (number, n, time, body, signature, timestamp_token) VALUES (?, ?, ?, ?, ?, ?)`,
		cp.Number, cp.Entries, cp.Time.UnixNano(), s.Body, s.Signature, nullBytes(s.Timestamp))
	if err != nil {
		return fmt.Errorf("store checkpoint %d: %w", cp.Number, err)
	}
	return nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// LastCheckpoint returns the latest checkpoint, or nil.
func (l *Ledger) LastCheckpoint(ctx context.Context) (*Signed, error) {
	var s Signed
	err := l.db.QueryRowContext(ctx, `SELECT body, signature, timestamp_token FROM checkpoints ORDER BY number DESC LIMIT 1`).Scan(&s.Body, &s.Signature, &s.Timestamp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return &s, nil
}

// Checkpoints calls fn for every checkpoint in order.
func (l *Ledger) Checkpoints(ctx context.Context, fn func(*Signed) error) error {
	rows, err := l.db.QueryContext(ctx, `SELECT body, signature, timestamp_token FROM checkpoints ORDER BY number`)
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Signed
		if err := rows.Scan(&s.Body, &s.Signature, &s.Timestamp); err != nil {
			return fmt.Errorf("read checkpoints: %w", err)
		}
		if err := fn(&s); err != nil {
			return err
		}
	}
	return rows.Err()
}

package backup

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/integrity"
	"github.com/vigil-siem/vigil/internal/keyring"
	"github.com/vigil-siem/vigil/internal/store"
)

// instance is a data dir with a store, a ledger sealing what is added, a
// control-plane database and the files a server keeps.
type instance struct {
	dir    string
	store  *store.Embedded
	ledger *integrity.Ledger
	db     *sql.DB
	seq    uint64
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	in := &instance{dir: t.TempDir()}
	var err error
	if in.store, err = store.Open(filepath.Join(in.dir, integrity.StoreDir), store.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.store.Close)
	if in.ledger, err = integrity.OpenLedger(context.Background(), filepath.Join(in.dir, integrity.LedgerFile), integrity.LedgerOptions{RowTime: in.store.RowTime}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.ledger.Close() })
	if in.db, err = db.Open(filepath.Join(in.dir, "vigil.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.db.Close() })
	if _, err := in.db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := integrity.LoadOrCreateKey(filepath.Join(in.dir, integrity.KeyDir)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in.dir, "ingest.token"), []byte("vgl_secret\n"), 0o600)
	return in
}

// add stores a batch of n events as the store writer would: sealed, ids
// set, committed.
func (in *instance) add(t *testing.T, n int, tag string) {
	t.Helper()
	in.seq++
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: time.Now().Add(-time.Minute)}
		e.Add("message", fmt.Sprintf("%s %d", tag, i))
		e.Add(event.FieldID, fmt.Sprintf("%d-%d", in.seq, i))
		evs = append(evs, e)
	}
	in.ledger.Seal(in.seq, "test", evs)
	in.store.Add(evs)
	in.store.Flush()
	if err := in.ledger.Commit(context.Background(), in.seq); err != nil {
		t.Fatal(err)
	}
	if _, err := in.db.Exec(`INSERT INTO notes VALUES (?)`, tag); err != nil {
		t.Fatal(err)
	}
}

func (in *instance) source() Source {
	return Source{DataDir: in.dir, Databases: map[string]*sql.DB{"vigil.db": in.db, integrity.LedgerFile: in.ledger.DB()},
		Snapshot: func(ctx context.Context, dir string) (uint64, integrity.Head, error) {
			// No writer here: nothing is added while this runs.
			return in.seq, in.ledger.Head(), in.store.SnapshotView(dir)
		}}
}

func count(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	err := s.Search(context.Background(), store.Request{Query: "*", Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}, func([]event.Field) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func s3Server(t *testing.T) func(string) string {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(sigV4(gofakes3.New(backend).Server(), "test", "test-secret", "us-east-1"))
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("vigil-backups"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VIGIL_BACKUP_S3_ENDPOINT": srv.URL, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_REGION": "us-east-1"}
	return func(k string) string { return env[k] }
}

func TestBackupRestore(t *testing.T) {
	ring, err := keyring.Parse([]byte(mustKey(t, "k1")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) (string, func(string) string)
		keys *keyring.Keyring
	}{
		{"directory", func(t *testing.T) (string, func(string) string) { return filepath.Join(t.TempDir(), "b"), os.Getenv }, nil},
		{"directory encrypted", func(t *testing.T) (string, func(string) string) { return filepath.Join(t.TempDir(), "b"), os.Getenv }, ring},
		{"s3", func(t *testing.T) (string, func(string) string) { return "s3://vigil-backups/site-a", s3Server(t) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			in := newInstance(t)
			in.add(t, 50, "first")
			spec, env := tc.spec(t)
			tg, err := OpenTarget(spec, env)
			if err != nil {
				t.Fatal(err)
			}
			m1, err := Run(ctx, in.source(), tg, Options{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			in.add(t, 30, "second")
			m2, err := Run(ctx, in.source(), tg, Options{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			// Incremental: the second backup writes the new part, the
			// databases and small files, not the first part again.
			if m2.Previous != m1.ID || m2.Stats.NewBytes >= m2.Stats.Bytes || m2.Stats.NewFiles >= m2.Stats.Files {
				t.Fatalf("second backup: %+v (previous %q)", m2.Stats, m2.Previous)
			}
			if tc.keys != nil {
				// Nothing readable in the target.
				keys, _ := tg.List(ctx, "blobs/")
				for _, k := range keys {
					r, _ := tg.Get(ctx, k)
					head := make([]byte, 8)
					r.Read(head)
					r.Close()
					if !keyring.IsEncrypted(head) {
						t.Fatalf("blob %s is not encrypted", k)
					}
				}
			}
			in.add(t, 5, "after the backup")
			dst := filepath.Join(t.TempDir(), "restored")
			got, err := Restore(ctx, tg, "", dst, Options{Keys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != m2.ID {
				t.Fatalf("restored %s, want the latest %s", got.ID, m2.ID)
			}
			rs, err := store.Open(filepath.Join(dst, integrity.StoreDir), store.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			if n := count(t, rs); n != 80 {
				t.Fatalf("restored store holds %d events, want the 80 backed up", n)
			}
			rdb, err := db.Open(filepath.Join(dst, "vigil.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			var notes int
			rdb.QueryRow(`SELECT COUNT(*) FROM notes`).Scan(&notes)
			if notes != 2 {
				t.Fatalf("restored database has %d notes, want 2", notes)
			}
			for _, f := range []string{"ingest.token", "keys/integrity.key", "keys/integrity.pub", integrity.WriterFile} {
				if _, err := os.Stat(filepath.Join(dst, f)); err != nil {
					t.Errorf("restored data dir lacks %s", f)
				}
			}
			// The restored chain verifies against the restored store.
			rl, err := integrity.OpenLedger(ctx, filepath.Join(dst, integrity.LedgerFile), integrity.LedgerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer rl.Close()
			key, _, _ := integrity.LoadOrCreateKey(filepath.Join(dst, integrity.KeyDir))
			rep, err := integrity.Verify(ctx, rl, integrity.VerifyOptions{PublicKey: key.Public, Store: rs})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || rep.Events != 80 {
				t.Fatalf("restored instance: %d problems %v, %d events verified", rep.ProblemsTotal, rep.Problems, rep.Events)
			}
			// Restoring into a non-empty directory is refused; a damaged
			// blob is found.
			if _, err := Restore(ctx, tg, "", dst, Options{Keys: tc.keys}); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("restore into a used dir: %v", err)
			}
		})
	}
}

func TestRestoreFindsDamage(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t)
	in.add(t, 10, "x")
	dir := filepath.Join(t.TempDir(), "b")
	tg, _ := OpenTarget(dir, os.Getenv)
	m, err := Run(ctx, in.source(), tg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var victim File
	for _, f := range m.Files {
		if f.Path == "vigil.db" {
			victim = f
		}
	}
	p := filepath.Join(dir, "blobs", victim.SHA256[:2], victim.SHA256)
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 1
	os.WriteFile(p, data, 0o600)
	_, err = Restore(ctx, tg, "", filepath.Join(t.TempDir(), "r"), Options{})
	if err == nil || !strings.Contains(err.Error(), "restore vigil.db: its content does not match the manifest") {
		t.Fatalf("err = %v", err)
	}
}

func mustKey(t *testing.T, id string) string {
	l, err := keyring.NewKeyLine(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Target is where backups are kept: keys are slash-separated paths.
type Target interface {
	// Put stores the whole of r under key; a reader of key sees the old
	// object or the complete new one, never part of it.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Exists(ctx context.Context, key string) (bool, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	String() string
}

// OpenTarget opens a target: a directory path, or s3://BUCKET/PREFIX for
// S3-compatible object storage. S3 settings come from env (the server's
// environment): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and
// VIGIL_BACKUP_S3_ENDPOINT (host:port or URL; default s3.amazonaws.com).
func OpenTarget(spec string, env func(string) string) (Target, error) {
	if rest, ok := strings.CutPrefix(spec, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("backup target %q: want s3://BUCKET/PREFIX", spec)
		}
		return openS3(bucket, strings.Trim(prefix, "/"), env)
	}
	if strings.Contains(spec, "://") {
		return nil, fmt.Errorf("backup target %q: want a directory or s3://BUCKET/PREFIX", spec)
	}
	if spec == "" {
		return nil, errors.New("no backup target")
	}
	dir, err := filepath.Abs(spec)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup target: %w", err)
	}
	return &dirTarget{dir: dir}, nil
}

type dirTarget struct{ dir string }

func (d *dirTarget) String() string { return d.dir }

func (d *dirTarget) path(key string) (string, error) {
	clean := path.Clean("/" + key)[1:]
	if clean == "" || clean != key {
		return "", fmt.Errorf("bad backup key %q", key)
	}
	return filepath.Join(d.dir, filepath.FromSlash(clean)), nil
}

func (d *dirTarget) Put(_ context.Context, key string, r io.Reader, _ int64) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

func (d *dirTarget) Get(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

func (d *dirTarget) Exists(_ context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d *dirTarget) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := filepath.Join(d.dir, filepath.FromSlash(prefix))
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".part-") {
			return nil
		}
		rel, _ := filepath.Rel(d.dir, p)
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(keys)
	return keys, err
}

type s3Target struct {
	c      *minio.Client
	bucket string
	prefix string
}

func openS3(bucket, prefix string, env func(string) string) (Target, error) {
	endpoint := env("VIGIL_BACKUP_S3_ENDPOINT")
	secure := true
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		secure = u.Scheme == "https"
		endpoint = u.Host
	}
	ak, sk := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
	if ak == "" || sk == "" {
		return nil, errors.New("S3 backup target: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the server's environment")
	}
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, env("AWS_SESSION_TOKEN")), Secure: secure,
		Region: env("AWS_REGION"), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("S3 backup target: %w", err)
	}
	return &s3Target{c: c, bucket: bucket, prefix: prefix}, nil
}

func (s *s3Target) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *s3Target) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

func (s *s3Target) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	_, err := s.c.PutObject(ctx, s.bucket, s.key(key), r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("S3 put %s: %w", key, err)
	}
	return nil
}

func (s *s3Target) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	o, err := s.c.GetObject(ctx, s.bucket, s.key(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("S3 get %s: %w", key, err)
	}
	if _, err := o.Stat(); err != nil {
		o.Close()
		return nil, fmt.Errorf("S3 get %s: %w", key, err)
	}
	return o, nil
}

func (s *s3Target) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.c.StatObject(ctx, s.bucket, s.key(key), minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return false, nil
	}
	return false, fmt.Errorf("S3 stat %s: %w", key, err)
}

func (s *s3Target) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("S3 list: %w", o.Err)
		}
		k := o.Key
		if s.prefix != "" {
			k = strings.TrimPrefix(k, s.prefix+"/")
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

package ingest

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrTooLarge is returned (wrapped) by a Body read that goes past the limit,
// before or after decompression.
var ErrTooLarge = errors.New("request body too large")

// EncodingError is a Content-Encoding the sources do not take, or a body
// that does not decode as the encoding it claims.
type EncodingError struct {
	Encoding    string
	Unsupported bool
	Err         error
}

func (e *EncodingError) Error() string {
	if e.Unsupported {
		enc := e.Encoding
		if len(enc) > 32 {
			enc = enc[:32] + "…"
		}
		return fmt.Sprintf("unsupported Content-Encoding %q: send identity or gzip", enc)
	}
	return "invalid " + e.Encoding + " body: " + e.Err.Error()
}

// Body returns a request's body decompressed (identity or gzip) and bounded
// to max bytes both as sent and once decompressed, so that a small gzip
// bomb cannot inflate without limit. Reading past the limit fails with
// ErrTooLarge. When the request carries a Budget (WithBudget), every byte
// read is charged to it until the body is closed, and a read the budget
// cannot cover fails with ErrBusy. Close the body when done.
func Body(w http.ResponseWriter, r *http.Request, max int64) (io.ReadCloser, error) {
	body, err := body(w, r, max)
	if err != nil {
		return nil, err
	}
	if b := budgetFrom(r.Context()); b != nil {
		return &metered{ctx: r.Context(), r: body, c: body, b: b}, nil
	}
	return body, nil
}

func body(w http.ResponseWriter, r *http.Request, max int64) (io.ReadCloser, error) {
	raw := http.MaxBytesReader(w, r.Body, max)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return &limited{r: raw, n: max + 1, closer: raw}, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, &EncodingError{Encoding: "gzip", Err: err}
		}
		return &limited{r: zr, n: max + 1, closer: zr}, nil
	default:
		return nil, &EncodingError{Encoding: enc, Unsupported: true}
	}
}

// IsTooLarge reports whether err came from a body over its limit.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, ErrTooLarge)
}

// limited reads at most n-1 bytes; an n-th is an error.
type limited struct {
	r      io.Reader
	n      int64
	closer io.Closer
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 1 {
		// At the limit: the body must end here.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n-1 {
		p = p[:l.n-1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return n, err
}

func (l *limited) Close() error { return l.closer.Close() }

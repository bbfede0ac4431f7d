// Package client talks to a Vigil server's HTTP API for the command-line
// tools (vigil search, vigil ingest, vigil bench).
package client

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Client is an API client.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	timeout time.Duration // of New's transport, for error messages
	// Import marks what Ingest sends as a historical import (old events
	// sent on purpose, not a live source): ?import=true.
	Import bool
}

// DefaultTimeout is how long a client waits for a server to connect and
// to begin its answer once the request is sent (NewWithTimeout changes it).
const DefaultTimeout = time.Minute

// New returns a client for server (e.g. http://127.0.0.1:8080).
// insecure skips TLS verification (self-signed servers on loopback).
func New(server, token string, insecure bool) *Client {
	return NewWithTimeout(server, token, insecure, DefaultTimeout)
}

// NewWithTimeout is New waiting at most timeout for the connection and
// for the beginning of each answer: a wrong address (a syslog port, a
// firewall that drops packets) fails with an error naming the server
// instead of hanging. Uploads and streamed answers are not cut: the time
// counts from the end of the request to the first byte of the answer.
func NewWithTimeout(server, token string, insecure bool, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator's explicit choice
	}
	tr.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = timeout
	tr.ResponseHeaderTimeout = timeout
	// Imports keep several requests in flight: keep their connections.
	tr.MaxIdleConnsPerHost = 16
	return &Client{BaseURL: strings.TrimRight(server, "/"), Token: token, HTTP: &http.Client{Transport: tr}, timeout: timeout}
}

// TokenFromDataDir reads the token a local server keeps for the command
// line on its own machine: admin.token (an admin-role token written on
// first start, mode 0600), else ingest.token (which can only send). A data
// dir encrypted at rest keeps them in its plaintext view, plain/, which is
// there only while the server runs.
func TokenFromDataDir(dataDir string) string {
	for _, name := range []string{"admin.token", "ingest.token", "plain/admin.token", "plain/ingest.token"} {
		data, err := os.ReadFile(filepath.Join(dataDir, name))
		if err != nil {
			continue
		}
		if t := strings.TrimSpace(string(data)); t != "" {
			return t
		}
	}
	return ""
}

// APIError is an error answer of the server.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return fmt.Sprintf("server answered %d: %s", e.Status, e.Msg) }

// Post sends a request to path with the client's token and returns the
// server's answer whatever its status, for the calls whose refusals carry
// a result (ingest, imports). The caller closes the body.
func (c *Client) Post(ctx context.Context, path string, q url.Values, body io.Reader, hdr http.Header) (*http.Response, error) {
	return c.send(ctx, http.MethodPost, path, q, body, hdr)
}

func (c *Client) send(ctx context.Context, method, path string, q url.Values, body io.Reader, hdr http.Header) (*http.Response, error) {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, c.explain(ctx, err)
	}
	return resp, nil
}

// explain names the server in a failed request's error, and says what a
// timeout likely means.
func (c *Client) explain(ctx context.Context, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil { // the client's timeout, not the caller's
		wait := "its time"
		if c.timeout > 0 {
			wait = c.timeout.String()
		}
		return fmt.Errorf("server %s did not answer within %s: is it Vigil's HTTP API address (--server)? (raise --timeout for slow operations): %w", c.BaseURL, wait, err)
	}
	return fmt.Errorf("server %s: %w", c.BaseURL, err)
}

// do is send, with any answer but 2xx turned into an *APIError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, hdr http.Header) (*http.Response, error) {
	resp, err := c.send(ctx, method, path, q, body, hdr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, ResponseError(resp.StatusCode, data)
	}
	return resp, nil
}

// ResponseError is the *APIError of a refused request: the "error" of its
// JSON body, or the body's text.
func ResponseError(status int, body []byte) *APIError {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	return &APIError{Status: status, Msg: msg}
}

// IngestResult is the server's answer to an ingest request.
type IngestResult struct {
	Accepted      int `json:"accepted"`
	RejectedTotal int `json:"rejected_total"`
	Rejected      []struct {
		Line   int    `json:"line"`
		Reason string `json:"reason"`
	} `json:"rejected"`
	NotStoredFrom int    `json:"not_stored_from_line"`
	Error         string `json:"error"`
}

// Ingest sends a body of events (NDJSON, or lines of format) gzip-compressed.
// A refusal of some events is not an error: see the result.
//
// To a server on this machine (a loopback address or localhost) the body
// goes uncompressed: compressing it would only cost both sides CPU.
func (c *Client) Ingest(ctx context.Context, format string, body []byte) (*IngestResult, error) {
	hdr := http.Header{"Content-Type": {"application/x-ndjson"}}
	var zb bytes.Buffer
	if isLoopback(c.BaseURL) {
		zb = *bytes.NewBuffer(body)
	} else {
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		hdr.Set("Content-Encoding", "gzip")
	}
	q := url.Values{}
	if format != "" && format != "ndjson" {
		q.Set("format", format)
	}
	if c.Import {
		q.Set("import", "true")
	}
	resp, err := c.Post(ctx, "/api/v1/ingest", q, &zb, hdr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res IngestResult
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
	}
	if resp.StatusCode/100 != 2 && !(resp.StatusCode == http.StatusBadRequest && res.RejectedTotal > 0) {
		msg := res.Error
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return &res, &APIError{Status: resp.StatusCode, Msg: msg}
	}
	return &res, nil
}

// SearchParams are the parameters of a search.
type SearchParams struct {
	Query      string
	Start, End string // RFC 3339 or relative (-1h)
	Limit      int
}

// Search streams matching events to fn as raw JSON lines.
func (c *Client) Search(ctx context.Context, p SearchParams, fn func(line []byte) error) error {
	q := url.Values{"q": {p.Query}}
	if p.Start != "" {
		q.Set("start", p.Start)
	}
	if p.End != "" {
		q.Set("end", p.End)
	}
	q.Set("limit", strconv.Itoa(p.Limit))
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/search", q, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(`{"error":`)) {
			var e struct{ Error string }
			if json.Unmarshal(line, &e) == nil {
				return fmt.Errorf("search failed midway: %s", e.Error)
			}
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Get fetches a JSON API path into v.
func (c *Client) Get(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// Download fetches path and copies the answer's body to w (a report, an
// export); any answer but 2xx is an *APIError. It returns the content
// type.
func (c *Client) Download(ctx context.Context, path string, q url.Values, w io.Writer) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("reading the answer of %s: %w", c.BaseURL, err)
	}
	return resp.Header.Get("Content-Type"), nil
}

// Do sends a JSON request (method, path, body) and decodes the JSON
// answer into v (nil: ignored); any answer but 2xx is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, v any) error {
	resp, err := c.do(ctx, method, path, nil, body, http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// WaitReady polls /readyz until the server answers ready or timeout passes.
func (c *Client) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server %s not ready after %s: %w", c.BaseURL, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Fetch sends a request without a body and returns the answer for the
// caller to read (and close); any answer but 2xx is an *APIError.
func (c *Client) Fetch(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	return c.do(ctx, method, path, q, nil, nil)
}

// isLoopback reports whether the server URL names this machine.
func isLoopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

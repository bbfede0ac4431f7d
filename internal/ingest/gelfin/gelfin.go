// Package gelfin receives GELF (Graylog Extended Log Format) as Graylog's
// inputs do: UDP datagrams (whole messages or chunks, plain, gzip or
// zlib), TCP streams of messages separated by NUL bytes (optionally over
// TLS), and HTTP POST /gelf. Messages are parsed with format gelf of
// package formats, so they become the same events `vigil parse --format
// gelf` prints; messages that are not GELF are stored with
// vigil.parse_error, never dropped. Stream connections go through the
// shared connection limits of package conns.
package gelfin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/vigil-siem/vigil/internal/web"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
	"github.com/vigil-siem/vigil/internal/parse/gelf"
)

// Source names (metric labels, bus subjects).
const (
	SourceUDP  = "gelf-udp"
	SourceTCP  = "gelf-tcp"
	SourceHTTP = "gelf-http"
)

// Sink takes parsed events (an ingest.Batcher).
type Sink interface {
	Add(ctx context.Context, e event.Event) error
	TryAdd(e event.Event) bool
}

// DefaultMaxConns is the default Config.MaxConns.
const DefaultMaxConns = 1024

// Config configures the listeners; an empty address disables one.
type Config struct {
	UDPAddr, TCPAddr string
	// TLS, when set, serves TCPAddr over TLS.
	TLS *tls.Config
	// Parse is format gelf's RecordParser (formats.GELFRecord).
	Parse formats.RecordParser
	// MaxMessageBytes bounds a message: a TCP frame, a reassembled UDP
	// message, once decompressed (default 1 MiB).
	MaxMessageBytes int
	// MaxConns, MaxConnsPerAddr bound TCP connections (defaults
	// DefaultMaxConns, 256).
	MaxConns, MaxConnsPerAddr int
	// IdleTimeout closes TCP connections silent this long (default 5m).
	IdleTimeout time.Duration
	// Sinks per source (SourceUDP, SourceTCP).
	Sinks   map[string]Sink
	Metrics *ingest.Metrics
	Log     *slog.Logger
	Now     func() time.Time
}

// Server is the running listeners.
type Server struct {
	cfg     Config
	udp     net.PacketConn
	tcp     net.Listener
	conns   *conns.Set
	warn    *conns.Throttle
	metrics map[string]*ingest.SourceMetrics

	asmMu sync.Mutex
	asm   *gelf.Assembler

	stop chan struct{}
	wg   sync.WaitGroup
}

// Start binds the configured listeners and serves them until Stop.
func Start(cfg Config) (*Server, error) {
	if cfg.Parse == nil {
		return nil, errors.New("gelf: no parser")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = gelf.DefaultMaxMessage
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = 256
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, stop: make(chan struct{}), warn: conns.NewThrottle(cfg.Log, 0),
		conns: conns.New(conns.Config{Name: "gelf", Max: cfg.MaxConns, PerAddr: cfg.MaxConnsPerAddr, Log: cfg.Log,
			Refused: cfg.Metrics.RefusedFunc("gelf")}),
		asm:     gelf.NewAssembler(gelf.AssemblerLimits{MaxMessage: cfg.MaxMessageBytes}),
		metrics: map[string]*ingest.SourceMetrics{SourceUDP: cfg.Metrics.For(SourceUDP), SourceTCP: cfg.Metrics.For(SourceTCP)}}
	var err error
	if cfg.UDPAddr != "" {
		if s.udp, err = net.ListenPacket("udp", cfg.UDPAddr); err != nil {
			return nil, fmt.Errorf("GELF UDP listener on %s: %w", cfg.UDPAddr, err)
		}
		if uc, ok := s.udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(8 << 20)
		}
	}
	if cfg.TCPAddr != "" {
		if cfg.TLS != nil {
			s.tcp, err = tls.Listen("tcp", cfg.TCPAddr, cfg.TLS)
		} else {
			s.tcp, err = net.Listen("tcp", cfg.TCPAddr)
		}
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("GELF TCP listener on %s: %w", cfg.TCPAddr, err)
		}
	}
	if s.udp != nil {
		s.wg.Add(2)
		go s.serveUDP()
		go s.expire()
	}
	if s.tcp != nil {
		s.conns.Accept(s.tcp, s.serveConn, "source", SourceTCP)
	}
	return s, nil
}

// Addrs returns the bound addresses (nil when disabled).
func (s *Server) Addrs() (udp, tcp net.Addr) {
	if s.udp != nil {
		udp = s.udp.LocalAddr()
	}
	if s.tcp != nil {
		tcp = s.tcp.Addr()
	}
	return
}

// Stop closes the listeners and connections and waits until every
// message read has been handed to its sink.
func (s *Server) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	if s.udp != nil {
		_ = s.udp.Close()
	}
	s.conns.Stop(200*time.Millisecond, s.tcp)
	s.wg.Wait()
}

// handle parses one message and hands it to the source's sink.
func (s *Server) handle(ctx context.Context, source string, msg []byte, from string, truncated int64) {
	var e event.Event
	e.Fields = make([]event.Field, 0, 24)
	e.Add("log.source.address", from)
	_ = s.cfg.Parse(msg, &e) // failures are kept in the event
	if truncated > 0 {
		e.Set("vigil.truncated", "true")
		e.Set("vigil.original_size", fmt.Sprint(truncated))
		if !e.Has(event.FieldParseError) {
			e.Set(event.FieldParseError, fmt.Sprintf("gelf: message of %d bytes, more than the limit of %d", truncated, s.cfg.MaxMessageBytes))
		}
	}
	ingest.Stamp(&e, s.cfg.Now())
	m := s.metrics[source]
	m.Count(&e)
	m.Bytes.Add(float64(len(msg)))
	sink := s.cfg.Sinks[source]
	if source == SourceUDP {
		sink.TryAdd(e)
		return
	}
	if err := sink.Add(ctx, e); err != nil {
		m.Dropped.Inc()
	}
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.warn.Warn("GELF UDP read", "err", err)
			continue
		}
		if n == 0 {
			continue
		}
		d := buf[:n]
		if !gelf.IsChunk(d) {
			s.handle(context.Background(), SourceUDP, d, addr.String(), 0)
			continue
		}
		c, err := gelf.ParseChunk(d)
		if err != nil {
			// A datagram that claims to be a chunk but is not one: kept.
			s.handle(context.Background(), SourceUDP, d, addr.String(), 0)
			continue
		}
		c.Received = s.cfg.Now()
		s.asmMu.Lock()
		msg, dropped, err := s.asm.Add(c)
		s.asmMu.Unlock()
		if dropped > 0 {
			s.metrics[SourceUDP].Dropped.Add(float64(dropped))
			s.warn.Warn("GELF chunked messages given up", "dropped", dropped, "reason", errString(err))
		}
		if msg != nil {
			s.handle(context.Background(), SourceUDP, msg, addr.String(), 0)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "limits"
	}
	return err.Error()
}

// expire gives up chunked messages not completed within 5 seconds
// (counted as dropped: UDP senders cannot resend).
func (s *Server) expire() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.asmMu.Lock()
			n := s.asm.Expire(s.cfg.Now())
			s.asmMu.Unlock()
			if n > 0 {
				s.metrics[SourceUDP].Dropped.Add(float64(n))
				s.warn.Warn("GELF chunked messages incomplete after 5 seconds, given up", "dropped", n)
			}
		}
	}
}

// serveConn reads NUL-separated messages (a newline also ends one, as
// some senders use it) until the connection ends.
func (s *Server) serveConn(c net.Conn) {
	from := c.RemoteAddr().String()
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.Handshake(); err != nil {
			s.warn.Warn("GELF TLS handshake failed", "remote", from, "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
	}
	fr := NewFramer(&deadlineReader{c: c, s: s}, s.cfg.MaxMessageBytes)
	ctx := context.Background()
	for {
		msg, size, err := fr.Next()
		if msg != nil {
			var trunc int64
			if size > len(msg) {
				trunc = int64(size)
			}
			s.handle(ctx, SourceTCP, msg, from, trunc)
		}
		if err != nil {
			return
		}
	}
}

type deadlineReader struct {
	c net.Conn
	s *Server
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	if !r.s.conns.Closing() {
		_ = r.c.SetReadDeadline(time.Now().Add(r.s.cfg.IdleTimeout))
	}
	return r.c.Read(p)
}

// Framer splits a GELF TCP stream into messages: each ends with a NUL
// byte (or a newline); blank ones are skipped. A message longer than max
// is returned cut to max bytes with its full size; the rest of it is read
// and dropped, never held in memory.
type Framer struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// NewFramer returns a Framer reading r.
func NewFramer(r io.Reader, max int) *Framer {
	return &Framer{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next message and its size as sent (larger than the
// message when it was cut). At the end of the stream a last message
// without terminator is returned with the error (io.EOF or the
// connection's).
func (f *Framer) Next() ([]byte, int, error) {
	for {
		f.buf = f.buf[:0]
		size := 0
		for {
			b, err := f.br.ReadByte()
			if err != nil {
				if len(bytes.TrimSpace(f.buf)) > 0 {
					return bytes.Clone(f.buf), size, err
				}
				return nil, 0, err
			}
			if b == 0 || b == '\n' {
				break
			}
			size++
			if len(f.buf) < f.max {
				f.buf = append(f.buf, b)
			}
		}
		if len(bytes.TrimSpace(f.buf)) == 0 {
			continue // blank, or a NUL after a newline
		}
		return bytes.Clone(f.buf), size, nil
	}
}

// Handler serves POST /gelf: the body is one GELF message, or several
// separated by newlines or NUL bytes; Content-Encoding gzip (or a
// compressed body, which the parser recognises) is accepted. It answers
// 202 Accepted once the bus stored the events, with
// {"accepted":N,"parse_errors":K}; messages that are not GELF are stored
// with vigil.parse_error and counted in parse_errors. The caller
// authenticates (permission ingest).
type Handler struct {
	Pub          ingest.Publisher
	Parse        formats.RecordParser
	Metrics      *ingest.Metrics
	MaxBodyBytes int64
	Log          *slog.Logger
	Now          func() time.Time
}

// Routes returns the handler's pattern.
func (h *Handler) Routes() map[string]http.Handler {
	return map[string]http.Handler{"POST /gelf": h}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	max := h.MaxBodyBytes
	if max <= 0 {
		max = 64 << 20
	}
	body, err := ingest.Body(w, r, max)
	var encErr *ingest.EncodingError
	switch {
	case errors.As(err, &encErr) && encErr.Unsupported:
		web.WriteJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": err.Error()})
		return
	case err != nil:
		web.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case ingest.IsBusy(err):
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", ingest.BusyRetryAfter)
		case ingest.IsTooLarge(err):
			status = http.StatusRequestEntityTooLarge
		}
		web.WriteJSON(w, status, map[string]any{"error": err.Error()})
		return
	}
	h.Metrics.Bytes.WithLabelValues(SourceHTTP).Add(float64(len(data)))
	arrived := now()
	events := ingest.NewPending(r.Context(), h.Pub)
	bad := 0
	add := func(msg []byte) {
		var e event.Event
		e.Add("log.source.address", r.RemoteAddr)
		_ = h.Parse(msg, &e)
		ingest.Stamp(&e, arrived)
		h.Metrics.Count(SourceHTTP, &e)
		if e.Has(event.FieldParseError) {
			bad++
		}
		events.Add(e)
	}
	if gelf.Detect(data) != gelf.None {
		add(data) // one compressed message
	} else {
		for _, rec := range bytes.FieldsFunc(data, func(r rune) bool { return r == '\n' || r == 0 }) {
			if len(bytes.TrimSpace(rec)) > 0 {
				add(rec)
			}
		}
	}
	if events.Len() == 0 {
		web.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "empty body: want a GELF message"})
		return
	}
	stored, err := events.Publish(r.Context(), h.Pub, SourceHTTP)
	if err != nil {
		h.Metrics.Rejected.WithLabelValues(SourceHTTP).Add(float64(events.Len() - stored))
		w.Header().Set("Retry-After", "5")
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "not stored: " + err.Error(), "accepted": stored})
		return
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"accepted": stored, "parse_errors": bad})
}

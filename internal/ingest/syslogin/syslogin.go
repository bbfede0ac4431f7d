// Package syslogin runs Vigil's syslog listeners: UDP (one message per
// datagram), TCP and TLS (RFC 5425) with octet-counting or newline framing
// detected per connection, and optional client-certificate authentication
// on TLS. Every message becomes an event, parsed or not.
package syslogin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// Source names, used as metric labels and bus subjects.
const (
	SourceUDP = "syslog-udp"
	SourceTCP = "syslog-tcp"
	SourceTLS = "syslog-tls"
)

// Sink takes parsed events (an ingest.Batcher). The sink owns an event's
// field slice once Add or TryAdd returns.
type Sink interface {
	Add(ctx context.Context, e event.Event) error
	TryAdd(e event.Event) bool
}

// fieldsReuser is a sink that hands back the field slices of events it
// no longer needs (ingest.Batcher, once a batch is encoded), so that a
// message does not cost a new slice.
type fieldsReuser interface {
	Fields(capacity int) []event.Field
}

// Config configures the listeners; an empty address disables one.
type Config struct {
	UDPAddr, TCPAddr, TLSAddr string
	// TLS is the server configuration for TLSAddr (certificate, and
	// ClientCAs with RequireAndVerifyClientCert for client authentication).
	TLS *tls.Config
	// Parse parses each source's messages with the syslog format of
	// package formats (their time zones may differ).
	Parse map[string]formats.RecordParser
	// MaxMessageBytes bounds every message of a stream (default
	// syslog.DefaultMaxSize); the parsers truncate longer ones.
	MaxMessageBytes int
	// MaxConns bounds concurrent TCP+TLS connections (default 4096);
	// MaxConnsPerAddr those from one IP address (default 1024: one relay
	// or collector host may open many).
	MaxConns, MaxConnsPerAddr int
	// IdleTimeout closes stream connections silent for this long
	// (default 5 minutes; senders reconnect when they have something to
	// send). AuthIdleTimeout applies instead to TLS connections whose
	// client presented a certificate the configured CA verified
	// (default 30 minutes).
	IdleTimeout, AuthIdleTimeout time.Duration
	// Sinks per source.
	Sinks   map[string]Sink
	Metrics *ingest.Metrics
	Log     *slog.Logger
	Now     func() time.Time
}

// Server is the running listeners.
type Server struct {
	cfg       Config
	udp       net.PacketConn
	tcp, tlsL net.Listener
	udpDone   sync.WaitGroup
	conns     *conns.Set
	metrics   map[string]*ingest.SourceMetrics
	warn      *conns.Throttle
}

// Start binds the configured listeners and serves them until Stop.
func Start(cfg Config) (*Server, error) {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4096
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = 1024
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.AuthIdleTimeout <= 0 {
		cfg.AuthIdleTimeout = 30 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, conns: conns.New(conns.Config{Name: "syslog", Max: cfg.MaxConns, PerAddr: cfg.MaxConnsPerAddr,
		Log: cfg.Log, Refused: cfg.Metrics.RefusedFunc("syslog")}),
		metrics: map[string]*ingest.SourceMetrics{}, warn: conns.NewThrottle(cfg.Log, 0)}
	for _, src := range []string{SourceUDP, SourceTCP, SourceTLS} {
		s.metrics[src] = cfg.Metrics.For(src)
	}
	var err error
	if cfg.UDPAddr != "" {
		if s.udp, err = net.ListenPacket("udp", cfg.UDPAddr); err != nil {
			return nil, fmt.Errorf("syslog UDP listener on %s: %w", cfg.UDPAddr, err)
		}
		if uc, ok := s.udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(8 << 20) // ride out bursts
		}
	}
	if cfg.TCPAddr != "" {
		if s.tcp, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			s.Stop()
			return nil, fmt.Errorf("syslog TCP listener on %s: %w", cfg.TCPAddr, err)
		}
	}
	if cfg.TLSAddr != "" {
		if cfg.TLS == nil {
			s.Stop()
			return nil, errors.New("syslog TLS listener: no TLS configuration")
		}
		if s.tlsL, err = tls.Listen("tcp", cfg.TLSAddr, cfg.TLS); err != nil {
			s.Stop()
			return nil, fmt.Errorf("syslog TLS listener on %s: %w", cfg.TLSAddr, err)
		}
	}
	if s.udp != nil {
		s.udpDone.Add(1)
		go s.serveUDP()
	}
	if s.tcp != nil {
		s.conns.Accept(s.tcp, func(c net.Conn) { s.serveConn(c, SourceTCP) }, "source", SourceTCP)
	}
	if s.tlsL != nil {
		s.conns.Accept(s.tlsL, func(c net.Conn) { s.serveConn(c, SourceTLS) }, "source", SourceTLS)
	}
	return s, nil
}

// Addrs returns the bound addresses (nil for disabled listeners).
func (s *Server) Addrs() (udp, tcp, tlsAddr net.Addr) {
	if s.udp != nil {
		udp = s.udp.LocalAddr()
	}
	if s.tcp != nil {
		tcp = s.tcp.Addr()
	}
	if s.tlsL != nil {
		tlsAddr = s.tlsL.Addr()
	}
	return
}

// Stop closes the listeners and connections and waits until every message
// read has been handed to its sink.
func (s *Server) Stop() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	// Each connection may finish the message it is reading.
	s.conns.Stop(200*time.Millisecond, s.tcp, s.tlsL)
	s.udpDone.Wait()
}

// handle parses one message into e (the reader's own event, reused
// message after message so that it is not allocated for each one) and
// hands it to the source's sink.
func (s *Server) handle(ctx context.Context, source string, msg []byte, frameErr error, from string, extra []event.Field, e *event.Event) {
	sink := s.cfg.Sinks[source]
	if r, ok := sink.(fieldsReuser); ok {
		e.Fields = r.Fields(syslog.FieldsHint)
	} else {
		e.Fields = make([]event.Field, 0, syslog.FieldsHint)
	}
	e.Add("log.source.address", from)
	e.Fields = append(e.Fields, extra...)
	_ = s.cfg.Parse[source](msg, e) // a failure is recorded in the event
	syslog.MarkFrameError(e, frameErr)
	ingest.Stamp(e, s.cfg.Now())
	m := s.metrics[source]
	m.Count(e)
	m.Bytes.Add(float64(len(msg)))
	ev := *e
	*e = event.Event{} // the sink owns the fields now
	if source == SourceUDP {
		sink.TryAdd(ev)
		return
	}
	if err := sink.Add(ctx, ev); err != nil {
		m.Dropped.Inc()
	}
}

func (s *Server) serveUDP() {
	defer s.udpDone.Done()
	buf := make([]byte, 65536) // the largest datagram
	var e event.Event
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.warn.Warn("syslog UDP read", "err", err)
			continue
		}
		if n == 0 {
			continue
		}
		s.handle(context.Background(), SourceUDP, buf[:n], nil, addr.String(), nil, &e)
	}
}

func (s *Server) serveConn(c net.Conn, source string) {
	from := c.RemoteAddr().String()
	var extra []event.Field
	idle := s.cfg.IdleTimeout
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.Handshake(); err != nil {
			s.warn.Warn("syslog TLS handshake failed", "remote", from, "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
		if st := tc.ConnectionState(); len(st.PeerCertificates) > 0 {
			if len(st.VerifiedChains) > 0 {
				idle = s.cfg.AuthIdleTimeout // an authenticated sender
			}
			cert := st.PeerCertificates[0]
			extra = append(extra, event.Field{Name: "tls.client.subject", Value: cert.Subject.String()},
				event.Field{Name: "tls.client.x509.subject.common_name", Value: cert.Subject.CommonName})
		}
	}
	ctx := context.Background()
	fr := syslog.NewFramer(&deadlineReader{c: c, s: s, idle: idle}, s.cfg.MaxMessageBytes)
	var e event.Event
	for {
		msg, err := fr.Next()
		if msg != nil {
			s.handle(ctx, source, msg, err, from, extra, &e)
		}
		if err != nil {
			var fe *syslog.FrameError
			if errors.As(err, &fe) {
				continue
			}
			var ne net.Error
			if !errors.Is(err, io.EOF) && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, net.ErrClosed) {
				s.cfg.Log.Debug("syslog connection ended", "source", source, "remote", from, "err", err)
			}
			return
		}
	}
}

// handshakeTimeout bounds a TLS handshake (an unauthenticated peer).
const handshakeTimeout = 10 * time.Second

// deadlineReader refreshes the idle deadline before each read, unless the
// server is stopping.
type deadlineReader struct {
	c    net.Conn
	s    *Server
	idle time.Duration
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	if !r.s.conns.Closing() {
		_ = r.c.SetReadDeadline(time.Now().Add(r.idle))
	}
	return r.c.Read(p)
}

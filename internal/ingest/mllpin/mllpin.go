// Package mllpin is Vigil's HL7 v2 listener: MLLP over TCP, optionally
// TLS. Every message becomes an event on the bus, parsed or not; ADT
// messages also update the patient directory, and order, pharmacy, result
// and scheduling messages (ORM, OMG, RDE, ORU, SIU …) record in it who
// works on the patient (directory.ApplyClinical). A message is acknowledged
// only after the bus stored its event, so an AA (or, in enhanced mode, CA)
// means the message is durable; problems are answered with AE or AR and
// the reason, and the connection stays usable.
//
// Order of work per message: parse; for ADT, update the directory (its
// ledger makes a retransmission harmless); publish the event and wait for
// the bus; answer. A message the bus or the directory could not take is
// answered AR and not stored, so the sender's retry does not duplicate it.
//
// Senders: the listener binds loopback unless configured otherwise, and
// can be restricted to sender addresses (AllowNets) and to sending
// applications and facilities (MSH-3/MSH-4, AllowSenders), and to clients
// presenting a certificate of a given CA (mutual TLS). Anything else is
// answered AR with the reason, counted (vigil_ingest_refused_total) and
// recorded as a small event without the message's content
// (event.action hl7-refused). Every directory change an ADT makes is
// recorded with its provenance (directory.Provenance: control id, event,
// MSH-3/MSH-4, the connection's address and client certificate).
//
// Nothing from message bodies (names, identifiers, values quoted by parse
// errors) reaches Vigil's logs: they name the sender, offsets, segment,
// field and error codes only.
package mllpin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/directory"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/conns"
	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

// Source is the metrics label and bus subject of this listener.
const Source = "hl7-mllp"

// Config configures the listener.
type Config struct {
	// Addr is the TCP address to listen on (e.g. ":2575").
	Addr string
	// TLS, when set, makes the listener speak TLS (certificate, and
	// ClientCAs with RequireAndVerifyClientCert for client authentication).
	TLS *tls.Config
	Pub ingest.Publisher
	// Directory receives ADT messages; nil records them as events only.
	Directory *directory.Store
	Metrics   *ingest.Metrics
	Log       *slog.Logger
	// KeepOriginal stores each message in event.original (PHI).
	KeepOriginal bool
	// Location is the time zone of HL7 times without an offset (UTC when
	// nil).
	Location *time.Location
	// MaxFrameBytes bounds a message (default 1 MiB).
	MaxFrameBytes int
	// MaxConns bounds concurrent connections (default 256);
	// MaxConnsPerAddr those from one IP address (default 128: an
	// interface engine opens one connection per channel).
	MaxConns, MaxConnsPerAddr int
	// AllowNets, when set, are the only sender addresses served: every
	// message on a connection from elsewhere is answered AR and the
	// connection closed; nothing of it reaches the directory or the bus.
	AllowNets []netip.Prefix
	// AllowSenders, when set, are the only sending application and
	// facility pairs (MSH-3, MSH-4) accepted, as SenderPattern text
	// ("EPIC^GENHOSP", "EPIC^*", "*^GENHOSP"); other messages are
	// answered AR.
	AllowSenders []string
	// IdleTimeout closes a connection silent between messages for this
	// long (default 10 minutes).
	IdleTimeout time.Duration
	// FrameTimeout bounds the time to receive one message once its first
	// bytes arrived (default 60 seconds).
	FrameTimeout time.Duration
	// WriteTimeout bounds writing an acknowledgement (default 30 seconds).
	WriteTimeout time.Duration
	// PublishTimeout bounds waiting for the bus (default 30 seconds);
	// past it the message is answered AR.
	PublishTimeout time.Duration
	Now            func() time.Time
}

func (c *Config) defaults() {
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = mllp.DefaultMaxFrame
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 256
	}
	if c.MaxConnsPerAddr <= 0 {
		c.MaxConnsPerAddr = 128
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.FrameTimeout <= 0 {
		c.FrameTimeout = time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Server is a running listener.
type Server struct {
	cfg     Config
	ln      net.Listener
	conns   *conns.Set
	senders []senderPattern
	warn    *conns.Throttle
}

// Refusal reasons (vigil_ingest_refused_total{source="hl7-mllp"}).
const (
	ReasonAddress = "sender_address"      // not in AllowNets
	ReasonSender  = "sending_application" // MSH-3/MSH-4 not in AllowSenders
)

// senderPattern is one AllowSenders entry: application and facility,
// "" or "*" for any.
type senderPattern struct{ app, fac string }

// ParseSenders reads AllowSenders entries: "APP^FACILITY", "APP" (any
// facility), "^FACILITY" or "*^FACILITY" (any application). Matching is
// case-insensitive.
func ParseSenders(list []string) ([]senderPattern, error) {
	var out []senderPattern
	for _, s := range list {
		s = strings.TrimSpace(s)
		app, fac, _ := strings.Cut(s, "^")
		if s == "" || strings.Contains(fac, "^") {
			return nil, fmt.Errorf("sender %q: want APPLICATION^FACILITY (MSH-3^MSH-4; * for any)", s)
		}
		if app == "*" {
			app = ""
		}
		if fac == "*" {
			fac = ""
		}
		if app == "" && fac == "" {
			return nil, fmt.Errorf("sender %q allows everyone: leave the list empty instead", s)
		}
		out = append(out, senderPattern{app: app, fac: fac})
	}
	return out, nil
}

// ParseNets reads AllowNets entries: CIDR prefixes or single addresses.
func ParseNets(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("sender address %q: want a CIDR prefix (10.20.0.0/16) or an address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (s *Server) senderAllowed(app, fac string) bool {
	if len(s.senders) == 0 {
		return true
	}
	for _, p := range s.senders {
		if (p.app == "" || strings.EqualFold(p.app, app)) && (p.fac == "" || strings.EqualFold(p.fac, fac)) {
			return true
		}
	}
	return false
}

func (s *Server) addrAllowed(c net.Conn) bool {
	if len(s.cfg.AllowNets) == 0 {
		return true
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.cfg.AllowNets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Start binds the listener and serves it until Stop.
func Start(cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.Pub == nil || cfg.Metrics == nil {
		return nil, errors.New("mllp listener: Pub and Metrics are required")
	}
	senders, err := ParseSenders(cfg.AllowSenders)
	if err != nil {
		return nil, fmt.Errorf("mllp: %w", err)
	}
	var ln net.Listener
	if cfg.TLS != nil {
		ln, err = tls.Listen("tcp", cfg.Addr, cfg.TLS)
	} else {
		ln, err = net.Listen("tcp", cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("HL7 MLLP listener on %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, ln: ln, senders: senders, warn: conns.NewThrottle(cfg.Log, 0),
		conns: conns.New(conns.Config{Name: "mllp", Max: cfg.MaxConns, PerAddr: cfg.MaxConnsPerAddr, Log: cfg.Log,
			Refused: cfg.Metrics.RefusedFunc(Source)})}
	s.conns.Accept(ln, s.serve)
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stop closes the listener, lets each connection finish the message it is
// receiving or processing (its acknowledgement is still sent), closes the
// connections and waits for them.
func (s *Server) Stop() {
	s.conns.Stop(200*time.Millisecond, s.ln)
}

// connReader sets the read deadline before each read: the idle timeout
// while waiting for a message, a fixed deadline for the rest of a message
// once its first bytes arrived. While stopping it leaves Stop's deadline.
type connReader struct {
	c        net.Conn
	s        *Server
	inFrame  bool
	deadline time.Time
}

func (r *connReader) waitNext() { r.inFrame = false }

func (r *connReader) Read(p []byte) (int, error) {
	if !r.s.conns.Closing() {
		if r.inFrame {
			_ = r.c.SetReadDeadline(r.deadline)
		} else {
			_ = r.c.SetReadDeadline(time.Now().Add(r.s.cfg.IdleTimeout))
		}
	}
	n, err := r.c.Read(p)
	if n > 0 && !r.inFrame {
		r.inFrame = true
		r.deadline = time.Now().Add(r.s.cfg.FrameTimeout)
	}
	return n, err
}

// peer is what the events of one connection say about it.
type peer struct {
	remote     string
	tlsSubject string
	extra      []event.Field
	// refused is why every message of the connection is refused ("":
	// served).
	refused, reason string
}

func (s *Server) serve(c net.Conn) {
	p := peer{remote: c.RemoteAddr().String()}
	if !s.addrAllowed(c) {
		p.refused, p.reason = ReasonAddress, "sender address "+p.remote+" is not allowed to send HL7 to this listener"
	}
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			s.warn.Warn("mllp TLS handshake failed", "remote", p.remote, "err", err)
			return
		}
		_ = tc.SetDeadline(time.Time{})
		if st := tc.ConnectionState(); len(st.PeerCertificates) > 0 {
			cert := st.PeerCertificates[0]
			p.tlsSubject = cert.Subject.String()
			p.extra = append(p.extra, event.Field{Name: "tls.client.subject", Value: p.tlsSubject},
				event.Field{Name: "tls.client.x509.subject.common_name", Value: cert.Subject.CommonName})
		}
	}
	s.cfg.Log.Debug("mllp connection opened", "remote", p.remote)
	cr := &connReader{c: c, s: s}
	r := mllp.NewReader(cr, s.cfg.MaxFrameBytes)
	w := mllp.NewWriter(c)
	for {
		cr.waitNext()
		frame, err := r.ReadFrame()
		var ack []byte
		if err != nil {
			var fe *mllp.FrameError
			if !errors.As(err, &fe) {
				var ne net.Error
				if !errors.Is(err, io.EOF) && !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, net.ErrClosed) {
					s.cfg.Log.Debug("mllp connection ended", "remote", p.remote, "err", err)
				}
				s.cfg.Log.Debug("mllp connection closed", "remote", p.remote)
				return
			}
			s.warn.Warn("mllp framing problem", "remote", p.remote, "kind", fe.Kind.Error(), "offset", fe.Offset, "bytes", fe.Length)
			if !errors.Is(err, mllp.ErrTooLarge) {
				if errors.Is(err, mllp.ErrUnterminated) && strings.Contains(fe.Detail, "stream ended") {
					return
				}
				continue
			}
			// The sender waits for an answer to the message it sent.
			s.cfg.Metrics.Rejected.WithLabelValues(Source).Inc()
			s.cfg.Metrics.Bytes.WithLabelValues(Source).Add(float64(fe.Length))
			ack = hl7.BuildRejectForUnparsable(nil, &hl7.ParseError{
				Msg: fmt.Sprintf("message of %d bytes exceeds the limit of %d", fe.Length, s.cfg.MaxFrameBytes), Code: hl7.ErrInternal,
			}, s.cfg.Now())
		} else {
			ack = s.handle(frame, &p)
		}
		if ack == nil {
			continue // enhanced mode: the sender asked for no commit acknowledgement
		}
		_ = c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := w.WriteFrame(ack); err != nil {
			s.cfg.Log.Debug("mllp acknowledgement not sent", "remote", p.remote, "err", err)
			return
		}
		if p.refused == ReasonAddress {
			return // told why; nothing more is read from it
		}
	}
}

// refuse answers a message from a sender not allowed: AR with the reason,
// counted, logged (at most every few seconds) and recorded as an event
// holding nothing of the message but its header's routing fields.
func (s *Server) refuse(m *hl7.Message, frame []byte, p *peer, reason, text string, now time.Time) []byte {
	s.cfg.Metrics.Refused.WithLabelValues(Source, reason).Inc()
	s.cfg.Metrics.Rejected.WithLabelValues(Source).Inc()
	var e event.Event
	e.Time = now
	for _, kv := range [][2]string{{"event.kind", "event"}, {"event.module", "hl7"}, {"event.dataset", "hl7.refused"},
		{"event.category", "network"}, {"event.type", "denied"}, {"event.action", "hl7-refused"}, {"event.outcome", "failure"},
		{"event.reason", reason}, {event.FieldMessage, text}, {"log.source.address", p.remote}, {"healthcare.hl7.ack_code", string(hl7.AR)}} {
		e.Add(kv[0], kv[1])
	}
	e.Fields = append(e.Fields, p.extra...)
	attrs := []any{"remote", p.remote, "reason", reason}
	if m != nil {
		msh := m.Segment("MSH")
		for _, f := range []struct {
			name string
			n    int
		}{{"healthcare.hl7.sending_application", 3}, {"healthcare.hl7.sending_facility", 4}} {
			if v := msh.Get(f.n, 1, 1, 1); v != "" {
				e.Add(f.name, v)
				attrs = append(attrs, f.name[len("healthcare.hl7."):], v)
			}
		}
		e.Add("healthcare.hl7.control_id", m.ControlID)
		e.Add("healthcare.hl7.message_type", m.Type)
		e.Add("healthcare.hl7.trigger_event", m.Trigger)
	}
	ingest.Stamp(&e, now)
	s.warn.Warn("hl7 message refused: sender not allowed; answered AR", attrs...)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	if _, err := ingest.PublishAll(ctx, s.cfg.Pub, Source, []event.Event{e}); err != nil {
		s.warn.Warn("hl7 refusal not recorded: bus refused it", "err", err)
	}
	cancel()
	if m == nil {
		return hl7.BuildRejectForUnparsable(frame, errors.New(text), now)
	}
	plan := planFor(m)
	plan.opt = hl7.AckOptions{Code: hl7.AR, ErrorCode: hl7.ErrInternal, Text: text}
	return plan.build(m, frame, nil, now)
}

// ackPlan is how the message will be answered.
type ackPlan struct {
	opt      hl7.AckOptions
	enhanced bool   // MSH-15/16 set: commit acknowledgements CA/CE/CR
	accept   string // MSH-15 accept acknowledgement type: AL, NE, ER, SU
}

func planFor(m *hl7.Message) ackPlan {
	var p ackPlan
	if m == nil {
		return p
	}
	msh := m.Segment("MSH")
	accept, app := msh.Get(15, 1, 1, 1), msh.Get(16, 1, 1, 1)
	if accept != "" || app != "" {
		p.enhanced = true
		p.accept = strings.ToUpper(accept)
		if p.accept == "" {
			p.accept = "AL"
		}
	}
	return p
}

// build returns the acknowledgement to send, or nil when the sender asked
// for none.
func (p *ackPlan) build(m *hl7.Message, frame []byte, perr error, now time.Time) []byte {
	p.opt.Time = now
	if m == nil {
		return hl7.BuildRejectForUnparsable(frame, perr, now)
	}
	ok := p.opt.Code == hl7.AA || p.opt.Code == ""
	if p.enhanced {
		switch {
		case p.accept == "NE", p.accept == "ER" && ok, p.accept == "SU" && !ok:
			return nil
		}
		switch p.opt.Code {
		case hl7.AE:
			p.opt.Code = hl7.CE
		case hl7.AR:
			p.opt.Code = hl7.CR
		default:
			p.opt.Code = hl7.CA
		}
	}
	return hl7.BuildACK(m, p.opt)
}

// handle processes one message and returns its acknowledgement.
func (s *Server) handle(frame []byte, p *peer) []byte {
	now := s.cfg.Now()
	log := s.cfg.Log
	s.cfg.Metrics.Bytes.WithLabelValues(Source).Add(float64(len(frame)))
	m, perr := hl7.Parse(frame, hl7.Limits{MaxBytes: s.cfg.MaxFrameBytes})
	if p.refused != "" {
		return s.refuse(m, frame, p, p.refused, p.reason, now)
	}
	if m != nil {
		if app, fac := m.Segment("MSH").Get(3, 1, 1, 1), m.Segment("MSH").Get(4, 1, 1, 1); !s.senderAllowed(app, fac) {
			return s.refuse(m, frame, p, ReasonSender, fmt.Sprintf("sending application %q and facility %q (MSH-3, MSH-4) are not allowed to send HL7 to this listener", app, fac), now)
		}
	}
	plan := planFor(m)
	var e event.Event
	e.Fields = make([]event.Field, 0, 32)
	if m != nil {
		hl7.MapEvent(&e, m, hl7.EventOptions{KeepOriginal: s.cfg.KeepOriginal, Location: s.cfg.Location, Now: now})
	} else {
		e.Time = now
		e.Set("event.kind", "event")
		e.Set("event.module", "hl7")
		e.Set("event.dataset", "hl7")
		e.Set(event.FieldMessage, "unparsable HL7 message")
		if s.cfg.KeepOriginal {
			e.Set(event.FieldOriginal, string(frame))
		}
	}
	e.Set("log.source.address", p.remote)
	e.Fields = append(e.Fields, p.extra...)

	switch {
	case perr != nil:
		e.Set(event.FieldParseError, perr.Error())
		plan.opt = hl7.AckFor(perr)
		logParseProblem(log, "hl7 message refused", p.remote, m, perr)
	case m.Type == "ADT" && s.cfg.Directory != nil:
		adt, aerr := hl7.ExtractADT(m, s.cfg.Location)
		var pe *hl7.ParseError
		switch {
		case aerr != nil && errors.As(aerr, &pe) && pe.Code == hl7.ErrUnsupportedEvent:
			// Recorded as an event; the directory has nothing to learn.
			plan.opt = hl7.AckOptions{Code: hl7.AA}
		case aerr != nil:
			plan.opt = hl7.AckFor(aerr)
			if plan.opt.Code == hl7.AR {
				plan.opt.Code = hl7.AE // the header was fine: a content error
			}
			e.Set("error.message", aerr.Error())
			logParseProblem(log, "hl7 ADT content refused by the directory", p.remote, m, aerr)
		default:
			// The sender's clock must not date a discharge or the end of
			// a care-team role years ahead (keeping the membership open).
			if changed := adt.ClampFuture(now, event.DefaultMaxSkew); len(changed) > 0 {
				e.Set("healthcare.hl7.clamped_times", strings.Join(changed, ","))
				log.Info("hl7 ADT times ahead of the clock taken as the arrival time", "remote", p.remote, "control_id", m.ControlID, "fields", changed)
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
			res, derr := s.cfg.Directory.ApplyADTFrom(ctx, adt, directory.Provenance{Remote: p.remote, TLSSubject: p.tlsSubject})
			cancel()
			if derr != nil {
				// Not stored: the sender retries, the directory's ledger
				// keeps the retry harmless.
				s.cfg.Metrics.Rejected.WithLabelValues(Source).Inc()
				log.Warn("hl7 ADT not applied to the directory; answered AR", "remote", p.remote, "control_id", m.ControlID, "err", derr)
				plan.opt = hl7.AckOptions{Code: hl7.AR, ErrorCode: hl7.ErrInternal, Text: "the patient directory is unavailable; send the message again later"}
				return plan.build(m, frame, nil, now)
			}
			if len(res.Warnings) > 0 {
				log.Info("hl7 ADT applied with warnings", "remote", p.remote, "control_id", m.ControlID, "event", res.Event, "warnings", res.Warnings)
			}
			plan.opt = hl7.AckOptions{Code: hl7.AA}
		}
	case hl7.ClinicalTypes[m.Type] != "" && s.cfg.Directory != nil:
		if ack := s.applyClinical(m, &e, p, now, log); ack.Code == hl7.AR {
			plan.opt = ack
			return plan.build(m, frame, nil, now)
		}
		plan.opt = hl7.AckOptions{Code: hl7.AA}
	default:
		plan.opt = hl7.AckOptions{Code: hl7.AA}
	}
	code := plan.opt.Code
	if code == "" {
		code = hl7.AA
	}
	e.Set("healthcare.hl7.ack_code", string(code))
	ingest.Stamp(&e, now)

	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	_, err := ingest.PublishAll(ctx, s.cfg.Pub, Source, []event.Event{e})
	cancel()
	if err != nil {
		s.cfg.Metrics.Rejected.WithLabelValues(Source).Inc()
		log.Warn("hl7 message not stored: bus refused it; answered AR", "remote", p.remote, "err", err)
		plan.opt = hl7.AckOptions{Code: hl7.AR, ErrorCode: hl7.ErrInternal, Text: "the message could not be stored; send it again later"}
		if m == nil {
			return hl7.BuildRejectForUnparsable(frame, errors.New("the message could not be stored; send it again later"), now)
		}
		return plan.build(m, frame, nil, now)
	}
	s.cfg.Metrics.Count(Source, &e)
	return plan.build(m, frame, perr, now)
}

// applyClinical records the links of an order, pharmacy, result or
// scheduling message in the directory. It returns the acknowledgement
// when it is not a plain AA: AR when the directory is unavailable
// (nothing stored: the sender retries). Content the directory cannot use
// (no patient identifier, no order or schedule segment, a malformed time)
// is still answered AA — Vigil listens to a copy of these feeds, and an
// AE would hold up the interface engine's queue for a message that only
// enriches explanations — with the reason in the event's error.message.
func (s *Server) applyClinical(m *hl7.Message, e *event.Event, p *peer, now time.Time, log *slog.Logger) hl7.AckOptions {
	c, err := hl7.ExtractClinical(m, s.cfg.Location)
	if err != nil {
		e.Set("error.message", err.Error())
		logParseProblem(log, "hl7 order/result/schedule content not usable by the directory", p.remote, m, err)
		return hl7.AckOptions{}
	}
	if changed := c.ClampFuture(now, event.DefaultMaxSkew); len(changed) > 0 {
		e.Set("healthcare.hl7.clamped_times", strings.Join(changed, ","))
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	_, err = s.cfg.Directory.ApplyClinical(ctx, c, directory.Provenance{Remote: p.remote, TLSSubject: p.tlsSubject})
	cancel()
	if err != nil {
		s.cfg.Metrics.Rejected.WithLabelValues(Source).Inc()
		log.Warn("hl7 order/result/schedule not applied to the directory; answered AR", "remote", p.remote, "control_id", m.ControlID, "err", err)
		return hl7.AckOptions{Code: hl7.AR, ErrorCode: hl7.ErrInternal, Text: "the patient directory is unavailable; send the message again later"}
	}
	e.Set("healthcare.hl7.links", strconv.Itoa(len(c.Items)))
	return hl7.AckOptions{}
}

// logParseProblem logs where a message was wrong, never what it said.
func logParseProblem(log *slog.Logger, msg, remote string, m *hl7.Message, err error) {
	attrs := []any{"remote", remote}
	if m != nil {
		attrs = append(attrs, "control_id", m.ControlID, "type", m.Type, "trigger", m.Trigger)
	}
	var pe *hl7.ParseError
	if errors.As(err, &pe) {
		attrs = append(attrs, "segment", pe.Segment, "segment_index", pe.SegIndex, "field", pe.Field, "offset", pe.Offset, "hl7_error_code", pe.Code)
	}
	log.Info(msg, attrs...)
}

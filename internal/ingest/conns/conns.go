// Package conns runs the accept loops of stream listeners (TCP, TLS) for
// Vigil's receivers: each connection is served on its own goroutine, at
// most Max at once and PerAddr from one IP address (more are refused,
// counted and logged at most once per LogEvery), and Stop lets every open
// connection finish the message it is reading before it returns.
package conns

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Refusal reasons, as passed to Config.Refused.
const (
	ReasonLimit   = "connection_limit"  // Max connections open
	ReasonPerAddr = "per_address_limit" // PerAddr connections open from that address
)

// Config configures a Set.
type Config struct {
	// Name is the receiver, in log messages ("syslog", "mllp").
	Name string
	// Max bounds the connections open at once (default 256).
	Max int
	// PerAddr bounds the connections open at once from one IP address
	// (default: Max), so that one host cannot take every slot.
	PerAddr int
	// Exempt are addresses PerAddr does not apply to: reverse proxies
	// and load balancers, which speak for many clients (Max still does).
	Exempt []netip.Prefix
	Log    *slog.Logger
	// Refused, when set, is called for every refused connection with
	// its reason (for metrics).
	Refused func(reason string)
	// LogEvery is the least time between two warnings of the same kind
	// (default 10 seconds); the ones in between are counted and the
	// count is logged with the next.
	LogEvery time.Duration
	// IdleUnauthenticated, for a Listener, bounds how long a connection
	// that has not authenticated may wait between requests (see Conn).
	IdleUnauthenticated time.Duration
}

// Set is the connections of one receiver's listeners.
type Set struct {
	cfg Config
	log *Throttle

	wg      sync.WaitGroup // accept loops and connections
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	perAddr map[netip.Addr]int
	closing bool
	slots   chan struct{}
}

// New returns a Set.
func New(cfg Config) *Set {
	if cfg.Max <= 0 {
		cfg.Max = 256
	}
	if cfg.PerAddr <= 0 || cfg.PerAddr > cfg.Max {
		cfg.PerAddr = cfg.Max
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Set{cfg: cfg, log: NewThrottle(cfg.Log, cfg.LogEvery), conns: map[net.Conn]struct{}{},
		perAddr: map[netip.Addr]int{}, slots: make(chan struct{}, cfg.Max)}
}

// Limits returns the effective limits (total, per address).
func (s *Set) Limits() (max, perAddr int) { return s.cfg.Max, s.cfg.PerAddr }

// Open returns the number of connections being served.
func (s *Set) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Accept serves l on its own goroutine until l is closed: serve runs for
// each connection on its own goroutine, and the connection is closed when
// it returns. attrs are added to the log lines about l.
func (s *Set) Accept(l net.Listener, serve func(net.Conn), attrs ...any) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Out of descriptors, or a transient network error:
				// wait, so as not to spin, and say so once in a while.
				s.log.Warn(s.cfg.Name+" accept failed", append(attrs[:len(attrs):len(attrs)], "err", err)...)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if s.add(c, attrs, nil) {
				s.wg.Add(1)
				go s.serve(c, serve)
			}
		}
	}()
}

// addrOf is the IP address of a connection's peer (zero when unknown).
func addrOf(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// add takes a slot for c, or closes it when all are taken, its address
// has all of its own, or the Set is stopping; say, when set, has a last
// word on a refused connection first.
func (s *Set) add(c net.Conn, attrs []any, say func(net.Conn)) bool {
	refuse := func(reason string, limit int) bool {
		// Count and log before the peer can see the refusal (its last
		// word, the close): whoever watches the peer then also finds
		// the refusal in the metrics and the log.
		if s.cfg.Refused != nil {
			s.cfg.Refused(reason)
		}
		s.log.Warn(s.cfg.Name+" connection refused: "+reason,
			append(attrs[:len(attrs):len(attrs)], "remote", c.RemoteAddr().String(), "limit", limit)...)
		if say != nil {
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			say(c)
		}
		c.Close()
		return false
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return refuse(ReasonLimit, s.cfg.Max)
	}
	addr := addrOf(c)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		<-s.slots
		return false
	}
	if s.perAddr[addr] >= s.cfg.PerAddr && !s.exempt(addr) {
		s.mu.Unlock()
		<-s.slots
		return refuse(ReasonPerAddr, s.cfg.PerAddr)
	}
	s.perAddr[addr]++
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	return true
}

// exempt reports whether PerAddr does not apply to addr.
func (s *Set) exempt(addr netip.Addr) bool {
	for _, p := range s.cfg.Exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// release gives back the slot of a connection add admitted.
func (s *Set) release(c net.Conn) {
	addr := addrOf(c)
	s.mu.Lock()
	delete(s.conns, c)
	if s.perAddr[addr]--; s.perAddr[addr] <= 0 {
		delete(s.perAddr, addr)
	}
	s.mu.Unlock()
	<-s.slots
}

func (s *Set) serve(c net.Conn, serve func(net.Conn)) {
	defer func() {
		c.Close()
		s.release(c)
		s.wg.Done()
	}()
	serve(c)
}

// Listener returns l with the Set's limits applied to the connections it
// accepts, for a server that runs its own accept loop (net/http):
// connections beyond the limits are refused (after refuse, when set, had
// its last word on them, e.g. an HTTP 503) and do not reach the server.
// Each accepted connection is a *Conn; closing it gives its slot back.
func (s *Set) Listener(l net.Listener, refuse func(net.Conn)) net.Listener {
	return &listener{Listener: l, s: s, refuse: refuse}
}

type listener struct {
	net.Listener
	s      *Set
	refuse func(net.Conn)
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.s.log.Warn(l.s.cfg.Name+" accept failed", "err", err)
			}
			return nil, err
		}
		if l.s.add(c, nil, l.refuse) {
			return &Conn{Conn: c, s: l.s}, nil
		}
	}
}

// Conn is a connection accepted through a Set's Listener. Until
// MarkAuthenticated, a read deadline set while the connection is idle
// (between requests) is shortened to IdleUnauthenticated.
type Conn struct {
	net.Conn
	s    *Set
	once sync.Once

	mu            sync.Mutex
	idle, authned bool
}

// Close closes the connection and gives its slot back.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.s.release(c.Conn) })
	return err
}

// SetIdle says whether the connection waits between requests.
func (c *Conn) SetIdle(idle bool) {
	c.mu.Lock()
	c.idle = idle
	c.mu.Unlock()
}

// MarkAuthenticated says a request on the connection authenticated: its
// idle deadlines are no longer shortened.
func (c *Conn) MarkAuthenticated() {
	c.mu.Lock()
	c.authned = true
	c.mu.Unlock()
}

// SetReadDeadline shortens deadlines of idle unauthenticated connections
// to the Set's IdleUnauthenticated.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if d := c.s.cfg.IdleUnauthenticated; d > 0 {
		c.mu.Lock()
		short := c.idle && !c.authned
		c.mu.Unlock()
		if limit := time.Now().Add(d); short && (t.IsZero() || t.After(limit)) {
			t = limit
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline applies SetReadDeadline's rule to the read side.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// Closing reports whether Stop has begun: connection readers then leave
// the read deadline Stop set instead of extending it.
func (s *Set) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Stop refuses new connections, gives each open one grace to finish the
// message it is reading (a read deadline), closes the listeners and waits
// for the accept loops and the connections to end.
func (s *Set) Stop(grace time.Duration, listeners ...net.Listener) {
	s.mu.Lock()
	s.closing = true
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Now().Add(grace))
	}
	s.mu.Unlock()
	for _, l := range listeners {
		if l != nil {
			_ = l.Close()
		}
	}
	s.wg.Wait()
}

// Throttle logs warnings at most once per interval for each message, with
// the number of the same message suppressed since the last one. Messages
// are the keys: use fixed texts (the attributes vary freely).
type Throttle struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	state map[string]*throttled
}

type throttled struct {
	last       time.Time
	suppressed int
}

// maxThrottled bounds the messages a Throttle tracks (it is meant for a
// handful of fixed texts; beyond it, messages are not throttled).
const maxThrottled = 1024

// NewThrottle returns a Throttle logging to log at most once per every
// (default 10 seconds) for each message.
func NewThrottle(log *slog.Logger, every time.Duration) *Throttle {
	if every <= 0 {
		every = 10 * time.Second
	}
	return &Throttle{log: log, every: every, now: time.Now, state: map[string]*throttled{}}
}

// Warn logs msg at warning level unless it was logged less than the
// interval ago.
func (t *Throttle) Warn(msg string, attrs ...any) {
	now := t.now()
	t.mu.Lock()
	st := t.state[msg]
	if st == nil {
		if len(t.state) >= maxThrottled {
			t.mu.Unlock()
			t.log.Warn(msg, attrs...)
			return
		}
		st = &throttled{}
		t.state[msg] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < t.every {
		st.suppressed++
		t.mu.Unlock()
		return
	}
	n := st.suppressed
	st.last, st.suppressed = now, 0
	t.mu.Unlock()
	if n > 0 {
		attrs = append(attrs[:len(attrs):len(attrs)], "suppressed_since_last", n)
	}
	t.log.Warn(msg, attrs...)
}

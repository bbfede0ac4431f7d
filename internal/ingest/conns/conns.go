// Package conns runs the accept loops of stream listeners (TCP, TLS) for
// Vigil's receivers: each connection is served on its own goroutine, at
// most Max at once (more are refused and logged), and Stop lets every open
// connection finish the message it is reading before it returns.
package conns

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Set is the connections of one receiver's listeners.
type Set struct {
	name string // the receiver, in log messages ("syslog", "mllp")
	log  *slog.Logger

	wg      sync.WaitGroup // accept loops and connections
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closing bool
	slots   chan struct{}
}

// New returns a Set for the receiver name with room for max connections.
func New(name string, max int, log *slog.Logger) *Set {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Set{name: name, log: log, conns: map[net.Conn]struct{}{}, slots: make(chan struct{}, max)}
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
				s.log.Warn(s.name+" accept", append(attrs[:len(attrs):len(attrs)], "err", err)...)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if s.add(c, attrs) {
				go s.serve(c, serve)
			}
		}
	}()
}

// add takes a slot for c, or closes it when all are taken or the Set is
// stopping.
func (s *Set) add(c net.Conn, attrs []any) bool {
	select {
	case s.slots <- struct{}{}:
	default:
		s.log.Warn(s.name+" connection refused: too many connections",
			append(attrs[:len(attrs):len(attrs)], "remote", c.RemoteAddr().String(), "max", cap(s.slots))...)
		c.Close()
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		c.Close()
		<-s.slots
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Set) serve(c net.Conn, serve func(net.Conn)) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		<-s.slots
		s.wg.Done()
	}()
	serve(c)
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

package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/atnasyslog"
	"github.com/vigil-siem/vigil/internal/ingest/syslogin"
	"github.com/vigil-siem/vigil/internal/lifecycle"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/parse/atna"
	"github.com/vigil-siem/vigil/internal/parse/syslog"
)

// startSyslog runs the syslog listeners, each feeding a batcher that
// publishes to the bus. Stopping closes the listeners, then the batchers
// publish what they hold.
func (s *Server) startSyslog(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.Syslog
	parser := func(tz string) (*syslog.Parser, error) {
		if tz == "" {
			tz = c.Timezone
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("syslog time zone %q: %w", tz, err)
		}
		return &syslog.Parser{Location: loc, MaxSize: int(c.MaxMessageBytes), KeepOriginal: s.cfg.Ingest.KeepOriginal}, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("syslog.timezone: %w", err)
	}
	s.payloads = normalize.NewPayloads(loc)
	s.atna = &atnasyslog.Recognizer{Options: atna.Options{KeepOriginal: s.cfg.Ingest.KeepOriginal}}
	// The default parser also serves ?format=syslog over HTTP.
	if s.syslogParser, err = parser(""); err != nil {
		return nil, err
	}
	parsers := map[string]*syslog.Parser{}
	for src, tz := range map[string]string{syslogin.SourceUDP: c.UDPTimezone, syslogin.SourceTCP: c.TCPTimezone, syslogin.SourceTLS: c.TLSTimezone} {
		if parsers[src], err = parser(tz); err != nil {
			return nil, err
		}
	}
	if c.UDPAddr == "" && c.TCPAddr == "" && c.TLSAddr == "" {
		return nil, nil
	}
	var batchers []*ingest.Batcher
	sinks := map[string]syslogin.Sink{}
	for _, src := range []struct{ name, addr string }{{syslogin.SourceUDP, c.UDPAddr}, {syslogin.SourceTCP, c.TCPAddr}, {syslogin.SourceTLS, c.TLSAddr}} {
		if src.addr == "" {
			continue
		}
		b := ingest.NewBatcher(ingest.BatcherConfig{Source: src.name}, s.bus, s.metrics, s.log)
		batchers = append(batchers, b)
		sinks[src.name] = b
	}
	tlsCfg, err := s.syslogTLS()
	if err != nil {
		return nil, err
	}
	s.syslog, err = syslogin.Start(syslogin.Config{
		UDPAddr: c.UDPAddr, TCPAddr: c.TCPAddr, TLSAddr: c.TLSAddr, TLS: tlsCfg,
		Parsers: parsers, Sinks: sinks,
		Normalize: s.normalizeSyslog, Metrics: s.metrics, Log: s.log.With("component", "syslog"),
	})
	if err != nil {
		return nil, err
	}
	var running sync.WaitGroup
	for _, b := range batchers {
		// Shutdown gives the bus 30 seconds to take what is queued.
		running.Go(func() { b.Run(context.Background()) })
	}
	udp, tcp, tlsA := s.syslog.Addrs()
	s.log.Info("syslog listening", "udp", addrString(udp), "tcp", addrString(tcp), "tls", addrString(tlsA),
		"client_cert_required", c.TLSClientCA != "")
	return func(context.Context) error {
		s.syslog.Stop()
		for _, b := range batchers {
			b.Close()
		}
		running.Wait()
		return nil
	}, nil
}

// syslogTLS is the TLS configuration of the syslog TLS listener (nil when
// it is disabled): the configured certificate or a generated one, and the
// client CA when client certificates are required.
func (s *Server) syslogTLS() (*tls.Config, error) {
	c := s.cfg.Syslog
	if c.TLSAddr == "" {
		return nil, nil
	}
	var (
		cert *certs.Loaded
		err  error
	)
	if c.TLSCert != "" {
		cert, err = certs.Load(c.TLSCert, c.TLSKey)
	} else {
		cert, err = certs.EnsureSelfSigned(filepath.Join(s.cfg.DataDir, "tls"), "syslog", nil, time.Now())
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("syslog TLS certificate", "file", cert.CertFile, "sha256_fingerprint", cert.Fingerprint, "generated", cert.Generated)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
	if c.TLSClientCA != "" {
		pool, err := certs.ClientCAs(c.TLSClientCA)
		if err != nil {
			return nil, err
		}
		tlsCfg.ClientCAs = pool
		tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tlsCfg, nil
}

// normalizeSyslog completes an event parsed from syslog: DICOM/ATNA audit
// XML, CEF or LEEF payloads, or Linux authentication facts.
func (s *Server) normalizeSyslog(e *event.Event) {
	if s.atna.Apply(e) {
		return
	}
	normalize.SyslogEvent(e, s.payloads)
}

// recordLine parses a CEF, LEEF or key=value line (optionally behind a
// syslog header).
func (s *Server) recordLine(line []byte, e *event.Event) {
	_ = s.syslogParser.Parse(line, e) // a bare record is kept as the message
	e.Delete(event.FieldParseError)
	if !s.payloads.Apply(e) {
		e.Set(event.FieldParseError, "no CEF, LEEF or key=value record in the line")
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return "disabled"
	}
	return a.String()
}

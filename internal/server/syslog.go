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
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/syslogin"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startSyslog runs the syslog listeners, each feeding a batcher that
// publishes to the bus. Stopping closes the listeners, then the batchers
// publish what they hold.
func (s *Server) startSyslog(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.Syslog
	if c.UDPAddr == "" && c.TCPAddr == "" && c.TLSAddr == "" {
		return nil, nil
	}
	// Each listener may have its own time zone for stamps without one.
	parsers := map[string]formats.RecordParser{}
	for src, tz := range map[string]string{syslogin.SourceUDP: c.UDPTimezone, syslogin.SourceTCP: c.TCPTimezone, syslogin.SourceTLS: c.TLSTimezone} {
		opt, err := s.formatOptions(tz)
		if err != nil {
			return nil, err
		}
		if parsers[src], err = formats.SyslogRecord(opt); err != nil {
			return nil, err
		}
	}
	var batchers []*ingest.Batcher
	sinks := map[string]syslogin.Sink{}
	for _, src := range []struct{ name, addr string }{{syslogin.SourceUDP, c.UDPAddr}, {syslogin.SourceTCP, c.TCPAddr}, {syslogin.SourceTLS, c.TLSAddr}} {
		if src.addr == "" {
			continue
		}
		b := ingest.NewBatcher(ingest.BatcherConfig{Source: src.name}, s.pub, s.metrics, s.log)
		batchers = append(batchers, b)
		sinks[src.name] = b
	}
	tlsCfg, err := s.syslogTLS()
	if err != nil {
		return nil, err
	}
	s.syslog, err = syslogin.Start(syslogin.Config{
		UDPAddr: c.UDPAddr, TCPAddr: c.TCPAddr, TLSAddr: c.TLSAddr, TLS: tlsCfg,
		Parse: parsers, MaxMessageBytes: int(c.MaxMessageBytes), Sinks: sinks,
		MaxConns: s.limits.syslog, MaxConnsPerAddr: c.MaxConnsPerAddr, IdleTimeout: time.Duration(c.IdleTimeout),
		Metrics: s.metrics, Log: s.log.With("component", "syslog"),
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
		cert, err = s.selfSigned("syslog", s.cfg.TLS.ExtraSANs)
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

// formatOptions are the options of the input formats for a listener whose
// time zone is tz (empty: syslog.timezone).
func (s *Server) formatOptions(tz string) (formats.Options, error) {
	if tz == "" {
		tz = s.cfg.Syslog.Timezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return formats.Options{}, fmt.Errorf("syslog time zone %q: %w", tz, err)
	}
	return formats.Options{Location: loc, KeepOriginal: s.cfg.Ingest.KeepOriginal, KeepOriginalHL7: s.cfg.Ingest.KeepOriginalHL7,
		KeepOriginalFHIR: s.cfg.Ingest.KeepOriginalFHIR, MaxRecordBytes: int(s.cfg.Syslog.MaxMessageBytes)}, nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return "disabled"
	}
	return a.String()
}

// selfSigned is the generated certificate of a listener (kept in the data
// dir's tls folder), naming hosts besides the machine's own names; an
// existing one that lacks some of them is kept, with a warning.
func (s *Server) selfSigned(name string, hosts []string) (*certs.Loaded, error) {
	cert, err := certs.EnsureSelfSigned(filepath.Join(s.dataDir, "tls"), name, hosts, time.Now())
	if err == nil && len(cert.Missing) > 0 {
		s.log.Warn("the generated certificate does not name every host asked for (tls.extra_sans); delete it to have a new one made, and give senders the new one",
			"file", cert.CertFile, "missing", cert.Missing)
	}
	return cert, err
}

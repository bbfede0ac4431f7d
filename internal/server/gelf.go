package server

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/formats"
	"github.com/vigil-siem/vigil/internal/ingest"
	"github.com/vigil-siem/vigil/internal/ingest/gelfin"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startGELF runs the GELF UDP and TCP listeners (Graylog's inputs), each
// feeding a batcher. HTTP POST /gelf is served with the API (routes).
func (s *Server) startGELF(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.GELF
	if c.UDPAddr == "" && c.TCPAddr == "" {
		return nil, nil
	}
	parse, err := s.gelfParser()
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if c.TLSCert != "" {
		cert, err := certs.Load(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
	}
	var batchers []*ingest.Batcher
	sinks := map[string]gelfin.Sink{}
	for _, src := range []struct{ name, addr string }{{gelfin.SourceUDP, c.UDPAddr}, {gelfin.SourceTCP, c.TCPAddr}} {
		if src.addr == "" {
			continue
		}
		b := ingest.NewBatcher(ingest.BatcherConfig{Source: src.name}, s.pub, s.metrics, s.log)
		batchers = append(batchers, b)
		sinks[src.name] = b
	}
	s.gelf, err = gelfin.Start(gelfin.Config{UDPAddr: c.UDPAddr, TCPAddr: c.TCPAddr, TLS: tlsCfg, Parse: parse,
		MaxMessageBytes: int(c.MaxMessageBytes), Sinks: sinks, Metrics: s.metrics, Log: s.log.With("component", "gelf"),
		MaxConns: s.limits.gelf, IdleTimeout: time.Duration(c.IdleTimeout)})
	if err != nil {
		return nil, err
	}
	var running sync.WaitGroup
	for _, b := range batchers {
		running.Go(func() { b.Run(context.Background()) })
	}
	udp, tcp := s.gelf.Addrs()
	s.log.Info("GELF listening", "udp", addrString(udp), "tcp", addrString(tcp), "tls", tlsCfg != nil)
	return func(context.Context) error {
		s.gelf.Stop()
		for _, b := range batchers {
			b.Close()
		}
		running.Wait()
		return nil
	}, nil
}

// gelfParser is format gelf with the listeners' options (syslog.timezone
// for zoneless times inside the messages, gelf.max_message_bytes).
func (s *Server) gelfParser() (formats.RecordParser, error) {
	opt, err := s.formatOptions("")
	if err != nil {
		return nil, err
	}
	opt.MaxRecordBytes = int(s.cfg.GELF.MaxMessageBytes)
	return formats.GELFRecord(opt)
}

// gelfRoutes is POST /gelf (behind the API token; permission ingest).
func (s *Server) gelfRoutes() (*gelfin.Handler, error) {
	parse, err := s.gelfParser()
	if err != nil {
		return nil, err
	}
	return &gelfin.Handler{Pub: s.pub, Parse: parse, Metrics: s.metrics, MaxBodyBytes: int64(s.cfg.Ingest.MaxBodyBytes),
		Log: s.log.With("component", "gelf-http")}, nil
}

package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/ehr"
	"github.com/vigil-siem/vigil/internal/ingest/mllpin"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startMLLP runs the HL7 v2 over MLLP listener.
func (s *Server) startMLLP(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.MLLP
	if c.Addr == "" {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if c.TLSCert != "" {
		cert, err := certs.Load(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.Cert}, MinVersion: tls.VersionTLS12}
		if c.TLSClientCA != "" {
			pool, err := certs.ClientCAs(c.TLSClientCA)
			if err != nil {
				return nil, err
			}
			tlsCfg.ClientCAs, tlsCfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	} else if c.TLSClientCA != "" {
		return nil, errors.New("mllp.tls_client_ca needs mllp.tls_cert and mllp.tls_key: client certificates are checked over TLS")
	}
	nets, err := mllpin.ParseNets(c.AllowAddrs)
	if err != nil {
		return nil, fmt.Errorf("mllp.allow_addrs: %w", err)
	}
	loc, err := time.LoadLocation(s.cfg.Syslog.Timezone)
	if err != nil {
		return nil, err
	}
	s.mllp, err = mllpin.Start(mllpin.Config{
		Addr: c.Addr, TLS: tlsCfg, Pub: s.pub, Directory: s.directory, Metrics: s.metrics,
		AllowNets: nets, AllowSenders: c.AllowSenders,
		MaxConns: s.limits.mllp, MaxConnsPerAddr: c.MaxConnsPerAddr, IdleTimeout: time.Duration(c.IdleTimeout),
		Log: s.log.With("component", "mllp"), KeepOriginal: s.cfg.Ingest.KeepOriginalHL7, Location: loc,
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("HL7 MLLP listening", "addr", s.mllp.Addr().String(), "tls", tlsCfg != nil, "client_cert_required", c.TLSClientCA != "",
		"allowed_addrs", len(nets), "allowed_senders", len(c.AllowSenders))
	if len(nets) == 0 && len(c.AllowSenders) == 0 && c.TLSClientCA == "" && !loopbackOnly(s.mllp.Addr()) {
		s.log.Warn("HL7 MLLP accepts any sender that can reach it, and ADT messages change care teams: set mllp.allow_addrs, mllp.allow_senders or mllp.tls_client_ca")
	}
	return lifecycle.Closer(s.mllp.Stop), nil
}

// startEHRWatch imports EHR access-log exports dropped into a directory.
func (s *Server) startEHRWatch(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.EHR
	if c.WatchDir == "" {
		return nil, nil
	}
	w := &ehr.Watcher{Dir: c.WatchDir, Preset: c.WatchPreset, MappingFile: c.WatchMapping,
		Pub: s.pub, Metrics: s.metrics, StatePath: filepath.Join(s.dataDir, "ehr-watch.json"),
		Log: s.log.With("component", "ehr-watch"), KeepOriginal: s.cfg.Ingest.KeepOriginal}
	if err := w.Init(); err != nil {
		return nil, fmt.Errorf("ehr.watch_dir: %w", err)
	}
	s.log.Info("watching EHR access-log exports", "dir", c.WatchDir)
	return lifecycle.Go(func(ctx context.Context) error {
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("EHR watcher stopped", "err", err)
		}
		return nil
	}), nil
}

// loopbackOnly reports whether a listener's address is a loopback one.
func loopbackOnly(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

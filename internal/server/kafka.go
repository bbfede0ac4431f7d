package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/vigil-siem/vigil/internal/certs"
	"github.com/vigil-siem/vigil/internal/ingest/kafkain"
	"github.com/vigil-siem/vigil/internal/lifecycle"
)

// startKafka consumes the configured Kafka topics (kafka.brokers,
// kafka.topics) in consumer group kafka.group. Stopping lets the batch in
// flight be stored and committed, then leaves the group.
func (s *Server) startKafka(context.Context) (lifecycle.StopFunc, error) {
	c := s.cfg.Kafka
	if len(c.Brokers) == 0 {
		return nil, nil
	}
	opt, err := s.formatOptions("")
	if err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	if c.TLS || c.TLSCA != "" || c.TLSCert != "" {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLSCA != "" {
			pem, err := os.ReadFile(c.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("kafka.tls_ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("kafka.tls_ca: no PEM certificate in %s", c.TLSCA)
			}
			tlsCfg.RootCAs = pool
		}
		if c.TLSCert != "" {
			cert, err := certs.Load(c.TLSCert, c.TLSKey)
			if err != nil {
				return nil, err
			}
			tlsCfg.Certificates = []tls.Certificate{cert.Cert}
		}
	}
	k, err := kafkain.Start(kafkain.Config{
		Brokers: c.Brokers, Topics: c.Topics, Group: c.Group, Format: c.Format, FormatOptions: opt,
		StartAtLatest: c.StartAtLatest, TLS: tlsCfg,
		SASLMechanism: c.SASLMechanism, SASLUser: c.SASLUser, SASLPassword: c.SASLPassword,
		Pub: s.pub, Metrics: s.metrics, Log: s.log.With("component", "kafka"),
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("Kafka consuming", "brokers", c.Brokers, "topics", c.Topics, "group", c.Group, "format", c.Format, "tls", tlsCfg != nil, "sasl", c.SASLMechanism)
	return func(context.Context) error { k.Stop(); return nil }, nil
}

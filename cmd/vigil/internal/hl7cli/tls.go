package hl7cli

import (
	"crypto/x509"
	"fmt"
	"os"
)

func loadCA(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

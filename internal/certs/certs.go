// Package certs provides TLS certificates for Vigil's listeners: the
// operator's own, or a self-signed one generated on first run and kept in
// the data dir so that senders can pin it across restarts.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Loaded is a certificate ready for a listener.
type Loaded struct {
	Cert tls.Certificate
	// Fingerprint is the SHA-256 of the leaf certificate, hex with colons,
	// as openssl x509 -fingerprint -sha256 prints it.
	Fingerprint string
	// Generated is true when this call created a self-signed certificate.
	Generated bool
	CertFile  string
	// Missing are hosts asked for that an existing self-signed
	// certificate does not name (delete it to have a new one made).
	Missing []string
}

// Load reads a PEM certificate and key.
func Load(certFile, keyFile string) (*Loaded, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s: %w", certFile, err)
	}
	return &Loaded{Cert: c, Fingerprint: Fingerprint(c.Certificate[0]), CertFile: certFile}, nil
}

// EnsureSelfSigned loads dir/name.crt and dir/name.key, generating a
// self-signed ECDSA P-256 certificate when they do not exist, for hosts
// (names or addresses), localhost, the machine's host name and the
// addresses of its interfaces, so that senders verifying the name
// (rsyslog's x509/name) can reach it by any of them. An existing
// certificate is kept (senders pin it); Missing says which of hosts it
// does not name.
func EnsureSelfSigned(dir, name string, hosts []string, now time.Time) (*Loaded, error) {
	certFile := filepath.Join(dir, name+".crt")
	keyFile := filepath.Join(dir, name+".key")
	if _, err := os.Stat(certFile); err == nil {
		l, err := Load(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		l.Missing = missing(l.Cert, hosts)
		return l, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Vigil " + name, Organization: []string{"Vigil self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	all := append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)
	all = append(all, HostNames()...)
	seen := map[string]bool{}
	for _, h := range all {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	l, err := Load(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	l.Generated = true
	return l, nil
}

// HostNames are the machine's host name and the addresses of its
// interfaces (loopback and link-local ones aside), as a generated
// certificate names them.
func HostNames() []string {
	var out []string
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, h)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() || ipn.IP.IsUnspecified() {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}

// missing are the hosts a certificate does not name.
func missing(c tls.Certificate, hosts []string) []string {
	if len(c.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range hosts {
		if h != "" && leaf.VerifyHostname(h) != nil {
			out = append(out, h)
		}
	}
	return out
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// ClientCAs loads a PEM CA bundle for client-certificate authentication.
func ClientCAs(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read client CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("client CA bundle %s holds no PEM certificate", file)
	}
	return pool, nil
}

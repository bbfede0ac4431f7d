package tsa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/tsa/tsatest"
)

func TestTimestampFromOpenSSLAuthority(t *testing.T) {
	a := tsatest.Start(t)
	digest := sha256.Sum256([]byte("checkpoint body"))
	c := &Client{URL: a.URL, Roots: a.Roots}
	token, err := c.Timestamp(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Verify(token, digest, a.Roots)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(info.Time); d < -2*time.Second || d > time.Minute {
		t.Errorf("stamped time %v, want about now", info.Time)
	}
	if info.Signer.Subject.CommonName != "Test TSA" || info.Policy.String() != "1.2.3.4.1" {
		t.Errorf("signer %q policy %v", info.Signer.Subject.CommonName, info.Policy)
	}
	// OpenSSL agrees that the token stamps the digest.
	tf := filepath.Join(a.Dir, "token.der")
	os.WriteFile(tf, token, 0o600)
	out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", tf, "-digest", hex.EncodeToString(digest[:]),
		"-CAfile", filepath.Join(a.Dir, "ca.pem"), "-untrusted", filepath.Join(a.Dir, "tsa.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v: %s", err, out)
	}

	// Another digest, other roots, a changed byte: refused.
	other := sha256.Sum256([]byte("another body"))
	if _, err := Verify(token, other, a.Roots); err == nil || !strings.Contains(err.Error(), "another digest") {
		t.Errorf("other digest: %v", err)
	}
	if _, err := Verify(token, digest, x509.NewCertPool()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown root: %v", err)
	}
	// Any byte of the stamped TSTInfo changed: refused. (Bytes elsewhere,
	// such as a certificate's BIT STRING padding, may change nothing the
	// token means.)
	var ci contentInfo
	asn1.Unmarshal(token, &ci)
	var sd signedData
	asn1.Unmarshal(ci.Content.Bytes, &sd)
	at := bytes.Index(token, sd.EncapContentInfo.EContent)
	if at < 0 {
		t.Fatal("TSTInfo not found in the token")
	}
	for i := at; i < at+len(sd.EncapContentInfo.EContent); i++ {
		bad := append([]byte(nil), token...)
		bad[i] ^= 0x01
		if _, err := Verify(bad, digest, a.Roots); err == nil {
			t.Errorf("token with TSTInfo byte %d changed verifies", i-at)
		}
	}
}

func TestRefusal(t *testing.T) {
	// status 2 (rejection) with a reason, no token.
	resp := append([]byte{0x30, 0x10, 0x30, 0x0e, 0x02, 0x01, 0x02, 0x30, 0x09, 0x0c, 0x07}, "bad alg"...)
	if _, err := ParseResponse(resp); err == nil || !strings.Contains(err.Error(), "refused: status 2") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseResponse([]byte("<html>")); err == nil {
		t.Fatal("HTML accepted as a response")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseResponse(b)
		_, _ = Verify(b, [32]byte{}, x509.NewCertPool())
	})
}

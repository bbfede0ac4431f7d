// Package tsa is an RFC 3161 time-stamp protocol client: it asks a
// time-stamping authority to sign a SHA-256 digest with the time, and
// verifies the tokens it returns (the CMS signature over the TSTInfo, the
// digest and nonce stamped, and the authority's certificate chain).
//
// Vigil stamps its integrity checkpoints: a token proves a checkpoint
// existed at the stamped time, so history before it cannot be rewritten
// later even by whoever holds Vigil's signing key.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"
)

var (
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
)

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional,default:false"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional,utf8"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	Serial         *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional,default:false"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

// Client asks one authority for tokens.
type Client struct {
	// URL of the authority's RFC 3161 HTTP endpoint.
	URL  string
	HTTP *http.Client
	// Roots verify the authority's certificate; nil means the system
	// roots.
	Roots *x509.CertPool
}

// Request builds a DER TimeStampReq for a SHA-256 digest with a fresh
// nonce, asking for the authority's certificate in the token.
func Request(digest [sha256.Size]byte) (der []byte, nonce *big.Int, err error) {
	nonce, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	der, err = asn1.Marshal(timeStampReq{Version: 1, MessageImprint: messageImprint{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue},
		HashedMessage: digest[:],
	}, Nonce: nonce, CertReq: true})
	return der, nonce, err
}

// Timestamp obtains and verifies a token over digest.
func (c *Client) Timestamp(ctx context.Context, digest [sha256.Size]byte) ([]byte, error) {
	req, nonce, err := Request(digest)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("timestamp authority: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("timestamp authority: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("timestamp authority answered %s", resp.Status)
	}
	token, err := ParseResponse(body)
	if err != nil {
		return nil, err
	}
	info, err := Verify(token, digest, c.Roots)
	if err != nil {
		return nil, err
	}
	if info.Nonce == nil || info.Nonce.Cmp(nonce) != 0 {
		return nil, errors.New("timestamp authority: the token's nonce is not the one sent (a replayed answer?)")
	}
	return token, nil
}

// ParseResponse returns the token (DER ContentInfo) of a TimeStampResp, or
// the authority's refusal.
func ParseResponse(der []byte) ([]byte, error) {
	var resp timeStampResp
	rest, err := asn1.Unmarshal(der, &resp)
	if err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("timestamp response: not DER TimeStampResp (%v)", err)
	}
	if resp.Status.Status > 1 {
		return nil, fmt.Errorf("timestamp authority refused: status %d %v", resp.Status.Status, resp.Status.StatusString)
	}
	if len(resp.Token.FullBytes) == 0 {
		return nil, errors.New("timestamp response: granted but no token")
	}
	return resp.Token.FullBytes, nil
}

// Info is what a verified token says.
type Info struct {
	Time   time.Time
	Serial *big.Int
	Nonce  *big.Int
	Policy asn1.ObjectIdentifier
	// Signer is the authority's certificate.
	Signer *x509.Certificate
}

// Verify checks a token over digest: the TSTInfo stamps digest with
// SHA-256, the signed attributes bind the TSTInfo, the signature verifies
// with the signer's certificate, which chains to roots (nil: the system
// roots) and may stamp time.
func Verify(token []byte, digest [sha256.Size]byte, roots *x509.CertPool) (*Info, error) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(token, &ci); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("timestamp token: not a CMS ContentInfo (%v)", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("timestamp token: content type %v, want SignedData", ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("timestamp token: SignedData: %w", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) {
		return nil, fmt.Errorf("timestamp token: content %v, want TSTInfo", sd.EncapContentInfo.EContentType)
	}
	var info tstInfo
	if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent, &info); err != nil {
		return nil, fmt.Errorf("timestamp token: TSTInfo: %w", err)
	}
	if !info.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) || !bytes.Equal(info.MessageImprint.HashedMessage, digest[:]) {
		return nil, errors.New("timestamp token: it stamps another digest")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("timestamp token: %d signers, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	certs, err := parseCerts(sd.Certificates)
	if err != nil {
		return nil, err
	}
	signer, err := findSigner(si.SID, certs)
	if err != nil {
		return nil, err
	}
	hash, err := hashFor(si.DigestAlgorithm.Algorithm)
	if err != nil {
		return nil, err
	}
	if len(si.SignedAttrs.FullBytes) == 0 {
		return nil, errors.New("timestamp token: no signed attributes")
	}
	if err := checkSignedAttrs(si.SignedAttrs.Bytes, hash, sd.EncapContentInfo.EContent); err != nil {
		return nil, err
	}
	// The signature is over the attributes DER-encoded as a SET (tag 0x31),
	// not as the [0] IMPLICIT field they are carried in.
	signed := append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	if err := checkSignature(signer, hash, signed, si.Signature); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range certs {
		inter.AddCert(c)
	}
	if _, err := signer.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: info.GenTime,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return nil, fmt.Errorf("timestamp token: the authority's certificate: %w", err)
	}
	return &Info{Time: info.GenTime, Serial: info.Serial, Nonce: info.Nonce, Policy: info.Policy, Signer: signer}, nil
}

func parseCerts(raw asn1.RawValue) ([]*x509.Certificate, error) {
	if len(raw.Bytes) == 0 {
		return nil, nil
	}
	certs, err := x509.ParseCertificates(raw.Bytes)
	if err != nil {
		return nil, fmt.Errorf("timestamp token: certificates: %w", err)
	}
	return certs, nil
}

func findSigner(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	if sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 {
		for _, c := range certs {
			if bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, nil
			}
		}
		return nil, errors.New("timestamp token: no certificate with the signer's key identifier (ask the authority to include it)")
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil {
		return nil, fmt.Errorf("timestamp token: signer identifier: %w", err)
	}
	for _, c := range certs {
		if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
			return c, nil
		}
	}
	return nil, errors.New("timestamp token: no certificate for the signer (ask the authority to include it)")
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}):
		return crypto.SHA384, nil
	case oid.Equal(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("timestamp token: digest algorithm %v not supported (SHA-256, -384, -512)", oid)
}

func checkSignedAttrs(attrs []byte, hash crypto.Hash, content []byte) error {
	var gotType, gotDigest bool
	for len(attrs) > 0 {
		var a attribute
		rest, err := asn1.Unmarshal(attrs, &a)
		if err != nil {
			return fmt.Errorf("timestamp token: signed attributes: %w", err)
		}
		attrs = rest
		switch {
		case a.Type.Equal(oidContentType):
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &oid); err != nil || !oid.Equal(oidTSTInfo) {
				return errors.New("timestamp token: signed content type is not TSTInfo")
			}
			gotType = true
		case a.Type.Equal(oidMessageDigest):
			var d []byte
			if _, err := asn1.Unmarshal(a.Values.Bytes, &d); err != nil {
				return errors.New("timestamp token: malformed message digest attribute")
			}
			h := hash.New()
			h.Write(content)
			if !bytes.Equal(d, h.Sum(nil)) {
				return errors.New("timestamp token: the signed digest is not the TSTInfo's (the token was altered)")
			}
			gotDigest = true
		}
	}
	if !gotType || !gotDigest {
		return errors.New("timestamp token: content type or message digest attribute missing")
	}
	return nil
}

func checkSignature(cert *x509.Certificate, hash crypto.Hash, signed, sig []byte) error {
	var alg x509.SignatureAlgorithm
	switch cert.PublicKeyAlgorithm {
	case x509.RSA:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}[hash]
	case x509.ECDSA:
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}[hash]
	case x509.Ed25519:
		alg = x509.PureEd25519
	default:
		return fmt.Errorf("timestamp token: key type %v not supported", cert.PublicKeyAlgorithm)
	}
	if err := cert.CheckSignature(alg, signed, sig); err != nil {
		return fmt.Errorf("timestamp token: signature: %w", err)
	}
	return nil
}

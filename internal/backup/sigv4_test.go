package backup

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// sigV4 checks AWS Signature Version 4 on every request before h serves
// it, as S3 does: the in-process S3 server the tests use checks no
// signature, so without this a client signing with the wrong secret, the
// wrong region or a changed payload would pass.
func sigV4(h http.Handler, accessKey, secret, region string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkSigV4(r, accessKey, secret, region); err != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error>`, html.EscapeString(err.Error()))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func checkSigV4(r *http.Request, accessKey, secret, region string) error {
	const algo = "AWS4-HMAC-SHA256"
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), algo+" ")
	if !ok {
		return errors.New("no AWS4-HMAC-SHA256 authorization")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	cred := strings.Split(parts["Credential"], "/")
	if len(cred) != 5 || cred[0] != accessKey || cred[2] != region || cred[3] != "s3" || cred[4] != "aws4_request" {
		return fmt.Errorf("credential %q: want %s/DATE/%s/s3/aws4_request", parts["Credential"], accessKey, region)
	}
	date := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(date, cred[1]) {
		return fmt.Errorf("x-amz-date %q outside the credential's day %s", date, cred[1])
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case payload == "":
		return errors.New("no x-amz-content-sha256")
	case payload == "UNSIGNED-PAYLOAD" || strings.HasPrefix(payload, "STREAMING-"):
	default:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != payload {
			return errors.New("the payload does not match x-amz-content-sha256")
		}
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) || !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return fmt.Errorf("signed headers %q", parts["SignedHeaders"])
	}
	var headers strings.Builder
	for _, name := range signed {
		vals := r.Header.Values(name)
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = []string{fmt.Sprint(r.ContentLength)}
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(name + ":" + strings.Join(vals, ",") + "\n")
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var query []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			query = append(query, awsEscape(k)+"="+awsEscape(v))
		}
	}
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(query, "&"), headers.String(), parts["SignedHeaders"], payload}, "\n")
	scope := strings.Join(cred[1:], "/")
	sum := sha256.Sum256([]byte(canonical))
	toSign := algo + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, s := range []string{cred[1], region, "s3", "aws4_request"} {
		key = mac(key, s)
	}
	if want := hex.EncodeToString(mac(key, toSign)); !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return errors.New("the request signature we calculated does not match the signature you provided")
	}
	return nil
}

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// awsEscape is URI encoding as SigV4 wants it: every byte but the
// unreserved characters, spaces as %20.
func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// TestS3WrongSecretRefused: the S3 server checks signatures, so a backup
// with the wrong secret or region fails with the server's answer, and the
// right ones pass (TestBackupRestore's s3 case).
func TestS3WrongSecretRefused(t *testing.T) {
	env := s3Server(t)
	for _, bad := range []map[string]string{{"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, {"AWS_REGION": "eu-west-1"}} {
		tg, err := OpenTarget("s3://vigil-backups/site-b", func(k string) string {
			if v, ok := bad[k]; ok {
				return v
			}
			return env(k)
		})
		if err != nil {
			t.Fatal(err)
		}
		in := newInstance(t)
		in.add(t, 5, "x")
		_, err = Run(context.Background(), in.source(), tg, Options{})
		t.Logf("backup with %v: %v", bad, err)
		if err == nil || !strings.Contains(err.Error(), "signature") && !strings.Contains(err.Error(), "credential") {
			t.Fatalf("backup with %v: %v, want the signature refused", bad, err)
		}
	}
}

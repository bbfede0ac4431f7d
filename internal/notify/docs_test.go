package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDocumentedSignatureChecks runs the receivers' signature checks that
// docs/response.md gives in Python, Node.js and Go on deliveries of the
// real webhook sender: a fresh delivery passes; a changed body, a wrong
// secret and a ten-minute-old delivery are refused. A language whose
// interpreter is missing is skipped with a message.
func TestDocumentedSignatureChecks(t *testing.T) {
	doc, err := os.ReadFile("../../docs/response.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(lang string) string {
		m := regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
		for _, b := range m {
			if strings.Contains(b[1], "verify") {
				return b[1]
			}
		}
		t.Fatalf("docs/response.md has no %s block with verify", lang)
		return ""
	}
	const secret = "docs-secret"
	deliver := func(at time.Time) (body []byte, sig string) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ = io.ReadAll(r.Body)
			sig = r.Header.Get("X-Vigil-Signature")
			w.WriteHeader(204)
		}))
		defer srv.Close()
		wh := &webhook{url: srv.URL, secret: secret, client: srv.Client()}
		m := Message{Title: "SSH brute force", RuleID: "r", Level: "high", Kind: "correlation", Tags: []string{}, Status: "new", Count: 14}
		if err := wh.Send(context.Background(), Delivery{ID: 7, Channel: "soc", Messages: []Message{m}, Now: at}); err != nil {
			t.Fatal(err)
		}
		return body, sig
	}
	dir := t.TempDir()
	fresh, freshSig := deliver(time.Now())
	stale, staleSig := deliver(time.Now().Add(-10 * time.Minute))
	cases := []struct {
		name, body, sig, secret string
		ok                      bool
	}{
		{"fresh", string(fresh), freshSig, secret, true},
		{"changed body", strings.Replace(string(fresh), `"high"`, `"low"`, 1), freshSig, secret, false},
		{"wrong secret", string(fresh), freshSig, "other", false},
		{"ten minutes old", string(stale), staleSig, secret, false},
	}
	langs := []struct {
		name, bin, file, driver string
		args                    []string
	}{
		{"python", "python3", "check.py", block("python") + `
import sys
verify(sys.argv[1].encode(), open(sys.argv[2], "rb").read(), sys.argv[3])
`, nil},
		{"js", "node", "check.js", block("js") + `
verify(process.argv[2], require("node:fs").readFileSync(process.argv[3]), process.argv[4]);
`, nil},
		{"go", "go", "main.go", `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"time"
)

` + block("go") + `
func main() {
	body, _ := os.ReadFile(os.Args[2])
	if err := verify([]byte(os.Args[1]), body, os.Args[3], 5*time.Minute); err != nil {
		println(err.Error())
		os.Exit(1)
	}
}
`, []string{"run"}},
	}
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			if _, err := exec.LookPath(l.bin); err != nil {
				t.Skipf("%s not found: the documented %s check is not run", l.bin, l.name)
			}
			src := filepath.Join(dir, l.file)
			if err := os.WriteFile(src, []byte(l.driver), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				bodyFile := filepath.Join(dir, "body.json")
				os.WriteFile(bodyFile, []byte(c.body), 0o600)
				out, err := exec.Command(l.bin, append(append(l.args, src), c.secret, bodyFile, c.sig)...).CombinedOutput()
				if (err == nil) != c.ok {
					t.Errorf("%s: accepted %v, want %v\n%s", c.name, err == nil, c.ok, out)
				}
			}
		})
	}
}

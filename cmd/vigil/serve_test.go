package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/server"
)

// TestFirstStartPrintsNoToken is issue 10's finding: the generated ingest
// token was printed to stdout, which a service manager's journal keeps.
// The first start says where the tokens are, not what they are.
func TestFirstStartPrintsNoToken(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s := &server.Server{Token: "vgl_0123456789abcdefghijklmnop", TokenGenerated: true, TokenPath: filepath.Join(cfg.DataDir, "ingest.token"),
		CLITokenGenerated: true, CLITokenPath: filepath.Join(cfg.DataDir, "admin.token")}
	var out strings.Builder
	printFirstStart(&out, cfg, s)
	if strings.Contains(out.String(), s.Token) {
		t.Fatalf("the ingest token was printed:\n%s", out.String())
	}
	for _, want := range []string{filepath.Join(cfg.DataDir, "ingest.token"), s.CLITokenPath} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s not named:\n%s", want, out.String())
		}
	}
}

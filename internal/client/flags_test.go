package client

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/vigil-siem/vigil/internal/config"
)

func TestFlagsToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ingest.token"), []byte("from-data-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_SERVER", "https://vigil.example.org:8443")
	t.Setenv("VIGIL_TOKEN", "")
	var f Flags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.Register(fs)
	if err := fs.Parse([]string{"--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if f.Server != "https://vigil.example.org:8443" {
		t.Errorf("server %q: want $VIGIL_SERVER", f.Server)
	}
	if got := f.ResolvedToken(); got != "from-data-dir" {
		t.Errorf("token %q, want the data dir's", got)
	}
	t.Setenv("VIGIL_TOKEN", "from-env")
	if got := f.ResolvedToken(); got != "from-env" {
		t.Errorf("token %q, want $VIGIL_TOKEN", got)
	}
	if err := fs.Parse([]string{"--token", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if c := f.Client(); c.Token != "from-flag" || c.BaseURL != "https://vigil.example.org:8443" {
		t.Errorf("client %q %q, want the flag's token", c.BaseURL, c.Token)
	}
}

// Every variable the client reads is one the server's configuration
// ignores, so exporting it for the client never stops vigil serve.
func TestClientEnvKnownToServer(t *testing.T) {
	for _, name := range []string{EnvServer, EnvToken} {
		if !slices.Contains(config.ClientEnv, name) {
			t.Errorf("%s is read by the client but missing from config.ClientEnv: vigil serve would refuse it", name)
		}
	}
}

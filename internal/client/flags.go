package client

import (
	"os"
	"time"

	"github.com/spf13/pflag"
)

// Flags are the connection flags of the commands that talk to a server:
// --server (default $VIGIL_SERVER, else the local default), --token
// (default $VIGIL_TOKEN, else the admin token a local server keeps in
// --data-dir/admin.token, else its ingest.token) and --insecure.
type Flags struct {
	Server, Token, DataDir string
	Insecure               bool
	Timeout                time.Duration
}

// The client's environment variables. The server's configuration knows
// them (config.ClientEnv) and ignores them.
const (
	EnvServer = "VIGIL_SERVER"
	EnvToken  = "VIGIL_TOKEN"
)

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	server := os.Getenv(EnvServer)
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	fs.StringVar(&f.Server, "server", server, "server URL (env VIGIL_SERVER)")
	fs.StringVar(&f.Token, "token", "", "API token (env VIGIL_TOKEN; default: the local server's admin token, --data-dir/admin.token)")
	fs.StringVar(&f.DataDir, "data-dir", "./vigil-data", "local server's data dir, to read its admin.token (or ingest.token)")
	fs.BoolVar(&f.Insecure, "insecure", false, "accept any TLS certificate (self-signed servers)")
	fs.DurationVar(&f.Timeout, "timeout", DefaultTimeout, "most time to wait for the server to connect and to begin each answer")
}

// ResolvedToken is --token, else $VIGIL_TOKEN, else the local server's
// admin token, else its ingest token.
func (f *Flags) ResolvedToken() string {
	if f.Token != "" {
		return f.Token
	}
	if t := os.Getenv(EnvToken); t != "" {
		return t
	}
	return TokenFromDataDir(f.DataDir)
}

// Client returns a client for the flags' server and token.
func (f *Flags) Client() *Client {
	return NewWithTimeout(f.Server, f.ResolvedToken(), f.Insecure, f.Timeout)
}

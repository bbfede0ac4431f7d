package config

import "strings"

// Setting is one configuration setting as it is in effect, for the
// configuration view (GET /api/v1/config).
type Setting struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Help    string `json:"help"`
	// Changed is set when the value differs from the default.
	Changed bool `json:"changed"`
	// Secret settings show "(set)" or "" instead of their value.
	Secret bool `json:"secret,omitempty"`
}

// Redacted is shown in place of a secret that is set.
const Redacted = "(set)"

// isSecret reports whether a key holds a credential (tokens, passwords,
// client secrets, keys given inline) rather than a file name or a
// setting.
func isSecret(path string) bool {
	last := path[strings.LastIndexByte(path, '.')+1:]
	return last == "token" || strings.Contains(last, "secret") || strings.Contains(last, "password") || strings.HasSuffix(last, "api_key")
}

// Settings lists every setting of c in the order of the reference, with
// secrets redacted.
func Settings(c *Config) []Setting {
	def := Default()
	out := make([]Setting, 0, len(keys))
	for _, k := range keys {
		s := Setting{Key: k.path, Value: k.get(c), Default: k.get(def), Help: k.help, Secret: isSecret(k.path)}
		s.Changed = s.Value != s.Default
		if s.Secret {
			if s.Value != "" {
				s.Value = Redacted
			}
			if s.Default != "" {
				s.Default = Redacted
			}
		}
		out = append(out, s)
	}
	return out
}

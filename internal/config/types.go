package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as Go durations ("90s", "1h30m") or
// with a day suffix ("400d").
type Duration time.Duration

// ParseDuration parses "400d", "12h", "1.5h", "90s".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 400d, 12h, 90s", s)
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 400d, 12h, 90s", s)
	}
	return d, nil
}

func (d Duration) String() string {
	td := time.Duration(d)
	if td >= 24*time.Hour && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// ByteSize is a size in bytes written as a number with an optional unit
// (B, KB, MB, GB, KiB, MiB, GiB, TiB).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// ParseByteSize parses "64KiB", "8GiB", "1000".
func ParseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q: want e.g. 65536, 64KiB, 8GiB", s)
	}
	return int64(v * float64(mult)), nil
}

func (b ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if b >= ByteSize(u.mult) && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// Auth configures sign-in.
type Auth struct {
	IdleTimeout     Duration
	SessionLifetime Duration
	MFARoles        []string
	OIDC            struct {
		Issuer, ClientID, ClientSecret, RedirectURL string
		Scopes                                      []string
		RolesClaim                                  string
		RoleMapping                                 []string
		DefaultRoles                                []string
		UsernameClaim                               string
		DisplayName                                 string
		CAFile                                      string
		RequireMFA                                  bool
	}
}

// Roles are the roles auth settings may name (package access defines
// them; kept here so configuration errors name them at load time).
var Roles = []string{"admin", "analyst", "auditor", "ingest", "metrics", "privacy-officer"}

func validRole(v string) error {
	for _, r := range Roles {
		if v == r {
			return nil
		}
	}
	return fmt.Errorf("unknown role %q: want one of %s", v, strings.Join(Roles, ", "))
}

// ParseRoleMapping reads an auth.oidc.role_mapping entry, VALUE=ROLE; the
// value may itself hold "=" (LDAP names): the last one separates.
func ParseRoleMapping(v string) (value, role string, err error) {
	i := strings.LastIndexByte(v, '=')
	if i <= 0 || i == len(v)-1 {
		return "", "", fmt.Errorf("invalid role mapping %q: want CLAIMVALUE=ROLE", v)
	}
	value, role = strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
	return value, role, validRole(role)
}

func validRoleMapping(v string) error {
	_, _, err := ParseRoleMapping(v)
	return err
}

// validSAN accepts an IP address or a DNS name (a leading "*." allowed).
func validSAN(v string) error {
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	name := strings.TrimPrefix(v, "*.")
	if name == "" || len(name) > 253 || strings.ContainsAny(name, " /:@*") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("invalid name %q: want a DNS name or an IP address", v)
	}
	return nil
}

func validCIDR(v string) error {
	if _, err := netip.ParsePrefix(v); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	return fmt.Errorf("invalid address %q: want an IP or a CIDR such as 10.0.0.0/8", v)
}

// ParseProxies reads http.trusted_proxies.
func ParseProxies(vs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range vs {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

func validPHIField(v string) error {
	if v == "" || v == "*" || strings.Count(v, "*") > 1 || (strings.Contains(v, "*") && !strings.HasSuffix(v, "*")) {
		return fmt.Errorf("invalid PHI field %q: want a field name, optionally ending in *", v)
	}
	return nil
}

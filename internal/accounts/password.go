package accounts

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password limits. Longer inputs are refused before hashing: argon2id
// takes any length, but an attacker's megabyte "password" should cost
// nothing.
const (
	MinPasswordLength = 12  // characters
	MaxPasswordBytes  = 256 // bytes, after UTF-8 encoding
)

// argon2id parameters (OWASP's first recommendation: 19 MiB, 2 passes,
// one lane). They are written into each hash, so raising them later keeps
// old hashes verifiable.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
}

var defaultArgon = argonParams{memory: 19 * 1024, time: 2, threads: 1, keyLen: 32}

// hashSem bounds concurrent hashing: each one holds 19 MiB, and a flood
// of logins must not take the memory of the machine.
var hashSem = make(chan struct{}, 4)

// HashPassword returns the PHC string of an argon2id hash of pw with a
// random salt: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := defaultArgon
	hashSem <- struct{}{}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
	<-hashSem
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches a PHC argon2id hash. A
// malformed hash never matches.
func VerifyPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return false
	}
	if p.memory > 1<<20 || p.time > 20 || p.threads == 0 || p.time == 0 {
		return false // not a hash this program wrote
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	hashSem <- struct{}{}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	<-hashSem
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against for unknown users, so a login for a name
// that does not exist takes as long as one that does.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("vigil-dummy-password-for-timing")
	if err != nil {
		panic("BUG: hashing the dummy password: " + err.Error())
	}
	return h
})

//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
})

// PolicyError is a password that the policy refuses.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return "password refused: " + e.Reason }

// CheckPassword applies the password policy: at least 12 characters, at
// most 256 bytes, not the user name, not a common or trivially patterned
// password.
func CheckPassword(pw, userName string) error {
	if !utf8.ValidString(pw) {
		return &PolicyError{"not valid UTF-8"}
	}
	if len(pw) > MaxPasswordBytes {
		return &PolicyError{fmt.Sprintf("longer than %d bytes", MaxPasswordBytes)}
	}
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return &PolicyError{fmt.Sprintf("shorter than %d characters (has %d)", MinPasswordLength, n)}
	}
	lower := strings.ToLower(pw)
	if u := strings.ToLower(userName); u != "" && len(u) >= 3 && strings.Contains(lower, u) {
		return &PolicyError{"contains the user name"}
	}
	if commonPasswords()[lower] || commonPasswords()[strings.TrimRight(lower, "0123456789!.?")] {
		return &PolicyError{"in the list of common passwords"}
	}
	distinct := map[rune]bool{}
	for _, r := range pw {
		distinct[r] = true
	}
	if len(distinct) < 5 {
		return &PolicyError{"too few distinct characters"}
	}
	return nil
}

// otpAlphabet leaves out characters read alike (0/O, 1/l/I).
const otpAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// randomString returns n characters from alphabet, uniformly.
func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic("BUG: crypto/rand failed: " + err.Error())
		}
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}

// OneTimePassword is a generated password a user must change at first
// sign-in: 20 characters of an unambiguous alphabet, in groups of five.
func OneTimePassword() string {
	s := randomString(20, otpAlphabet)
	return s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:]
}

var errEmpty = errors.New("empty")

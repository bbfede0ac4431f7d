package accounts

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLoginBody: any body sent to the login endpoint is answered with a
// clear status, never a panic or a 5xx, and never signs anyone in.
func FuzzLoginBody(f *testing.F) {
	for _, s := range []string{`{"username":"a","password":"b"}`, `{"username":`, `[]`, `{"username":"a","password":"b","totp_code":"123456"}`,
		`{"username":"\u0000","password":"` + strings.Repeat("x", 300) + `"}`, `{"recovery_code":null}`, ""} {
		f.Add(s)
	}
	e := newAPIForFuzz(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
		if len(rec.Result().Cookies()) > 0 {
			t.Fatalf("body %q signed in", body)
		}
	})
}

func newAPIForFuzz(f *testing.F) http.Handler {
	e := newAPI(f, func(o *Options) {
		o.Throttle = ThrottleConfig{UserFree: 1 << 30, UserLockout: 1 << 30, AddrFree: 1 << 30, AddrLockout: 1 << 30}
	})
	e.s.CreateUser(sys, NewUser{Name: "a", Roles: []string{"analyst"}})
	return e.srv.Config.Handler
}

// FuzzClaimValues: any claim value reads as a list without panicking.
func FuzzClaimValues(f *testing.F) {
	f.Add("groups", `a, b c`)
	f.Add("realm_access.roles", "x")
	f.Fuzz(func(t *testing.T, path, v string) {
		claims := map[string]any{"groups": v, "realm_access": map[string]any{"roles": []any{v, 3, nil}}}
		for _, got := range claimValues(claims, path) {
			if got == "" && v != "" && !strings.ContainsAny(v, ", ") {
				t.Fatalf("empty value from %q", v)
			}
		}
	})
}

// FuzzTokenShape: the recognisable-token check never panics and accepts
// only generated shapes.
func FuzzTokenShape(f *testing.F) {
	f.Add(NewTokenSecret())
	f.Add("vgl_")
	f.Fuzz(func(t *testing.T, s string) {
		if LooksLikeToken(s) && (!strings.HasPrefix(s, TokenPrefix) || len(s) != 42) {
			t.Fatalf("%q passes", s)
		}
		_ = validCookie(s)
	})
}

// Package oidctest starts a real OpenID Connect provider on loopback for
// tests: zitadel/oidc's certified op package with its example storage and
// login page, plus a "groups" claim (in the ID token and at the userinfo
// endpoint) to test group → role mapping.
package oidctest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is an account at the provider.
type User struct {
	Name, Password, Email string
	Groups                []string
}

// Provider is a running OpenID provider.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	srv          *httptest.Server
}

// LoginPath is where the provider's login form posts (username, password,
// id): a browser-less test fills it in.
const LoginPath = "/login/username"

type users struct {
	byID map[string]*storage.User
}

func (u users) GetUserByID(id string) *storage.User { return u.byID[id] }
func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u.byID {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u users) ExampleClientID() string { return storage.ServiceUserID }

// groupsStorage adds the groups claim for the "groups" scope.
type groupsStorage struct {
	*storage.Storage
	groups map[string][]string // by user id
}

func (s *groupsStorage) add(info *oidc.UserInfo, userID string, scopes []string) {
	if slices.Contains(scopes, "groups") {
		info.AppendClaims("groups", s.groups[userID])
	}
}

func (s *groupsStorage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, token, scopes); err != nil {
		return err
	}
	s.add(info, token.GetSubject(), scopes)
	return nil
}

func (s *groupsStorage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	claims, err := s.Storage.GetPrivateClaimsFromScopes(ctx, userID, clientID, scopes)
	if slices.Contains(scopes, "groups") {
		if claims == nil {
			claims = map[string]any{}
		}
		claims["groups"] = s.groups[userID]
	}
	return claims, err
}

func (s *groupsStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	// The example storage answers every scope of the token; add the groups.
	info.AppendClaims("groups", s.groups[info.Subject])
	return nil
}

// Start runs a provider on 127.0.0.1 with one web client (id "vigil")
// allowed to redirect to redirectURL, and the users given. It stops when
// the test ends.
func Start(t testing.TB, redirectURL string, us ...User) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	p := &Provider{Issuer: issuer, ClientID: "vigil", ClientSecret: "vigil-test-client-secret"}
	store := users{byID: map[string]*storage.User{}}
	groups := map[string][]string{}
	for i, u := range us {
		id := "u" + string(rune('1'+i))
		store.byID[id] = &storage.User{ID: id, Username: u.Name, Password: u.Password, FirstName: u.Name, LastName: "Test",
			Email: u.Email, EmailVerified: true, PreferredLanguage: language.English}
		groups[id] = u.Groups
	}
	client := storage.WebClient(p.ClientID, p.ClientSecret, redirectURL)
	st := &groupsStorage{Storage: storage.NewStorageWithClients(store, map[string]*storage.Client{p.ClientID: client}), groups: groups}
	router := exampleop.SetupServer(issuer, st, nil, false)
	p.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: router}}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

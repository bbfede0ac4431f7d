package access

import "net/http"

// Route is one entry of the HTTP route table: a ServeMux pattern, the
// permission a caller needs, and the handler. The server mounts every
// route through one middleware that enforces Perm before Handler runs.
type Route struct {
	// Pattern is a ServeMux pattern with its method ("GET /api/v1/alerts").
	Pattern string
	// Perm is the permission required: a grantable Permission, or Public
	// or Authenticated.
	Perm    Permission
	Handler http.Handler
	// Refuse, when set, writes the 401 and 403 answers in the dialect the
	// route's clients expect (Elasticsearch, Splunk HEC, OTLP). reason is
	// plain English for the caller.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, reason string)
	// Credentials, when set, extracts the API token in the schemes the
	// route's clients use (HTTP Basic password, ApiKey, "Splunk <token>"),
	// instead of "Authorization: Bearer". Only routes that need Ingest may
	// set it, so a browser's cached Basic credentials open nothing else.
	Credentials func(r *http.Request) string
}

// Handle is a Route for a handler function.
func Handle(pattern string, perm Permission, h http.HandlerFunc) Route {
	return Route{Pattern: pattern, Perm: perm, Handler: h}
}

// Names shared by the middleware and the sign-in API.
const (
	// SessionCookie is the browser session cookie over plain HTTP
	// (loopback only); SessionCookieTLS the same over HTTPS, where the
	// __Host- prefix binds it to the origin.
	SessionCookie    = "vigil_session"
	SessionCookieTLS = "__Host-vigil_session"
	// CSRFHeader must carry the session's CSRF token on every
	// state-changing request authenticated by the session cookie.
	CSRFHeader = "X-CSRF-Token"
)

// CredentialError is a credential that was presented and refused: an
// unknown, expired or revoked token, an unknown or expired session. Reason
// is told to the caller and recorded; Subject names the token or user
// when it is known, for the audit trail.
type CredentialError struct {
	Reason  string
	Subject string
}

func (e *CredentialError) Error() string { return e.Reason }

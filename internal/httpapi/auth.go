package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/apisessions/apisessions"
)

// Names of the login cookie and of where the CSRF token travels.
const (
	CookieName = "apisessions_login"
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// bcryptCost is the work factor of stored passwords: the library default,
// about 50 ms a check on a server core.
const bcryptCost = bcrypt.DefaultCost

// maxPassword is bcrypt's input limit; longer passwords are refused rather
// than silently truncated.
const maxPassword = 72

// NewToken returns a new API or node token: the secret to show once and the
// hash to store (Token.Hash).
func NewToken() (secret, hash string) {
	secret = "aps_" + randomHex(32)
	return secret, HashToken(secret)
}

// HashToken returns the stored form of a token or cookie secret: SHA-256 in
// hex. Secrets are 256 random bits, so a fast hash is enough; it makes a
// stolen database useless for authenticating.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// HashPassword returns the bcrypt hash of a console password
// (User.PasswordHash). Empty passwords and passwords over 72 bytes are
// refused (EINVALID).
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", apisessions.Errorf(apisessions.EINVALID, "empty password")
	}
	if len(pw) > maxPassword {
		return "", apisessions.Errorf(apisessions.EINVALID, "password longer than %d bytes", maxPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHashOf returns a bcrypt hash of a random password at cost, for
// logins that name no user. An out-of-range cost takes bcrypt's default.
func dummyHashOf(cost int) func() string {
	return func() string {
		h, err := bcrypt.GenerateFromPassword([]byte(randomHex(16)), cost)
		if err != nil {
			h, _ = bcrypt.GenerateFromPassword([]byte(randomHex(16)), bcryptCost)
		}
		return string(h)
	}
}

// principal is the authenticated caller of a request.
type principal struct {
	// Tenant is the tenant ID every store call is scoped to.
	Tenant string
	Role   apisessions.Role
	// Actor names the caller in audit fields: "token:NAME", or
	// "user:ID" for a login until actor resolves the name.
	Actor string
	// Login is set for cookie authentication; such requests need the
	// CSRF token to change state.
	Login *apisessions.Login
}

// allowed reports whether the principal's role is among roles.
func (p *principal) allowed(roles []apisessions.Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

var errNoCredentials = apisessions.Errorf(apisessions.EUNAUTHORIZED, "authentication required: a bearer token or a console login")

// authenticate finds the caller from the Authorization header or the login
// cookie. The answer never says why a credential failed.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" || len(secret) > 256 {
			return nil, apisessions.Errorf(apisessions.EUNAUTHORIZED, "malformed Authorization header: want Bearer TOKEN")
		}
		tok, err := s.admin.TokenByHash(r.Context(), HashToken(strings.TrimSpace(secret)))
		if err != nil {
			if apisessions.ErrorCode(err) == apisessions.ENOTFOUND {
				return nil, apisessions.Errorf(apisessions.EUNAUTHORIZED, "invalid or revoked token")
			}
			return nil, fmt.Errorf("token lookup: %w", err)
		}
		if tok.Revoked != nil || !tok.Role.Valid() || tok.Tenant == "" {
			return nil, apisessions.Errorf(apisessions.EUNAUTHORIZED, "invalid or revoked token")
		}
		actor := tok.Name
		if actor == "" {
			actor = tok.ID
		}
		return &principal{Tenant: tok.Tenant, Role: tok.Role, Actor: "token:" + actor}, nil
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 256 {
		return nil, errNoCredentials
	}
	l, err := s.admin.LoginByHash(r.Context(), HashToken(c.Value), s.now())
	if err != nil {
		if apisessions.ErrorCode(err) == apisessions.ENOTFOUND {
			return nil, apisessions.Errorf(apisessions.EUNAUTHORIZED, "login expired or logged out")
		}
		return nil, fmt.Errorf("login lookup: %w", err)
	}
	if !l.Role.Valid() || l.Tenant == "" {
		return nil, apisessions.Errorf(apisessions.EUNAUTHORIZED, "login expired or logged out")
	}
	return &principal{Tenant: l.Tenant, Role: l.Role, Actor: "user:" + l.UserID, Login: &l}, nil
}

// actor returns the name of the caller for audit fields (a configuration's
// author, a denylist entry's adder): "token:NAME" or "user:NAME". A login
// knows its user by ID only, so the name is looked up here, on the few
// requests that record who made them.
func (s *Server) actor(ctx context.Context, p *principal) string {
	if p.Login == nil {
		return p.Actor
	}
	users, err := s.admin.Users(ctx, p.Tenant)
	if err != nil {
		s.log.Warn("audit: user lookup failed, recording the user ID", "err", err)
		return p.Actor
	}
	for _, u := range users {
		if u.ID == p.Login.UserID {
			return "user:" + u.Name
		}
	}
	return p.Actor
}

// checkCSRF refuses a state-changing request authenticated by cookie that
// does not carry the login's CSRF token: a cookie is sent by the browser
// whatever page made the request, the token only by our own pages.
func checkCSRF(r *http.Request, p *principal) error {
	if p.Login == nil {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" && mediaType(r) == "application/x-www-form-urlencoded" {
		// FormValue reads the body (bounded by the handler's reader);
		// only form posts carry the field.
		r.Body = http.MaxBytesReader(nil, r.Body, maxJSONBody)
		got = r.PostFormValue(CSRFField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.Login.CSRF)) != 1 {
		return apisessions.Errorf(apisessions.EFORBIDDEN, "missing or wrong CSRF token")
	}
	return nil
}

// loginRequest is the body of POST /api/v1/login.
type loginRequest struct {
	Tenant   string `json:"tenant"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// loginResponse is the answer to a login: the CSRF token to send with
// every change, and who logged in.
type loginResponse struct {
	CSRFToken string           `json:"csrf_token"`
	Tenant    string           `json:"tenant"`
	User      string           `json:"user"`
	Role      apisessions.Role `json:"role"`
	Expires   time.Time        `json:"expires"`
}

var errBadLogin = apisessions.Errorf(apisessions.EUNAUTHORIZED, "wrong tenant, user or password")

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ *principal) error {
	var req loginRequest
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return apisessions.Errorf(apisessions.EINVALID, "bad form body")
		}
		req = loginRequest{Tenant: r.PostForm.Get("tenant"), User: r.PostForm.Get("user"), Password: r.PostForm.Get("password")}
	default:
		if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
			return err
		}
	}
	if req.Tenant == "" || req.User == "" || req.Password == "" {
		return apisessions.Errorf(apisessions.EINVALID, "tenant, user and password are required")
	}
	if len(req.Tenant) > 256 || len(req.User) > 256 || len(req.Password) > maxPassword {
		return errBadLogin
	}
	if !acquire(r.Context(), s.loginSlots, time.Second) {
		return &retryAfterError{after: time.Second, msg: "too many logins at once; retry shortly"}
	}
	defer func() { <-s.loginSlots }()

	ctx := r.Context()
	var user apisessions.User
	tenant, err := s.admin.TenantByName(ctx, req.Tenant)
	if err == nil {
		user, err = s.admin.UserByName(ctx, tenant.ID, req.User)
	}
	if err != nil && apisessions.ErrorCode(err) != apisessions.ENOTFOUND {
		return fmt.Errorf("login lookup: %w", err)
	}
	hash := user.PasswordHash
	if err != nil {
		hash = s.dummyHash()
	}
	// Always run bcrypt, so that unknown users take as long as wrong
	// passwords.
	pwErr := bcrypt.CompareHashAndPassword([]byte(hash), []byte(req.Password))
	if err != nil || pwErr != nil || !user.Role.Valid() || user.Role == apisessions.RoleNode {
		return errBadLogin
	}
	secret := randomHex(32)
	l := apisessions.Login{
		Hash:    HashToken(secret),
		Tenant:  tenant.ID,
		UserID:  user.ID,
		Role:    user.Role,
		CSRF:    randomHex(32),
		Expires: s.now().Add(s.opts.LoginTTL),
	}
	if err := s.admin.CreateLogin(ctx, l); err != nil {
		return fmt.Errorf("create login: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    secret,
		Path:     "/",
		Expires:  l.Expires,
		MaxAge:   int(s.opts.LoginTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil || s.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	})
	writeJSON(w, http.StatusOK, loginResponse{CSRFToken: l.CSRF, Tenant: tenant.Name, User: user.Name, Role: user.Role, Expires: l.Expires})
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, p *principal) error {
	if p.Login != nil {
		if err := s.admin.DeleteLogin(r.Context(), p.Login.Hash); err != nil {
			return fmt.Errorf("delete login: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.opts.SecureCookies, SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

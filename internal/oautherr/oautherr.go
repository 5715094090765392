// Package oautherr is the one error type the broker's protocol code returns
// to clients: an RFC 6749 §4.1.2.1 / §5.2 error code with a description.
// Handlers render it as a JSON body, an error redirect or an HTML page.
package oautherr

import "net/http"

// Error codes from RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1 and RFC 7009.
const (
	InvalidRequest          = "invalid_request"
	InvalidClient           = "invalid_client"
	InvalidGrant            = "invalid_grant"
	UnauthorizedClient      = "unauthorized_client"
	UnsupportedGrantType    = "unsupported_grant_type"
	UnsupportedResponseType = "unsupported_response_type"
	UnsupportedTokenType    = "unsupported_token_type"
	InvalidScope            = "invalid_scope"
	AccessDenied            = "access_denied"
	InvalidToken            = "invalid_token"
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"
)

// Error is a protocol error a client caused or must hear about. Its
// Description is shown to the client: it never carries secrets, tokens or
// internal details.
type Error struct {
	Code        string
	Description string
}

// New returns an *Error.
func New(code, description string) *Error {
	return &Error{Code: code, Description: description}
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Status is the HTTP status RFC 6749 §5.2 and RFC 6750 §3.1 give the code.
func (e *Error) Status() int {
	switch e.Code {
	case InvalidClient, InvalidToken:
		return http.StatusUnauthorized
	case ServerError:
		return http.StatusInternalServerError
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}

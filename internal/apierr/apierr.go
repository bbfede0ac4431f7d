// Package apierr gives a feature package's errors the HTTP status its API
// answers them with, so that one function (web.WriteError) maps every
// error the same way instead of each package keeping its own switch.
//
// A sentinel declares its status where it is defined
// (var ErrNotFound = apierr.NotFound("case not found")); an error type
// declares it with an HTTPStatus method (400 for bad input). Wrapping
// keeps the status: Status looks through the chain.
package apierr

import (
	"errors"
	"net/http"
)

// Error is an error with the HTTP status it answers with.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// HTTPStatus is the status an API call failing with e answers.
func (e *Error) HTTPStatus() int { return e.Status }

// NotFound is an error answered 404: what was named does not exist.
func NotFound(msg string) error { return &Error{Status: http.StatusNotFound, Msg: msg} }

// Conflict is an error answered 409: the change does not fit the current
// state (a lifecycle step not allowed, a name taken, read-only).
func Conflict(msg string) error { return &Error{Status: http.StatusConflict, Msg: msg} }

// Status is the HTTP status err answers with: that of the first error in
// its chain with an HTTPStatus method, else 500 (an internal failure).
func Status(err error) int {
	var s interface{ HTTPStatus() int }
	if errors.As(err, &s) {
		return s.HTTPStatus()
	}
	return http.StatusInternalServerError
}

package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

type badInput struct{}

func (badInput) Error() string   { return "limit: not a number" }
func (badInput) HTTPStatus() int { return http.StatusBadRequest }

func TestStatus(t *testing.T) {
	notFound := NotFound("case not found")
	f := func(err error, want int) {
		t.Helper()
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
	f(notFound, http.StatusNotFound)
	f(fmt.Errorf("case 7: %w", notFound), http.StatusNotFound)
	f(Conflict("a channel of that name exists"), http.StatusConflict)
	f(fmt.Errorf("patch: %w", badInput{}), http.StatusBadRequest)
	f(errors.New("database is locked"), http.StatusInternalServerError)
	if !errors.Is(fmt.Errorf("x: %w", notFound), notFound) || errors.Is(notFound, NotFound("case not found")) {
		t.Error("sentinels must match themselves only")
	}
}

package atna

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
)

// Events reads every audit message of r (see Decoder) and maps each to
// an event. A message that breaks the schema is mapped as far as it goes
// and carries vigil.parse_error; the errors are also returned. An XML
// syntax error ends the stream and is returned last.
func Events(r io.Reader, lim Limits, opt Options, now time.Time) ([]event.Event, []error) {
	var evs []event.Event
	var errs []error
	d := NewDecoder(r, lim)
	for i := 1; ; i++ {
		m, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if m == nil {
			errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			break
		}
		e := event.Event{Time: now}
		MapEvent(&e, m, nil, opt)
		if err != nil {
			err = fmt.Errorf("message %d: %w", i, err)
			errs = append(errs, err)
			e.Set(event.FieldParseError, err.Error())
		}
		evs = append(evs, e)
	}
	return evs, errs
}

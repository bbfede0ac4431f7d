package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   `json:"severity"` // fatal | error | warning | information
	Code        string   `json:"code"`     // invalid | structure | required | value | too-long | not-supported | processing ...
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"` // FHIRPath of the element at fault, e.g. AuditEvent.agent[0].who
	Location    []string `json:"location,omitempty"`   // line/column in the request when known
}

// OperationOutcome returns the JSON of an OperationOutcome resource with
// the given issues.
func OperationOutcome(issues ...Issue) []byte {
	if len(issues) == 0 {
		issues = []Issue{{Severity: "information", Code: "informational", Diagnostics: "ok"}}
	}
	b, _ := json.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Issue        []Issue `json:"issue"`
	}{"OperationOutcome", issues})
	return b
}

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("invalid FHIR resource")

// ValidationError carries the issues found in a request; Outcome renders
// them as an OperationOutcome for the HTTP answer (status 400, or 413
// when TooLarge).
type ValidationError struct {
	Issues   []Issue
	TooLarge bool
}

func (e *ValidationError) Error() string {
	if len(e.Issues) == 0 {
		return "fhir: invalid resource"
	}
	i := e.Issues[0]
	s := "fhir: "
	if len(i.Expression) > 0 {
		s += i.Expression[0] + ": "
	}
	s += i.Diagnostics
	if len(e.Issues) > 1 {
		s += fmt.Sprintf(" (and %d more issues)", len(e.Issues)-1)
	}
	return s
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Outcome returns the OperationOutcome JSON for the error.
func (e *ValidationError) Outcome() []byte { return OperationOutcome(e.Issues...) }

func invalid(code, expr, format string, args ...any) *ValidationError {
	return &ValidationError{Issues: []Issue{issue(code, expr, format, args...)}}
}

func issue(code, expr, format string, args ...any) Issue {
	is := Issue{Severity: "error", Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	return is
}

// jsonError turns an encoding/json error on data into a ValidationError
// whose expression names the element (with array indices) at the error's
// byte offset. root is the FHIRPath prefix ("AuditEvent", "Bundle").
func jsonError(data []byte, err error, root string) *ValidationError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		is := issue("structure", "", "invalid JSON: %v", se)
		is.Location = []string{fmt.Sprintf("line %d, column %d", line, col)}
		return &ValidationError{Issues: []Issue{is}}
	case errors.As(err, &te):
		path := typeErrorPath(data, te, root)
		line, col := lineCol(data, te.Offset)
		is := issue("structure", path, "JSON %s where %s is expected", te.Value, fhirKind(te.Type.String()))
		is.Location = []string{fmt.Sprintf("line %d, column %d", line, col)}
		return &ValidationError{Issues: []Issue{is}}
	}
	return invalid("structure", root, "%v", err)
}

func fhirKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// pathAt returns the FHIRPath (with array indices) of the value an
// UnmarshalTypeError is about. encoding/json names the field without
// indices (te.Field, e.g. "agent.who") and gives an offset that is only
// meaningful for errors outside custom unmarshalers, so the first value
// at that field whose JSON kind is the one reported is taken; failing
// that, the value containing the offset.
func typeErrorPath(data []byte, te *json.UnmarshalTypeError, root string) string {
	kind := te.Value
	if strings.HasPrefix(kind, "number") {
		kind = "number"
	}
	// Embedded Go structs appear in the field path under their type
	// name (capitalised); FHIR element names never are.
	var parts []string
	for _, p := range strings.Split(te.Field, ".") {
		if p != "" && !(p[0] >= 'A' && p[0] <= 'Z') {
			parts = append(parts, p)
		}
	}
	field := strings.Join(parts, ".")
	found := ""
	walkJSON(data, func(indexed, plain, k string, end int64) bool {
		if plain == field && k == kind {
			found = indexed
			return true
		}
		return false
	})
	if found == "" {
		walkJSON(data, func(indexed, _, _ string, end int64) bool {
			if end >= te.Offset {
				found = indexed
				return true
			}
			return false
		})
	}
	if found == "" {
		return root
	}
	return root + found
}

// walkJSON calls visit for every value of data, in document order, with
// its indexed path (".agent[0].who"), its path without indices
// ("agent.who"), its kind (object, array, string, number, bool, null)
// and the input offset after its first token. visit returns true to
// stop.
func walkJSON(data []byte, visit func(indexed, plain, kind string, end int64) bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return
	}
	_, _ = walkValue(d, tok, "", "", 0, visit)
}

func walkValue(d *json.Decoder, tok json.Token, indexed, plain string, depth int, visit func(string, string, string, int64) bool) (bool, error) {
	if depth > 10000 {
		return true, nil
	}
	kind := "null"
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			kind = "object"
		} else {
			kind = "array"
		}
	case string:
		kind = "string"
	case json.Number:
		kind = "number"
	case bool:
		kind = "bool"
	}
	if visit(indexed, plain, kind, d.InputOffset()) {
		return true, nil
	}
	join := func(a, b string) string {
		if a == "" {
			return b
		}
		return a + "." + b
	}
	switch kind {
	case "object":
		for {
			k, err := d.Token()
			if err != nil {
				return true, err
			}
			key, ok := k.(string)
			if !ok {
				return false, nil // '}'
			}
			v, err := d.Token()
			if err != nil {
				return true, err
			}
			if stop, err := walkValue(d, v, indexed+"."+key, join(plain, key), depth+1, visit); stop || err != nil {
				return true, err
			}
		}
	case "array":
		for i := 0; ; i++ {
			v, err := d.Token()
			if err != nil {
				return true, err
			}
			if dl, ok := v.(json.Delim); ok && dl == ']' {
				return false, nil
			}
			if stop, err := walkValue(d, v, indexed+"["+strconv.Itoa(i)+"]", plain, depth+1, visit); stop || err != nil {
				return true, err
			}
		}
	}
	return false, nil
}

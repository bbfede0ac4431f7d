package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		path := pathAt(data, te.Offset, root)
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

// pathAt re-reads data with a tokenizer and returns the FHIRPath of the
// value that contains byte offset off, e.g. "AuditEvent.agent[0].who".
func pathAt(data []byte, off int64, root string) string {
	type frame struct {
		array bool
		key   string
		index int
	}
	var stack []frame
	render := func() string {
		var b strings.Builder
		b.WriteString(root)
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index-1) + "]")
			} else if f.key != "" {
				b.WriteString("." + f.key)
			}
		}
		return b.String()
	}
	d := json.NewDecoder(bytes.NewReader(data))
	expectKey := false
	for {
		if d.InputOffset() >= off && len(stack) > 0 {
			return render()
		}
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return render()
		}
		// A value (not a key) advances the index of an enclosing array.
		isValue := !(expectKey && len(stack) > 0 && !stack[len(stack)-1].array)
		if isValue && len(stack) > 0 && stack[len(stack)-1].array {
			if dl, ok := tok.(json.Delim); !ok || dl == '[' || dl == '{' {
				stack[len(stack)-1].index++
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{})
				expectKey = true
				continue
			case '[':
				stack = append(stack, frame{array: true})
				expectKey = false
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
				// After closing a value inside an object, the next token
				// is a key.
				expectKey = len(stack) > 0 && !stack[len(stack)-1].array
				if len(stack) > 0 && !stack[len(stack)-1].array {
					stack[len(stack)-1].key = ""
				}
				continue
			}
		case string:
			if expectKey {
				stack[len(stack)-1].key = t
				expectKey = false
				continue
			}
		}
		// A scalar value: inside an object the next token is a key.
		if len(stack) > 0 && !stack[len(stack)-1].array {
			if d.InputOffset() >= off {
				return render()
			}
			stack[len(stack)-1].key = ""
			expectKey = true
		}
	}
	return root
}

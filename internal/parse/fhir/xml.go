package fhir

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// FHIR XML (application/fhir+xml) is read by turning it into the JSON
// form and parsing that, so both formats share one validation and one
// mapping. The conversion knows which AuditEvent and Bundle elements
// repeat (JSON arrays) and which are booleans; everything else is an
// object (complex element) or a string (primitive with a value
// attribute).

// repeating lists element names that are arrays in the JSON form of
// AuditEvent (R4 and R5), Bundle and their data types.
var repeating = map[string]bool{
	"subtype": true, "purposeOfEvent": true, "category": true, "authorization": true, "basedOn": true,
	"agent": true, "policy": true, "purposeOfUse": true, "entity": true, "securityLabel": true,
	"detail": true, "coding": true, "profile": true, "security": true, "tag": true, "extension": true,
	"modifierExtension": true, "entry": true, "link": true, "contained": true,
}

// repeatingIn lists names that repeat only under the given parents.
var repeatingIn = map[string]map[string]bool{"type": {"source": true}, "role": {"agent": true}}

var booleans = map[string]bool{"requestor": true, "valueBoolean": true, "userSelected": true}

// IsXML reports whether body looks like XML (first non-space byte '<').
func IsXML(body []byte) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// XMLToJSON converts a FHIR XML resource (AuditEvent or Bundle) to its
// JSON form. Errors name the line of the XML.
func XMLToJSON(data []byte, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxRequestBytes {
		e := invalid("too-long", "", "request of %d bytes exceeds the limit of %d", len(data), lim.MaxRequestBytes)
		e.TooLarge = true
		return nil, e
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, invalid("structure", "", "no XML element in the request")
			}
			return nil, xmlError(d, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			var out bytes.Buffer
			nodes := 0
			if err := resourceXML(d, se, &out, 0, &nodes); err != nil {
				return nil, err
			}
			return out.Bytes(), nil
		}
	}
}

func xmlError(d *xml.Decoder, err error) *ValidationError {
	line, col := d.InputPos()
	is := issue("structure", "", "invalid XML: %v", err)
	is.Location = []string{fmt.Sprintf("line %d, column %d", line, col)}
	return &ValidationError{Issues: []Issue{is}}
}

const maxXMLDepth = 64
const maxXMLNodes = 100000

// resourceXML writes {"resourceType": name, ...children} for the
// resource element se.
func resourceXML(d *xml.Decoder, se xml.StartElement, out *bytes.Buffer, depth int, nodes *int) error {
	if se.Name.Space != "" && se.Name.Space != "http://hl7.org/fhir" {
		line, _ := d.InputPos()
		return invalid("structure", "", "element <%s> at line %d is not in the FHIR namespace http://hl7.org/fhir", se.Name.Local, line)
	}
	out.WriteString(`{"resourceType":`)
	writeJSONString(out, se.Name.Local)
	return complexXML(d, se.Name.Local, out, depth, nodes, true)
}

// complexXML reads the children of an element until its end tag and
// writes them as JSON members and the closing brace; the caller has
// written the opening brace and, when hasPrior, a first member.
func complexXML(d *xml.Decoder, parent string, out *bytes.Buffer, depth int, nodes *int, hasPrior bool) error {
	if depth > maxXMLDepth {
		line, _ := d.InputPos()
		return invalid("structure", "", "XML nested deeper than %d elements at line %d", maxXMLDepth, line)
	}
	first := !hasPrior
	// Members are gathered per name so that repeated elements become one
	// array, in document order of their first appearance.
	type member struct {
		name   string
		values []json.RawMessage
	}
	var members []*member
	index := map[string]*member{}
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return xmlError(d, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			for _, m := range members {
				if !first {
					out.WriteByte(',')
				}
				first = false
				writeJSONString(out, m.name)
				out.WriteByte(':')
				if len(m.values) == 1 && !(repeating[m.name] || repeatingIn[m.name][parent]) {
					out.Write(m.values[0])
					continue
				}
				out.WriteByte('[')
				for i, v := range m.values {
					if i > 0 {
						out.WriteByte(',')
					}
					out.Write(v)
				}
				out.WriteByte(']')
			}
			out.WriteByte('}')
			return nil
		case xml.StartElement:
			*nodes++
			if *nodes > maxXMLNodes {
				return invalid("too-long", "", "XML has more than %d elements", maxXMLNodes)
			}
			name := t.Name.Local
			var val bytes.Buffer
			switch {
			case name == "text" || name == "div":
				if err := d.Skip(); err != nil {
					return xmlError(d, err)
				}
				continue
			case name == "resource" || name == "contained":
				// Holds exactly one resource element.
				if err := innerResource(d, &val, depth+1, nodes); err != nil {
					return err
				}
			default:
				if err := elementXML(d, t, name, &val, depth+1, nodes); err != nil {
					return err
				}
			}
			m := index[name]
			if m == nil {
				m = &member{name: name}
				index[name] = m
				members = append(members, m)
			}
			m.values = append(m.values, json.RawMessage(bytes.Clone(val.Bytes())))
		}
	}
}

func innerResource(d *xml.Decoder, out *bytes.Buffer, depth int, nodes *int) error {
	var done bool
	for {
		tok, err := d.Token()
		if err != nil {
			return xmlError(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				return invalid("structure", "", "resource holds more than one element")
			}
			if err := resourceXML(d, t, out, depth, nodes); err != nil {
				return err
			}
			done = true
		case xml.EndElement:
			if !done {
				out.WriteString("null")
			}
			return nil
		}
	}
}

// elementXML writes one element: a primitive (value attribute, no
// children) as a JSON string or boolean, otherwise an object.
func elementXML(d *xml.Decoder, se xml.StartElement, name string, out *bytes.Buffer, depth int, nodes *int) error {
	value, hasValue := "", false
	var url string
	for _, a := range se.Attr {
		switch a.Name.Local {
		case "value":
			value, hasValue = a.Value, true
		case "url":
			url = a.Value
		}
	}
	if hasValue {
		// A primitive: its children can only be extensions; skip them.
		if err := d.Skip(); err != nil {
			return xmlError(d, err)
		}
		if booleans[name] && (value == "true" || value == "false") {
			out.WriteString(value)
			return nil
		}
		writeJSONString(out, value)
		return nil
	}
	out.WriteByte('{')
	if url != "" {
		out.WriteString(`"url":`)
		writeJSONString(out, url)
		return complexXML(d, name, out, depth, nodes, true)
	}
	return complexXML(d, name, out, depth, nodes, false)
}

func writeJSONString(out *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	out.Write(b)
}

// ParseRequestAuto parses a JSON or XML body (decided by its first
// byte); XML is converted with XMLToJSON first, so errors and
// expressions are the same for both formats.
func ParseRequestAuto(body []byte, lim Limits) (*Request, error) {
	if !IsXML(body) {
		return ParseRequest(body, lim)
	}
	js, err := XMLToJSON(body, lim)
	if err != nil {
		return nil, err
	}
	return ParseRequest(js, lim)
}

package atna

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a namespace-free XML element: what the audit message mapping
// needs, whatever schema generation (RFC 3881, DICOM Sup 95, DICOM
// PS3.15 current) the sender follows.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  string
	line  int
}

// attr returns the attribute's value, matching the name without regard to
// case (senders write UserID, UserId or userid).
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

// val returns the named value in either form: attribute (DICOM) or child
// element text (RFC 3881 element form).
func (n *node) val(name string) string {
	if v, ok := n.attr(name); ok {
		return strings.TrimSpace(v)
	}
	if c := n.child(name); c != nil {
		return strings.TrimSpace(c.text)
	}
	return ""
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if strings.EqualFold(k.name, name) {
			return k
		}
	}
	return nil
}

func (n *node) children(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if strings.EqualFold(k.name, name) {
			out = append(out, k)
		}
	}
	return out
}

// treeLimits bound the element tree of one message.
type treeLimits struct {
	maxDepth int
	maxNodes int
	maxText  int
}

var errTooComplex = errors.New("audit message too complex")

// readTree reads the element whose start token is start, with its
// subtree, from d.
func readTree(d *xml.Decoder, start xml.StartElement, lim treeLimits, line func() int) (*node, error) {
	root := &node{name: start.Name.Local, attrs: start.Attr, line: line()}
	stack := []*node{root}
	count := 1
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("element <%s> opened at line %d is not closed: %w", root.name, root.line, io.ErrUnexpectedEOF)
			}
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > lim.maxNodes {
				return nil, fmt.Errorf("%w: more than %d elements (line %d)", errTooComplex, lim.maxNodes, line())
			}
			if len(stack) >= lim.maxDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d elements (line %d)", errTooComplex, lim.maxDepth, line())
			}
			n := &node{name: t.Name.Local, attrs: t.Attr, line: line()}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		case xml.CharData:
			if len(top.text)+len(t) > lim.maxText {
				return nil, fmt.Errorf("%w: text of <%s> longer than %d bytes (line %d)", errTooComplex, top.name, lim.maxText, line())
			}
			top.text += string(t)
		}
	}
}

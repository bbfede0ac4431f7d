package evtx

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON rendering follows evtx_dump -o json (omerbenamram/evtx,
// src/binxml/ir_json.rs):
//
//   - an element becomes a key; its value is a scalar when it has only
//     text, null when it is empty, an object otherwise;
//   - attributes with a non-empty value go under "#attributes";
//   - text next to attributes or child elements goes under "#text";
//   - a lone integer or boolean value is a JSON number/boolean, anything
//     else a string;
//   - repeated sibling names get suffixes: Header, Header_1, Header_2, ...;
//   - inside EventData/UserData, <Data Name="N">v</Data> becomes "N": v
//     (empty Data is ""), and unnamed Data become "Data": {"#text": v} or
//     {"#text": [v1, v2, ...]}.

var errTextElement = errors.New("element inside text content")

// renderer writes one record tree as JSON.
type renderer struct {
	t     *tree
	out   []byte
	names []nameCount
}

type nameCount struct {
	name  string
	count int
}

func (r *renderer) record(root int32) error {
	r.out = append(r.out, '{', '"')
	r.out = appendJSONString(r.out, r.t.nodes[root].name)
	r.out = append(r.out, '"', ':')
	if err := r.elementValue(root, false); err != nil {
		return err
	}
	r.out = append(r.out, '}')
	return nil
}

// hasText reports whether the content list starting at c has non-empty
// text (text, values, references), ignoring elements and PIs.
func (r *renderer) hasText(c int32) bool {
	for ; c != none; c = r.t.nodes[c].next {
		n := &r.t.nodes[c]
		switch n.kind {
		case kValue:
			if !isEmptyValue(n.vtype, n.data) {
				return true
			}
		case kCData:
			if len(trimUTF16(n.data)) > 0 {
				return true
			}
		case kCharRef, kEntity:
			return true
		}
	}
	return false
}

func (r *renderer) attrsHaveText(e int32) bool {
	for a := r.t.nodes[e].attrs; a != none; a = r.t.nodes[a].next {
		if r.hasText(r.t.nodes[a].first) {
			return true
		}
	}
	return false
}

func isDataContainer(name string) bool { return name == "EventData" || name == "UserData" }

// elementValue writes the JSON value of element e.
func (r *renderer) elementValue(e int32, container bool) error {
	n := &r.t.nodes[e]
	if n.attrs == none {
		if ok, err := r.leafValue(e, "null"); ok || err != nil {
			return err
		}
	}
	hasText := r.hasText(n.first)
	hasElem := n.flags&fHasElementChild != 0
	attrText := r.attrsHaveText(e)
	switch {
	case !hasElem && !hasText && !attrText:
		r.out = append(r.out, "null"...)
		return nil
	case !hasElem && !attrText:
		return r.contentValue(n.first, false)
	}
	return r.body(e, container, false, hasText)
}

// leafValue handles the common element with exactly one text or value child
// and no child elements. It reports whether it wrote the value.
func (r *renderer) leafValue(e int32, empty string) (bool, error) {
	n := &r.t.nodes[e]
	if n.flags&fHasElementChild != 0 || n.first == none || n.first != n.last {
		return false, nil
	}
	c := &r.t.nodes[n.first]
	if c.kind != kValue {
		return false, nil
	}
	if isEmptyValue(c.vtype, c.data) {
		r.out = append(r.out, empty...)
		return true, nil
	}
	if isNumberType(c.vtype) {
		var err error
		if c.vtype == typeBool {
			var v bool
			v, err = boolValue(c.data)
			r.out = strconv.AppendBool(r.out, v)
		} else {
			r.out, err = appendInt(r.out, c.vtype, c.data)
		}
		return true, err
	}
	r.out = append(r.out, '"')
	var err error
	r.out, err = appendValueText(r.out, c.vtype, c.data)
	r.out = append(r.out, '"')
	return true, err
}

// contentValue writes a content list as a JSON value: a number when it is a
// single integer/boolean value, a string otherwise.
func (r *renderer) contentValue(first int32, skipElements bool) error {
	if single := r.singleValue(first, skipElements); single != none {
		c := &r.t.nodes[single]
		if isNumberType(c.vtype) {
			var err error
			if c.vtype == typeBool {
				var v bool
				v, err = boolValue(c.data)
				r.out = strconv.AppendBool(r.out, v)
			} else {
				r.out, err = appendInt(r.out, c.vtype, c.data)
			}
			return err
		}
	}
	r.out = append(r.out, '"')
	err := r.text(first, skipElements)
	r.out = append(r.out, '"')
	return err
}

// singleValue returns the value node when the list is exactly one value
// node (skipElements: exactly one non-empty value and no other text),
// otherwise none.
func (r *renderer) singleValue(first int32, skipElements bool) int32 {
	if !skipElements {
		if first != none && r.t.nodes[first].next == none && r.t.nodes[first].kind == kValue {
			return first
		}
		return none
	}
	single := none
	for c := first; c != none; c = r.t.nodes[c].next {
		n := &r.t.nodes[c]
		switch n.kind {
		case kValue:
			if isEmptyValue(n.vtype, n.data) {
				continue
			}
			if single != none {
				return none
			}
			single = c
		case kCData:
			if len(trimUTF16(n.data)) > 0 {
				return none
			}
		case kCharRef, kEntity:
			return none
		}
	}
	return single
}

// text writes the text of a content list (JSON-escaped, no quotes).
func (r *renderer) text(first int32, skipElements bool) error {
	for c := first; c != none; c = r.t.nodes[c].next {
		n := &r.t.nodes[c]
		switch n.kind {
		case kValue:
			var err error
			if r.out, err = appendValueText(r.out, n.vtype, n.data); err != nil {
				return err
			}
		case kCData:
			r.out = appendJSONUTF16(r.out, trimUTF16(n.data))
		case kCharRef:
			ch := rune(n.sub)
			if utf16.IsSurrogate(ch) {
				r.out = append(r.out, "&#"...)
				r.out = strconv.AppendUint(r.out, uint64(n.sub), 10)
				r.out = append(r.out, ';')
			} else if ch < utf8.RuneSelf {
				r.out = appendJSONString(r.out, string(byte(ch)))
			} else {
				r.out = utf8.AppendRune(r.out, ch)
			}
		case kEntity:
			switch n.name {
			case "quot":
				r.out = append(r.out, '\\', '"')
			case "apos":
				r.out = append(r.out, '\'')
			case "amp":
				r.out = append(r.out, '&')
			case "lt":
				r.out = append(r.out, '<')
			case "gt":
				r.out = append(r.out, '>')
			default:
				r.out = append(r.out, '&')
				r.out = appendJSONString(r.out, n.name)
				r.out = append(r.out, ';')
			}
		case kElement:
			if !skipElements {
				return errTextElement
			}
		}
	}
	return nil
}

// attributes writes "#attributes":{...} when some attribute has a value.
func (r *renderer) attributes(e int32) (bool, error) {
	if !r.attrsHaveText(e) {
		return false, nil
	}
	r.out = append(r.out, `"#attributes":{`...)
	first := true
	for a := r.t.nodes[e].attrs; a != none; a = r.t.nodes[a].next {
		an := &r.t.nodes[a]
		if !r.hasText(an.first) {
			continue
		}
		if !first {
			r.out = append(r.out, ',')
		}
		first = false
		r.out = append(r.out, '"')
		r.out = appendJSONString(r.out, an.name)
		r.out = append(r.out, '"', ':')
		if err := r.contentValue(an.first, false); err != nil {
			return false, err
		}
	}
	r.out = append(r.out, '}')
	return true, nil
}

func (r *renderer) nameAttr(e int32) int32 {
	for a := r.t.nodes[e].attrs; a != none; a = r.t.nodes[a].next {
		if r.t.nodes[a].name == "Name" {
			return a
		}
	}
	return none
}

// dataValue writes the value of a <Data> element ("" when empty).
func (r *renderer) dataValue(e int32) error {
	if ok, err := r.leafValue(e, `""`); ok || err != nil {
		return err
	}
	n := &r.t.nodes[e]
	hasText := r.hasText(n.first)
	hasElem := n.flags&fHasElementChild != 0
	switch {
	case !hasText && !hasElem:
		r.out = append(r.out, '"', '"')
		return nil
	case hasElem:
		return r.body(e, false, true, hasText)
	}
	return r.contentValue(n.first, false)
}

// body writes element e as a JSON object.
func (r *renderer) body(e int32, container, omitAttrs, hasText bool) error {
	nodes := r.t.nodes
	flatten := false
	positional := 0
	if container {
		for c := nodes[e].first; c != none; c = nodes[c].next {
			if nodes[c].kind != kElement || nodes[c].name != "Data" {
				continue
			}
			positional++
			if a := r.nameAttr(c); a != none && r.hasText(nodes[a].first) {
				flatten = true
			}
		}
		if flatten {
			positional = 0
		}
	}
	r.out = append(r.out, '{')
	wrote := false
	if !omitAttrs && nodes[e].attrs != none {
		ok, err := r.attributes(e)
		if err != nil {
			return err
		}
		wrote = ok
	}
	if hasText {
		if wrote {
			r.out = append(r.out, ',')
		}
		wrote = true
		r.out = append(r.out, `"#text":`...)
		if err := r.contentValue(nodes[e].first, true); err != nil {
			return err
		}
	}
	namesBase := len(r.names)
	defer func() { r.names = r.names[:namesBase] }()
	positionalDone := false
	for c := nodes[e].first; c != none; c = r.t.nodes[c].next {
		cn := &r.t.nodes[c]
		if cn.kind != kElement {
			continue
		}
		if container && cn.name == "Data" {
			if flatten {
				a := r.nameAttr(c)
				if a == none || !r.hasText(r.t.nodes[a].first) {
					continue
				}
				if wrote {
					r.out = append(r.out, ',')
				}
				wrote = true
				r.out = append(r.out, '"')
				if err := r.text(r.t.nodes[a].first, false); err != nil {
					return err
				}
				r.out = append(r.out, '"', ':')
				if err := r.dataValue(c); err != nil {
					return err
				}
			} else if !positionalDone && positional > 0 {
				positionalDone = true
				if wrote {
					r.out = append(r.out, ',')
				}
				wrote = true
				r.out = append(r.out, `"Data":{"#text":`...)
				if positional == 1 {
					if err := r.dataValue(c); err != nil {
						return err
					}
				} else {
					r.out = append(r.out, '[')
					first := true
					for d := c; d != none; d = r.t.nodes[d].next {
						if r.t.nodes[d].kind != kElement || r.t.nodes[d].name != "Data" {
							continue
						}
						if !first {
							r.out = append(r.out, ',')
						}
						first = false
						if err := r.dataValue(d); err != nil {
							return err
						}
					}
					r.out = append(r.out, ']')
				}
				r.out = append(r.out, '}')
			}
			continue
		}
		suffix := r.suffix(namesBase, cn.name)
		if wrote {
			r.out = append(r.out, ',')
		}
		wrote = true
		r.out = append(r.out, '"')
		r.out = appendJSONString(r.out, cn.name)
		if suffix > 0 {
			r.out = append(r.out, '_')
			r.out = strconv.AppendInt(r.out, int64(suffix), 10)
		}
		r.out = append(r.out, '"', ':')
		if err := r.elementValue(c, isDataContainer(cn.name)); err != nil {
			return err
		}
	}
	r.out = append(r.out, '}')
	return nil
}

// suffix returns how many earlier siblings had this name (0 for the first).
func (r *renderer) suffix(base int, name string) int {
	for i := base; i < len(r.names); i++ {
		if r.names[i].name == name {
			r.names[i].count++
			return r.names[i].count - 1
		}
	}
	r.names = append(r.names, nameCount{name: name, count: 1})
	return 0
}

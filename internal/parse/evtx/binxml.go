package evtx

import (
	"encoding/binary"
	"fmt"
)

// Node kinds of the in-memory BinXML tree.
const (
	kElement  = iota + 1
	kAttr     // attribute: name, value nodes in first..last
	kValue    // typed value: vtype + data (strings stay UTF-16LE)
	kCharRef  // character reference: sub
	kEntity   // entity reference: name
	kCData    // CDATA section: UTF-16LE data
	kPITarget // processing instruction target: name
	kPIData   // processing instruction data: UTF-16LE data
	kSubst    // template placeholder: sub = index, flags&fOptional
)

const (
	fOptional = 1 << iota
	fHasElementChild
)

const none int32 = -1

// node is one item of a tree. Children and attributes are singly linked
// lists through next; all nodes of a tree live in one slice.
type node struct {
	data  []byte
	name  string
	next  int32
	first int32 // element: first child; attr: first value node
	last  int32
	attrs int32 // element: first attribute
	alast int32
	sub   uint16
	kind  uint8
	vtype uint8
	flags uint8
}

// tree is an arena of nodes.
type tree struct {
	nodes []node
}

func (t *tree) reset() { t.nodes = t.nodes[:0] }

// Limits that bound the work and memory one record can cause, whatever its
// bytes say: array expansion and repeated use of one substitution can
// multiply nodes, so the record tree is capped.
const (
	maxNodes     = 1 << 17  // nodes in one record tree
	maxTextBytes = 16 << 20 // value bytes referenced by one record tree
	maxDepth     = 32       // nesting of BinXML fragments and elements
	maxElemDepth = 256      // element nesting inside one fragment
)

// val is one substitution value of a template instance.
type val struct {
	data []byte
	typ  uint8
}

// template is a parsed template definition.
type template struct {
	t    tree
	root int32
	err  error
}

// parseError is a BinXML error at a byte offset within the chunk.
type parseError struct {
	off int
	msg string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("chunk offset 0x%x: %s", e.off, e.msg)
}

func errAt(off int, format string, args ...any) error {
	return &parseError{off: off, msg: fmt.Sprintf(format, args...)}
}

// builder turns the BinXML of one chunk into trees. It holds the per-chunk
// caches (names, templates) and reusable buffers; it is not safe for
// concurrent use.
type builder struct {
	data      []byte // the chunk
	rec       tree   // the current record's tree
	names     map[uint32]string
	intern    map[string]string
	templates map[uint32]*template
	free      []*template
	vals      []val
	stack     []int32
	depth     int
	textBytes int
}

func newBuilder() *builder {
	return &builder{
		names:     make(map[uint32]string),
		intern:    make(map[string]string),
		templates: make(map[uint32]*template),
	}
}

// resetChunk prepares the builder for a new chunk's data.
func (b *builder) resetChunk(data []byte) {
	b.data = data
	clear(b.names)
	for _, t := range b.templates {
		b.free = append(b.free, t)
	}
	clear(b.templates)
	if len(b.intern) > 4096 {
		clear(b.intern)
	}
}

// name returns the name stored at chunk offset off.
func (b *builder) name(off uint32) (string, error) {
	if s, ok := b.names[off]; ok {
		return s, nil
	}
	o := int(off)
	if o < 0 || o+8 > len(b.data) {
		return "", errAt(o, "name offset out of chunk")
	}
	n := int(binary.LittleEndian.Uint16(b.data[o+6:]))
	if o+8+2*n > len(b.data) {
		return "", errAt(o, "name of %d characters runs past the chunk", n)
	}
	raw := b.data[o+8 : o+8+2*n]
	s, ok := b.intern[string(raw)]
	if !ok {
		s = decodeUTF16(raw[:2*utf16Units(raw)])
		b.intern[string(raw)] = s
	}
	b.names[off] = s
	return s, nil
}

// newNode appends a node to t, enforcing the record limits.
func (b *builder) newNode(t *tree, n node) (int32, error) {
	if len(t.nodes) >= maxNodes {
		return none, fmt.Errorf("record expands to more than %d nodes", maxNodes)
	}
	if n.kind == kValue || n.kind == kCData || n.kind == kPIData {
		b.textBytes += len(n.data)
		if b.textBytes > maxTextBytes {
			return none, fmt.Errorf("record expands to more than %d bytes of values", maxTextBytes)
		}
	}
	n.next, n.first, n.last, n.attrs, n.alast = none, none, none, none, none
	t.nodes = append(t.nodes, n)
	return int32(len(t.nodes) - 1), nil
}

// appendChild links child at the end of parent's child (or value) list.
func appendChild(t *tree, parent, child int32) {
	p := &t.nodes[parent]
	if p.last == none {
		p.first = child
	} else {
		t.nodes[p.last].next = child
	}
	p.last = child
	if t.nodes[child].kind == kElement && p.kind == kElement {
		p.flags |= fHasElementChild
	}
}

func appendAttr(t *tree, elem, attr int32) {
	e := &t.nodes[elem]
	if e.alast == none {
		e.attrs = attr
	} else {
		t.nodes[e.alast].next = attr
	}
	e.alast = attr
}

// frag is the state of parsing one BinXML fragment.
type frag struct {
	t        *tree
	pos, end int
	depID    bool // element starts carry a dependency identifier
	tmpl     bool // template definition: substitutions become placeholders
	root     int32
	cur      int32 // element whose start tag is open
	curAttr  int32
	base     int // b.stack[base:] belongs to this fragment
}

func (b *builder) u8(f *frag) (byte, error) {
	if f.pos+1 > f.end {
		return 0, errAt(f.pos, "unexpected end of data")
	}
	v := b.data[f.pos]
	f.pos++
	return v, nil
}

func (b *builder) u16(f *frag) (uint16, error) {
	if f.pos+2 > f.end {
		return 0, errAt(f.pos, "unexpected end of data")
	}
	v := binary.LittleEndian.Uint16(b.data[f.pos:])
	f.pos += 2
	return v, nil
}

func (b *builder) u32(f *frag) (uint32, error) {
	if f.pos+4 > f.end {
		return 0, errAt(f.pos, "unexpected end of data")
	}
	v := binary.LittleEndian.Uint32(b.data[f.pos:])
	f.pos += 4
	return v, nil
}

// nameRef reads a name reference; a name stored inline right after the
// reference is skipped.
func (b *builder) nameRef(f *frag) (string, error) {
	off, err := b.u32(f)
	if err != nil {
		return "", err
	}
	if int(off) == f.pos {
		if f.pos+8 > f.end {
			return "", errAt(f.pos, "inline name runs past the data")
		}
		n := int(binary.LittleEndian.Uint16(b.data[f.pos+6:]))
		size := 8 + 2*n + 2
		if f.pos+size > f.end {
			return "", errAt(f.pos, "inline name of %d characters runs past the data", n)
		}
		s, err := b.name(off)
		f.pos += size
		return s, err
	}
	return b.name(off)
}

// utf16Text reads a length-prefixed UTF-16 string (count of code units).
func (b *builder) utf16Text(f *frag) ([]byte, error) {
	n, err := b.u16(f)
	if err != nil {
		return nil, err
	}
	if f.pos+2*int(n) > f.end {
		return nil, errAt(f.pos, "string of %d characters runs past the data", n)
	}
	s := b.data[f.pos : f.pos+2*int(n)]
	f.pos += 2 * int(n)
	return s, nil
}

// parseFragment parses BinXML in b.data[start:end] into t. It returns the
// root element and the offset just past the fragment (its end-of-fragment
// token, or end).
func (b *builder) parseFragment(t *tree, start, end int, depID, tmpl bool) (int32, int, error) {
	if b.depth >= maxDepth {
		return none, 0, errAt(start, "BinXML nested more than %d levels", maxDepth)
	}
	b.depth++
	defer func() { b.depth-- }()
	if end > len(b.data) {
		end = len(b.data)
	}
	f := &frag{t: t, pos: start, end: end, depID: depID, tmpl: tmpl, root: none, cur: none, curAttr: none, base: len(b.stack)}
	defer func() { b.stack = b.stack[:f.base] }()
	for f.pos < f.end {
		tokOff := f.pos
		tok := b.data[f.pos]
		f.pos++
		var err error
		switch tok {
		case 0x00: // end of fragment
			f.end = f.pos
		case 0x0f: // fragment header: major, minor, flags
			if f.pos+3 > f.end {
				return none, 0, errAt(tokOff, "truncated fragment header")
			}
			f.pos += 3
		case 0x0c:
			err = b.templateInstance(f, tokOff)
		case 0x01, 0x41:
			err = b.openElement(f, tokOff, tok == 0x41)
		case 0x02: // close start tag
			if f.cur == none {
				return none, 0, errAt(tokOff, "close of a start tag that is not open")
			}
			if len(b.stack)-f.base >= maxElemDepth {
				return none, 0, errAt(tokOff, "elements nested more than %d levels", maxElemDepth)
			}
			b.stack = append(b.stack, f.cur)
			f.cur, f.curAttr = none, none
		case 0x03: // close empty element
			if f.cur == none {
				return none, 0, errAt(tokOff, "close of an empty element that is not open")
			}
			e := f.cur
			f.cur, f.curAttr = none, none
			err = b.attach(f, e, tokOff)
		case 0x04: // end element
			if f.cur != none || len(b.stack) == f.base {
				return none, 0, errAt(tokOff, "end of an element that is not open")
			}
			e := b.stack[len(b.stack)-1]
			b.stack = b.stack[:len(b.stack)-1]
			err = b.attach(f, e, tokOff)
		case 0x06, 0x46: // attribute
			if f.cur == none {
				return none, 0, errAt(tokOff, "attribute outside a start tag")
			}
			var name string
			if name, err = b.nameRef(f); err != nil {
				return none, 0, err
			}
			if f.curAttr, err = b.newNode(t, node{kind: kAttr, name: name}); err != nil {
				return none, 0, err
			}
		case 0x05, 0x45:
			err = b.inlineValue(f, tokOff)
		case 0x07, 0x47, 0x0b: // CDATA section, PI data
			var s []byte
			if s, err = b.utf16Text(f); err != nil {
				return none, 0, err
			}
			kind := uint8(kCData)
			if tok == 0x0b {
				kind = kPIData
			}
			err = b.push(f, node{kind: kind, data: s}, tokOff)
		case 0x08, 0x48: // character reference
			var v uint16
			if v, err = b.u16(f); err != nil {
				return none, 0, err
			}
			err = b.push(f, node{kind: kCharRef, sub: v}, tokOff)
		case 0x09, 0x49, 0x0a: // entity reference, PI target
			var name string
			if name, err = b.nameRef(f); err != nil {
				return none, 0, err
			}
			kind := uint8(kEntity)
			if tok == 0x0a {
				kind = kPITarget
			}
			err = b.push(f, node{kind: kind, name: name}, tokOff)
		case 0x0d, 0x0e: // normal, optional substitution
			if !f.tmpl {
				return none, 0, errAt(tokOff, "substitution outside a template definition")
			}
			if f.pos+3 > f.end {
				return none, 0, errAt(tokOff, "truncated substitution")
			}
			idx := binary.LittleEndian.Uint16(b.data[f.pos:])
			vt := b.data[f.pos+2]
			f.pos += 3
			if !validType(vt) {
				return none, 0, errAt(tokOff, "substitution of %s", typeName(vt))
			}
			var flags uint8
			if tok == 0x0e {
				flags = fOptional
			}
			err = b.push(f, node{kind: kSubst, sub: idx, vtype: vt, flags: flags}, tokOff)
		default:
			return none, 0, errAt(tokOff, "invalid BinXML token 0x%02x", tok)
		}
		if err != nil {
			return none, 0, err
		}
	}
	if f.cur != none || len(b.stack) != f.base {
		return none, 0, errAt(f.end, "BinXML ends inside an open element")
	}
	if f.root == none {
		return none, 0, errAt(start, "BinXML fragment has no element")
	}
	return f.root, f.pos, nil
}

// openElement reads an element start: [dependency id] size name [attr size].
func (b *builder) openElement(f *frag, tokOff int, hasAttrs bool) error {
	if f.cur != none {
		return errAt(tokOff, "element start inside another start tag")
	}
	need := 4
	if f.depID {
		need += 2
	}
	if f.pos+need > f.end {
		return errAt(tokOff, "truncated element start")
	}
	f.pos += need
	name, err := b.nameRef(f)
	if err != nil {
		return err
	}
	if hasAttrs {
		if _, err := b.u32(f); err != nil {
			return err
		}
	}
	f.cur, err = b.newNode(f.t, node{kind: kElement, name: name})
	f.curAttr = none
	return err
}

// attach makes e a child of the innermost open element, or the root.
func (b *builder) attach(f *frag, e int32, off int) error {
	if len(b.stack) > f.base {
		appendChild(f.t, b.stack[len(b.stack)-1], e)
		return nil
	}
	if f.root != none {
		return errAt(off, "BinXML fragment has more than one root element")
	}
	f.root = e
	return nil
}

// push adds a content node to the open attribute or the innermost element.
func (b *builder) push(f *frag, n node, off int) error {
	if f.cur != none {
		if f.curAttr == none {
			return nil // value in a start tag without an attribute: dropped
		}
		idx, err := b.newNode(f.t, n)
		if err != nil {
			return err
		}
		if f.t.nodes[f.curAttr].first == none {
			appendAttr(f.t, f.cur, f.curAttr)
		}
		appendChild(f.t, f.curAttr, idx)
		return nil
	}
	if len(b.stack) == f.base {
		return errAt(off, "content outside of any element")
	}
	idx, err := b.newNode(f.t, n)
	if err != nil {
		return err
	}
	appendChild(f.t, b.stack[len(b.stack)-1], idx)
	return nil
}

// inlineValue reads a value token (type byte plus unsized data).
func (b *builder) inlineValue(f *frag, tokOff int) error {
	vt, err := b.u8(f)
	if err != nil {
		return err
	}
	var data []byte
	switch {
	case vt == typeString:
		if data, err = b.utf16Text(f); err != nil {
			return err
		}
	case vt == typeSID:
		if f.pos+8 > f.end {
			return errAt(tokOff, "truncated SID value")
		}
		n := 8 + 4*int(b.data[f.pos+1])
		if f.pos+n > f.end {
			return errAt(tokOff, "truncated SID value")
		}
		data = b.data[f.pos : f.pos+n]
		f.pos += n
	case vt == typeNull:
	case vt == typeBinXML:
		// An embedded fragment: a 16-bit size, then BinXML whose elements
		// carry no dependency identifier (as evtx_dump reads it).
		n, err := b.u16(f)
		if err != nil {
			return err
		}
		if f.pos+int(n) > f.end {
			return errAt(tokOff, "embedded BinXML of %d bytes runs past the data", n)
		}
		start := f.pos
		f.pos += int(n)
		if n == 0 {
			return nil
		}
		if f.cur != none {
			return errAt(tokOff, "BinXML value inside an attribute")
		}
		if len(b.stack) == f.base {
			return errAt(tokOff, "content outside of any element")
		}
		root, _, err := b.parseFragment(f.t, start, start+int(n), false, f.tmpl)
		if err != nil {
			return err
		}
		appendChild(f.t, b.stack[len(b.stack)-1], root)
		return nil
	case fixedWidth(vt) > 0 && vt&typeArray == 0:
		w := fixedWidth(vt)
		if f.pos+w > f.end {
			return errAt(tokOff, "truncated %s value", typeName(vt))
		}
		data = b.data[f.pos : f.pos+w]
		f.pos += w
	default:
		return errAt(tokOff, "value token of %s without a size", typeName(vt))
	}
	vt, data = cleanValue(vt, data)
	return b.push(f, node{kind: kValue, vtype: vt, data: data}, tokOff)
}

// templateInstance reads a template instance and splices the instantiated
// template into the fragment.
func (b *builder) templateInstance(f *frag, tokOff int) error {
	if f.tmpl {
		return errAt(tokOff, "template instance inside a template definition")
	}
	if f.cur != none {
		return errAt(tokOff, "template instance inside a start tag")
	}
	if f.pos+9 > f.end {
		return errAt(tokOff, "truncated template instance")
	}
	defOff := binary.LittleEndian.Uint32(b.data[f.pos+5:])
	f.pos += 9
	if int(defOff) == f.pos {
		// The definition is stored here: skip it.
		if f.pos+24 > f.end {
			return errAt(f.pos, "truncated template definition")
		}
		size := int(binary.LittleEndian.Uint32(b.data[f.pos+20:]))
		if size > f.end-f.pos-24 {
			return errAt(f.pos, "template definition of %d bytes runs past the data", size)
		}
		f.pos += 24 + size
	}
	n32, err := b.u32(f)
	if err != nil {
		return err
	}
	if int64(n32)*4 > int64(f.end-f.pos) {
		return errAt(tokOff, "template instance claims %d values, more than its data holds", n32)
	}
	n := int(n32)
	base := len(b.vals)
	defer func() { b.vals = b.vals[:base] }()
	descOff := f.pos
	f.pos += 4 * n
	for i := 0; i < n; i++ {
		d := b.data[descOff+4*i:]
		size := int(binary.LittleEndian.Uint16(d))
		vt := d[2]
		if !validType(vt) {
			return errAt(descOff+4*i, "substitution %d has %s", i, typeName(vt))
		}
		if f.pos+size > f.end {
			return errAt(f.pos, "substitution %d of %d bytes runs past the data", i, size)
		}
		b.vals = append(b.vals, val{typ: vt, data: b.data[f.pos : f.pos+size]})
		f.pos += size
	}
	tp, err := b.template(defOff)
	if err != nil {
		return err
	}
	root, err := b.cloneElement(f.t, &tp.t, tp.root, b.vals[base:])
	if err != nil {
		return err
	}
	return b.attach(f, root, tokOff)
}

// template returns the parsed template definition at chunk offset off.
func (b *builder) template(off uint32) (*template, error) {
	if tp, ok := b.templates[off]; ok {
		return tp, tp.err
	}
	var tp *template
	if n := len(b.free); n > 0 {
		tp = b.free[n-1]
		b.free = b.free[:n-1]
		tp.t.reset()
		tp.err = nil
	} else {
		tp = &template{}
	}
	b.templates[off] = tp
	o := int(off)
	if o < 0 || o+24 > len(b.data) {
		tp.err = errAt(o, "template definition offset out of chunk")
		return tp, tp.err
	}
	size := int(binary.LittleEndian.Uint32(b.data[o+20:]))
	if size > len(b.data)-o-24 {
		tp.err = errAt(o, "template definition of %d bytes runs past the chunk", size)
		return tp, tp.err
	}
	saved := b.textBytes
	tp.root, _, tp.err = b.parseFragment(&tp.t, o+24, o+24+size, true, true)
	b.textBytes = saved
	if tp.err != nil {
		tp.err = fmt.Errorf("template definition at chunk offset 0x%x: %w", o, tp.err)
	}
	return tp, tp.err
}

// cloneElement instantiates template element ti (of tt) into t, resolving
// placeholders with vals. Child elements holding array values are repeated
// once per array item (MS-EVEN6 array expansion); the root is not.
func (b *builder) cloneElement(t, tt *tree, ti int32, vals []val) (int32, error) {
	src := tt.nodes[ti]
	e, err := b.newNode(t, node{kind: kElement, name: src.name})
	if err != nil {
		return none, err
	}
	for a := src.attrs; a != none; a = tt.nodes[a].next {
		na, err := b.newNode(t, node{kind: kAttr, name: tt.nodes[a].name})
		if err != nil {
			return none, err
		}
		for v := tt.nodes[a].first; v != none; v = tt.nodes[v].next {
			if err := b.resolve(t, tt, v, vals, na); err != nil {
				return none, err
			}
		}
		if t.nodes[na].first != none {
			appendAttr(t, e, na)
		}
	}
	for c := src.first; c != none; c = tt.nodes[c].next {
		if tt.nodes[c].kind != kElement {
			if err := b.resolve(t, tt, c, vals, e); err != nil {
				return none, err
			}
			continue
		}
		ce, err := b.cloneElement(t, tt, c, vals)
		if err != nil {
			return none, err
		}
		if err := b.appendExpanded(t, e, ce); err != nil {
			return none, err
		}
	}
	return e, nil
}

// resolve copies content node v of tt under parent in t, replacing a
// placeholder by its value.
func (b *builder) resolve(t, tt *tree, v int32, vals []val, parent int32) error {
	src := tt.nodes[v]
	if src.kind != kSubst {
		src.next = none
		idx, err := b.newNode(t, src)
		if err != nil {
			return err
		}
		appendChild(t, parent, idx)
		return nil
	}
	i := int(src.sub)
	if i >= len(vals) {
		return nil
	}
	x := vals[i]
	if src.flags&fOptional != 0 && isEmptyValue(x.typ, x.data) {
		return nil
	}
	switch x.typ {
	case typeBinXML:
		if len(x.data) == 0 {
			return nil
		}
		if t.nodes[parent].kind != kElement {
			return fmt.Errorf("substitution %d: BinXML value in an attribute", i)
		}
		start := b.offsetOf(x.data)
		root, _, err := b.parseFragment(t, start, start+len(x.data), false, false)
		if err != nil {
			return fmt.Errorf("substitution %d (BinXML): %w", i, err)
		}
		appendChild(t, parent, root)
		return nil
	case typeEvtHandl, typeEvtXML:
		return fmt.Errorf("substitution %d: unsupported %s value", i, typeName(x.typ))
	}
	vt, data := cleanValue(x.typ, x.data)
	idx, err := b.newNode(t, node{kind: kValue, vtype: vt, data: data})
	if err != nil {
		return err
	}
	appendChild(t, parent, idx)
	return nil
}

// offsetOf returns the chunk offset of a slice of b.data.
func (b *builder) offsetOf(s []byte) int {
	return cap(b.data) - cap(s)
}

// appendExpanded appends element e to parent, first repeating it once per
// item of the first array value (len > 1) among its content and attribute
// values, recursively for further arrays.
func (b *builder) appendExpanded(t *tree, parent, e int32) error {
	loc, attr := findArray(t, e)
	if loc == none {
		appendChild(t, parent, e)
		return nil
	}
	av := t.nodes[loc]
	n := arrayLen(av.vtype, av.data)
	base := av.vtype &^ typeArray
	var items [][]byte
	switch base {
	case typeString:
		items = splitUTF16(av.data, nil)
	case typeAnsi:
		items = splitAnsi(av.data, nil)
	}
	for i := 0; i < n; i++ {
		var it uint8
		var data []byte
		if items != nil {
			it, data = base, items[i]
			if base == typeString {
				it = typeStringRaw
			}
		} else {
			it, data = arrayItem(av.vtype, av.data, i)
		}
		omit := (it == typeStringRaw || it == typeAnsi) && isEmptyValue(it, data)
		it, data = cleanValue(it, data)
		cp, err := b.copyWithItem(t, e, loc, attr, it, data, omit)
		if err != nil {
			return err
		}
		if err := b.appendExpanded(t, parent, cp); err != nil {
			return err
		}
	}
	return nil
}

// findArray finds the first expandable array value of element e: among its
// content nodes first, then its attribute values. It returns the value node
// and the attribute holding it (or none).
func findArray(t *tree, e int32) (int32, int32) {
	for c := t.nodes[e].first; c != none; c = t.nodes[c].next {
		n := &t.nodes[c]
		if n.kind == kValue && n.vtype&typeArray != 0 && arrayLen(n.vtype, n.data) > 1 {
			return c, none
		}
	}
	for a := t.nodes[e].attrs; a != none; a = t.nodes[a].next {
		for c := t.nodes[a].first; c != none; c = t.nodes[c].next {
			n := &t.nodes[c]
			if n.kind == kValue && n.vtype&typeArray != 0 && arrayLen(n.vtype, n.data) > 1 {
				return c, a
			}
		}
	}
	return none, none
}

// copyWithItem makes a shallow copy of element e in which value node loc
// (a child of e, or of attribute attr) is replaced by one array item.
func (b *builder) copyWithItem(t *tree, e, loc, attr int32, it uint8, data []byte, omit bool) (int32, error) {
	src := t.nodes[e]
	cp, err := b.newNode(t, node{kind: kElement, name: src.name})
	if err != nil {
		return none, err
	}
	copyList := func(parent, first, replaced int32) error {
		for c := first; c != none; c = t.nodes[c].next {
			n := t.nodes[c]
			if c == replaced {
				if omit {
					continue
				}
				n = node{kind: kValue, vtype: it, data: data}
			}
			saveFirst, saveLast, saveAttrs, saveAlast, saveFlags := n.first, n.last, n.attrs, n.alast, n.flags
			idx, err := b.newNode(t, n)
			if err != nil {
				return err
			}
			if n.kind == kElement {
				// Share the child element's subtree.
				nn := &t.nodes[idx]
				nn.first, nn.last, nn.attrs, nn.alast, nn.flags = saveFirst, saveLast, saveAttrs, saveAlast, saveFlags
			}
			appendChild(t, parent, idx)
		}
		return nil
	}
	for a := src.attrs; a != none; a = t.nodes[a].next {
		if a != attr {
			an := t.nodes[a]
			na, err := b.newNode(t, node{kind: kAttr, name: an.name})
			if err != nil {
				return none, err
			}
			t.nodes[na].first, t.nodes[na].last = an.first, an.last
			appendAttr(t, cp, na)
			continue
		}
		na, err := b.newNode(t, node{kind: kAttr, name: t.nodes[a].name})
		if err != nil {
			return none, err
		}
		if err := copyList(na, t.nodes[a].first, loc); err != nil {
			return none, err
		}
		if t.nodes[na].first != none {
			appendAttr(t, cp, na)
		}
	}
	replaced := none
	if attr == none {
		replaced = loc
	}
	if err := copyList(cp, src.first, replaced); err != nil {
		return none, err
	}
	return cp, nil
}

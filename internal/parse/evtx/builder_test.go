package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"unicode/utf16"
)

// This file is a small EVTX writer for tests: it builds chunks and records
// with BinXML templates the way Windows lays them out (template definitions
// and names stored inline on first use, referenced by chunk offset after).

// xn is a BinXML node of a template body or of a record fragment.
type xn interface{ emit(w *bxw) }

type xel struct {
	name  string
	attrs []xattr
	kids  []xn
}

type xattr struct {
	name string
	val  []xn
}

type xtext string // value token: UTF-16 string

type xsub struct { // substitution
	idx uint16
	typ uint8
	opt bool
}

type xcdata string
type xcharref uint16
type xentity string
type xpi struct{ target, data string }

type xinline struct { // value token of a fixed-size type
	typ  uint8
	data []byte
}

type xinst struct { // template instance (only in records or BinXML values)
	key  string // template identity within the chunk
	body *xel
	vals []tval
}

// tval is a template instance value; frag, when set, is a BinXML fragment
// written in place as a BinXML (0x21) value.
type tval struct {
	typ  uint8
	data []byte
	frag xn
}

// bxw writes BinXML into a chunk buffer.
type bxw struct {
	c     *chunkW
	depID bool
}

func (w *bxw) u8(v byte)    { w.c.buf = append(w.c.buf, v) }
func (w *bxw) u16(v uint16) { w.c.buf = binary.LittleEndian.AppendUint16(w.c.buf, v) }
func (w *bxw) u32(v uint32) { w.c.buf = binary.LittleEndian.AppendUint32(w.c.buf, v) }
func (w *bxw) pos() uint32  { return uint32(len(w.c.buf)) }

func (w *bxw) utf16(s string) {
	for _, u := range utf16.Encode([]rune(s)) {
		w.u16(u)
	}
}

// name writes a name reference, storing the name inline on first use.
func (w *bxw) name(s string) {
	if off, ok := w.c.names[s]; ok {
		w.u32(off)
		return
	}
	off := w.pos() + 4
	w.c.names[s] = off
	w.u32(off)
	w.u32(0) // next name in the hash bucket
	w.u16(0) // hash (not checked)
	w.u16(uint16(len(utf16.Encode([]rune(s)))))
	w.utf16(s)
	w.u16(0)
}

func (e *xel) emit(w *bxw) {
	tok := byte(0x01)
	if len(e.attrs) > 0 {
		tok = 0x41
	}
	w.u8(tok)
	if w.depID {
		w.u16(0xffff)
	}
	w.u32(0) // data size (not used by readers)
	w.name(e.name)
	if len(e.attrs) > 0 {
		w.u32(0) // attribute list size
		for i, a := range e.attrs {
			if i < len(e.attrs)-1 {
				w.u8(0x46)
			} else {
				w.u8(0x06)
			}
			w.name(a.name)
			for _, v := range a.val {
				v.emit(w)
			}
		}
	}
	if len(e.kids) == 0 {
		w.u8(0x03)
		return
	}
	w.u8(0x02)
	for _, k := range e.kids {
		k.emit(w)
	}
	w.u8(0x04)
}

func (t xtext) emit(w *bxw) {
	w.u8(0x05)
	w.u8(typeString)
	w.u16(uint16(len(utf16.Encode([]rune(string(t))))))
	w.utf16(string(t))
}

func (s xsub) emit(w *bxw) {
	if s.opt {
		w.u8(0x0e)
	} else {
		w.u8(0x0d)
	}
	w.u16(s.idx)
	w.u8(s.typ)
}

func (c xcdata) emit(w *bxw) {
	w.u8(0x07)
	w.u16(uint16(len(utf16.Encode([]rune(string(c))))))
	w.utf16(string(c))
}

func (c xcharref) emit(w *bxw) { w.u8(0x08); w.u16(uint16(c)) }
func (e xentity) emit(w *bxw)  { w.u8(0x09); w.name(string(e)) }

func (p xpi) emit(w *bxw) {
	w.u8(0x0a)
	w.name(p.target)
	w.u8(0x0b)
	w.u16(uint16(len(utf16.Encode([]rune(p.data)))))
	w.utf16(p.data)
}

// xinlineFrag is a value token of type BinXML: a 16-bit size, then a
// fragment without dependency identifiers.
type xinlineFrag struct{ frag xn }

func (v xinlineFrag) emit(w *bxw) {
	w.u8(0x05)
	w.u8(typeBinXML)
	sizeAt := len(w.c.buf)
	w.u16(0)
	start := len(w.c.buf)
	fw := &bxw{c: w.c}
	fw.c.buf = append(fw.c.buf, 0x0f, 0x01, 0x01, 0x00)
	v.frag.emit(fw)
	fw.u8(0x00)
	binary.LittleEndian.PutUint16(w.c.buf[sizeAt:], uint16(len(w.c.buf)-start))
}

func (v xinline) emit(w *bxw) {
	w.u8(0x05)
	w.u8(v.typ)
	w.c.buf = append(w.c.buf, v.data...)
}

func (in xinst) emit(w *bxw) {
	w.u8(0x0c)
	w.u8(0x01)
	w.u32(uint32(len(in.key))) // template identifier (not used)
	if off, ok := w.c.tmpls[in.key]; ok {
		w.u32(off)
	} else {
		off := w.pos() + 4
		w.c.tmpls[in.key] = off
		w.u32(off)
		w.u32(0) // next template definition
		guid := make([]byte, 16)
		copy(guid, in.key)
		w.c.buf = append(w.c.buf, guid...)
		sizeAt := len(w.c.buf)
		w.u32(0)
		start := len(w.c.buf)
		tw := &bxw{c: w.c, depID: true}
		tw.c.buf = append(tw.c.buf, 0x0f, 0x01, 0x01, 0x00)
		in.body.emit(tw)
		tw.u8(0x00)
		binary.LittleEndian.PutUint32(w.c.buf[sizeAt:], uint32(len(w.c.buf)-start))
	}
	w.u32(uint32(len(in.vals)))
	descs := len(w.c.buf)
	for _, v := range in.vals {
		w.u16(uint16(len(v.data)))
		w.u8(v.typ)
		w.u8(0)
	}
	for i, v := range in.vals {
		if v.frag == nil {
			w.c.buf = append(w.c.buf, v.data...)
			continue
		}
		start := len(w.c.buf)
		fw := &bxw{c: w.c}
		fw.c.buf = append(fw.c.buf, 0x0f, 0x01, 0x01, 0x00)
		v.frag.emit(fw)
		fw.u8(0x00)
		binary.LittleEndian.PutUint16(w.c.buf[descs+4*i:], uint16(len(w.c.buf)-start))
	}
}

// chunkW builds one chunk.
type chunkW struct {
	buf     []byte
	names   map[string]uint32
	tmpls   map[string]uint32
	first   uint64
	last    uint64
	lastOff uint32
	count   int
}

func newChunkW() *chunkW {
	return &chunkW{buf: make([]byte, chunkHeaderSize), names: map[string]uint32{}, tmpls: map[string]uint32{}}
}

// record appends a record whose BinXML is a fragment holding root.
func (c *chunkW) record(id uint64, ft uint64, root xn) {
	start := len(c.buf)
	c.buf = append(c.buf, recordMagic...)
	c.buf = binary.LittleEndian.AppendUint32(c.buf, 0)
	c.buf = binary.LittleEndian.AppendUint64(c.buf, id)
	c.buf = binary.LittleEndian.AppendUint64(c.buf, ft)
	w := &bxw{c: c}
	c.buf = append(c.buf, 0x0f, 0x01, 0x01, 0x00)
	root.emit(w)
	w.u8(0x00)
	size := uint32(len(c.buf) - start + 4)
	binary.LittleEndian.PutUint32(c.buf[start+4:], size)
	c.buf = binary.LittleEndian.AppendUint32(c.buf, size)
	if c.count == 0 {
		c.first = id
	}
	c.last = id
	c.lastOff = uint32(start)
	c.count++
}

// bytes returns the finished 64 KiB chunk with its checksums.
func (c *chunkW) bytes() []byte {
	if len(c.buf) > ChunkSize {
		panic("test chunk larger than 64 KiB")
	}
	free := uint32(len(c.buf))
	out := make([]byte, ChunkSize)
	copy(out, c.buf)
	le := binary.LittleEndian
	copy(out, chunkMagic)
	le.PutUint64(out[8:], c.first)
	le.PutUint64(out[16:], c.last)
	le.PutUint64(out[24:], c.first)
	le.PutUint64(out[32:], c.last)
	le.PutUint32(out[40:], 128)
	le.PutUint32(out[44:], c.lastOff)
	le.PutUint32(out[48:], free)
	le.PutUint32(out[52:], crc32.ChecksumIEEE(out[chunkHeaderSize:free]))
	fixChunkCRC(out)
	return out
}

func fixChunkCRC(chunk []byte) {
	sum := crc32.Update(crc32.ChecksumIEEE(chunk[:120]), crc32.IEEETable, chunk[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(chunk[124:], sum)
}

// evtxFile joins chunks behind a file header.
func evtxFile(chunks ...[]byte) []byte {
	out := make([]byte, FileHeaderSize)
	le := binary.LittleEndian
	copy(out, fileMagic)
	le.PutUint64(out[16:], uint64(max(len(chunks)-1, 0)))
	le.PutUint64(out[24:], 1)
	le.PutUint32(out[32:], 128)
	le.PutUint16(out[36:], 2)
	le.PutUint16(out[38:], 3)
	le.PutUint16(out[40:], FileHeaderSize)
	le.PutUint16(out[42:], uint16(len(chunks)))
	le.PutUint32(out[124:], crc32.ChecksumIEEE(out[:120]))
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// Value encoders.

func vStr(s string) tval {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return tval{typ: typeString, data: b}
}

func vStrs(ss ...string) tval {
	var b []byte
	for _, s := range ss {
		b = append(b, vStr(s).data...)
		b = append(b, 0, 0)
	}
	return tval{typ: typeString | typeArray, data: b}
}

func vU8(v uint8) tval { return tval{typ: typeUint8, data: []byte{v}} }
func vI8(v int8) tval  { return tval{typ: typeInt8, data: []byte{byte(v)}} }
func vU16(v uint16) tval {
	return tval{typ: typeUint16, data: binary.LittleEndian.AppendUint16(nil, v)}
}
func vI16(v int16) tval {
	return tval{typ: typeInt16, data: binary.LittleEndian.AppendUint16(nil, uint16(v))}
}
func vU32(v uint32) tval {
	return tval{typ: typeUint32, data: binary.LittleEndian.AppendUint32(nil, v)}
}
func vI32(v int32) tval {
	return tval{typ: typeInt32, data: binary.LittleEndian.AppendUint32(nil, uint32(v))}
}
func vU64(v uint64) tval {
	return tval{typ: typeUint64, data: binary.LittleEndian.AppendUint64(nil, v)}
}
func vI64(v int64) tval {
	return tval{typ: typeInt64, data: binary.LittleEndian.AppendUint64(nil, uint64(v))}
}
func vHex32(v uint32) tval {
	return tval{typ: typeHex32, data: binary.LittleEndian.AppendUint32(nil, v)}
}
func vHex64(v uint64) tval {
	return tval{typ: typeHex64, data: binary.LittleEndian.AppendUint64(nil, v)}
}
func vF32(v float32) tval {
	return tval{typ: typeReal32, data: binary.LittleEndian.AppendUint32(nil, math.Float32bits(v))}
}
func vF64(v float64) tval {
	return tval{typ: typeReal64, data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))}
}
func vBool(v uint32) tval { return tval{typ: typeBool, data: binary.LittleEndian.AppendUint32(nil, v)} }
func vBin(b ...byte) tval { return tval{typ: typeBinary, data: b} }
func vFiletime(ft uint64) tval {
	return tval{typ: typeFiletime, data: binary.LittleEndian.AppendUint64(nil, ft)}
}
func vNull() tval { return tval{typ: typeNull} }

func vBinXML(frag xn) tval { return tval{typ: typeBinXML, frag: frag} }

func vGUID(d1 uint32, d2, d3 uint16, d4 [8]byte) tval {
	b := binary.LittleEndian.AppendUint32(nil, d1)
	b = binary.LittleEndian.AppendUint16(b, d2)
	b = binary.LittleEndian.AppendUint16(b, d3)
	return tval{typ: typeGUID, data: append(b, d4[:]...)}
}

func vSID(rev byte, auth uint64, subs ...uint32) tval {
	b := []byte{rev, byte(len(subs))}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, s := range subs {
		b = binary.LittleEndian.AppendUint32(b, s)
	}
	return tval{typ: typeSID, data: b}
}

func vSystime(y, mo, dow, d, h, mi, s, ms uint16) tval {
	var b []byte
	for _, v := range []uint16{y, mo, dow, d, h, mi, s, ms} {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return tval{typ: typeSystime, data: b}
}

func vArr(base uint8, items ...tval) tval {
	var b []byte
	for _, it := range items {
		b = append(b, it.data...)
	}
	return tval{typ: base | typeArray, data: b}
}

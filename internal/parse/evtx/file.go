package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// Sizes of the EVTX structures (libyal "Windows XML Event Log (EVTX)
// format").
const (
	FileHeaderSize   = 4096
	ChunkSize        = 65536
	chunkHeaderSize  = 512
	recordHeaderSize = 24
	minRecordSize    = recordHeaderSize + 4
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte{0x2a, 0x2a, 0x00, 0x00}
)

// chunkFlagNoCRC marks a chunk whose checksums are not maintained.
const chunkFlagNoCRC = 0x4

// FileHeader is the EVTX file header.
type FileHeader struct {
	FirstChunk   uint64
	LastChunk    uint64
	NextRecordID uint64
	MinorVersion uint16
	MajorVersion uint16
	ChunkCount   uint16 // as stored; Vigil reads every chunk the file holds
	Flags        uint32 // 0x1 dirty, 0x2 full
}

// File is an opened EVTX file. It is safe for concurrent use when its
// io.ReaderAt is (as *os.File is): each Iterator has its own buffers.
type File struct {
	r         io.ReaderAt
	size      int64
	header    FileHeader
	headerErr *CorruptError
}

// Open reads the file header of an EVTX file of the given size. A damaged
// header (bad checksum, or bad signature followed by a valid chunk) is not
// fatal: it is reported as the first CorruptError of Records and the chunks
// are read by position. Open fails only on I/O errors and on data that is
// not EVTX at all.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("evtx: negative size %d", size)
	}
	f := &File{r: r, size: size}
	var h [128]byte
	n, err := r.ReadAt(h[:min(int64(len(h)), size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("evtx: read file header: %w", err)
	}
	if n < 8 || !bytes.Equal(h[:8], fileMagic) {
		var c [8]byte
		if size < FileHeaderSize+8 {
			return nil, fmt.Errorf("evtx: not an EVTX file: no \"ElfFile\" signature at offset 0")
		}
		if _, err := r.ReadAt(c[:], FileHeaderSize); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("evtx: read first chunk: %w", err)
		}
		if !bytes.Equal(c[:], chunkMagic) {
			return nil, fmt.Errorf("evtx: not an EVTX file: no \"ElfFile\" signature at offset 0 and no chunk at offset 0x%x", FileHeaderSize)
		}
		f.headerErr = &CorruptError{Chunk: -1, Err: errors.New("bad file header signature")}
		return f, nil
	}
	if n < len(h) {
		f.headerErr = &CorruptError{Chunk: -1, Err: fmt.Errorf("file header truncated at %d bytes", n)}
		return f, nil
	}
	le := binary.LittleEndian
	f.header = FileHeader{
		FirstChunk:   le.Uint64(h[8:]),
		LastChunk:    le.Uint64(h[16:]),
		NextRecordID: le.Uint64(h[24:]),
		MinorVersion: le.Uint16(h[36:]),
		MajorVersion: le.Uint16(h[38:]),
		ChunkCount:   le.Uint16(h[42:]),
		Flags:        le.Uint32(h[120:]),
	}
	if sum, want := crc32.ChecksumIEEE(h[:120]), le.Uint32(h[124:]); sum != want {
		f.headerErr = &CorruptError{Chunk: -1, Err: fmt.Errorf("file header checksum 0x%08x, computed 0x%08x", want, sum)}
	}
	return f, nil
}

// Header returns the file header as stored.
func (f *File) Header() FileHeader { return f.header }

// Size returns the file size given to Open.
func (f *File) Size() int64 { return f.size }

// NumChunks returns the number of chunk positions in the file, counting a
// truncated last chunk. The header's chunk count is not trusted.
func (f *File) NumChunks() int {
	if f.size <= FileHeaderSize {
		return 0
	}
	return int((f.size - FileHeaderSize + ChunkSize - 1) / ChunkSize)
}

// Records returns an iterator over the records of all chunks, in file
// order. A damaged file header is reported first.
func (f *File) Records() *Iterator {
	it := newIterator(f, 0, f.NumChunks())
	if f.headerErr != nil {
		e := *f.headerErr
		it.pending = append(it.pending, &e)
	}
	return it
}

// ChunkRecords returns an iterator over the records of chunk n only (0-based),
// for parsing chunks in parallel.
func (f *File) ChunkRecords(n int) *Iterator {
	end := n + 1
	if n < 0 || n >= f.NumChunks() {
		n, end = 0, 0
	}
	return newIterator(f, n, end)
}

// AppendNext is Next, but renders the record's JSON at the end of dst and
// returns the extended slice; Record.JSON is the appended part. On an error
// dst is returned unchanged.
func (it *Iterator) AppendNext(dst []byte) (*Record, []byte, error) {
	it.appending, it.appendTo = true, dst
	rec, err := it.Next()
	out := it.appendTo
	it.appending, it.appendTo = false, nil
	return rec, out, err
}

// ResetChunk restarts the iterator on chunk n of its file alone, reusing its
// buffers (a worker parsing many chunks in parallel keeps one Iterator).
func (it *Iterator) ResetChunk(n int) {
	it.pending = it.pending[:0]
	it.inChunk = false
	it.next, it.end = n, n+1
	if n < 0 || n >= it.f.NumChunks() {
		it.next, it.end = 0, 0
	}
}

// Record is one event record rendered as evtx_dump JSON.
type Record struct {
	ID     uint64    // event record identifier from the record header
	Time   time.Time // when the record was written (UTC)
	Chunk  int       // chunk number, 0-based
	Offset int64     // file offset of the record
	// JSON is the record in the shape of evtx_dump -o json, compact, on one
	// line. It is only valid until the next call of Iterator.Next.
	JSON []byte
}

// Loss says what a corruption cost.
type Loss int

const (
	// LostNothing: the damage was noted but the data was still used (a
	// record-area checksum mismatch, a damaged file header).
	LostNothing Loss = iota
	// LostRecord: one record, or the damaged stretch before the next
	// recognisable record, was skipped.
	LostRecord
	// LostChunk: the whole chunk was skipped.
	LostChunk
)

func (l Loss) String() string {
	switch l {
	case LostRecord:
		return "record skipped"
	case LostChunk:
		return "chunk skipped"
	}
	return "data still used"
}

// CorruptError reports damaged data. Iterator.Next returns it and the
// iteration goes on with the rest of the file.
type CorruptError struct {
	Chunk    int    // chunk number (0-based), -1 for the file header
	Offset   int64  // file offset of the damaged chunk or record
	RecordID uint64 // record identifier when known, else 0
	Lost     Loss
	Err      error
}

func (e *CorruptError) Error() string {
	var b []byte
	b = append(b, "evtx: "...)
	if e.Chunk < 0 {
		b = append(b, "file header"...)
	} else {
		b = fmt.Appendf(b, "chunk %d", e.Chunk)
	}
	if e.RecordID != 0 {
		b = fmt.Appendf(b, ", record %d", e.RecordID)
	}
	b = fmt.Appendf(b, " at file offset 0x%x: %v (%s)", e.Offset, e.Err, e.Lost)
	return string(b)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Iterator yields the records of a File. It is not safe for concurrent use;
// use one Iterator per goroutine.
type Iterator struct {
	f       *File
	next    int // next chunk to load
	end     int
	buf     []byte
	b       *builder
	r       renderer
	pending []*CorruptError
	rec     Record
	own     []byte // JSON buffer reused by Next

	appending bool   // AppendNext is running
	appendTo  []byte // its destination

	// current chunk
	inChunk  bool
	chunk    int
	chunkOff int64
	data     []byte
	off      int // next record offset within the chunk
	limit    int // end of the record area within data
	lastID   uint64
}

func newIterator(f *File, first, end int) *Iterator {
	return &Iterator{f: f, next: first, end: end, b: newBuilder()}
}

// Next returns the next record. At the end it returns io.EOF. Damaged data
// is returned as a *CorruptError, after which Next may be called again to
// go on; any other error (an I/O error) ends the iteration. The returned
// Record and its JSON are valid until the next call.
func (it *Iterator) Next() (*Record, error) {
	for {
		if len(it.pending) > 0 {
			e := it.pending[0]
			it.pending = it.pending[1:]
			return nil, e
		}
		if !it.inChunk {
			if it.next >= it.end {
				return nil, io.EOF
			}
			n := it.next
			it.next++
			if err := it.loadChunk(n); err != nil {
				it.next = it.end
				return nil, err
			}
			continue
		}
		if rec := it.nextRecord(); rec != nil {
			return rec, nil
		}
	}
}

func (it *Iterator) corrupt(off int, id uint64, lost Loss, err error) {
	it.pending = append(it.pending, &CorruptError{Chunk: it.chunk, Offset: it.chunkOff + int64(off), RecordID: id, Lost: lost, Err: err})
}

// loadChunk reads and checks chunk n. Damage is queued in it.pending.
func (it *Iterator) loadChunk(n int) error {
	off := FileHeaderSize + int64(n)*ChunkSize
	length := min(int64(ChunkSize), it.f.size-off)
	it.chunk, it.chunkOff = n, off
	if length <= 0 {
		return nil
	}
	if it.buf == nil {
		it.buf = make([]byte, ChunkSize)
	}
	data := it.buf[:length]
	if _, err := it.f.r.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("evtx: read chunk %d at offset 0x%x: %w", n, off, err)
	}
	if allZero(data) {
		return nil // an unused chunk
	}
	if len(data) < chunkHeaderSize {
		it.corrupt(0, 0, LostChunk, fmt.Errorf("chunk truncated to %d bytes, shorter than its header", len(data)))
		return nil
	}
	if !bytes.Equal(data[:8], chunkMagic) {
		it.corrupt(0, 0, LostChunk, errors.New("bad chunk signature"))
		return nil
	}
	le := binary.LittleEndian
	flags := le.Uint32(data[120:])
	if flags&chunkFlagNoCRC == 0 {
		sum := crc32.Update(crc32.ChecksumIEEE(data[:120]), crc32.IEEETable, data[128:chunkHeaderSize])
		if want := le.Uint32(data[124:]); sum != want {
			it.corrupt(0, 0, LostChunk, fmt.Errorf("chunk header checksum 0x%08x, computed 0x%08x", want, sum))
			return nil
		}
	}
	free := int(le.Uint32(data[48:]))
	if free < chunkHeaderSize || free > ChunkSize {
		it.corrupt(0, 0, LostChunk, fmt.Errorf("free space offset 0x%x outside the chunk", free))
		return nil
	}
	it.limit = free
	if len(data) < free {
		it.corrupt(len(data), 0, LostNothing, fmt.Errorf("chunk truncated at %d bytes; its records reach %d", len(data), free))
		it.limit = len(data)
	} else if flags&chunkFlagNoCRC == 0 {
		if sum, want := crc32.ChecksumIEEE(data[chunkHeaderSize:free]), le.Uint32(data[52:]); sum != want {
			it.corrupt(chunkHeaderSize, 0, LostNothing, fmt.Errorf("event records checksum 0x%08x, computed 0x%08x", want, sum))
		}
	}
	it.data = data
	it.off = chunkHeaderSize
	it.lastID = le.Uint64(data[32:])
	it.inChunk = true
	it.b.resetChunk(data)
	return nil
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// frameAt reports whether a well-formed record frame starts at off: its
// signature, a size that fits the record area, and a matching copy of the
// size at its end.
func (it *Iterator) frameAt(off int) (int, error) {
	d := it.data
	if off+recordHeaderSize > it.limit {
		return 0, fmt.Errorf("%d bytes left, less than a record header", it.limit-off)
	}
	if !bytes.Equal(d[off:off+4], recordMagic) {
		return 0, errors.New("bad record signature")
	}
	size := int(binary.LittleEndian.Uint32(d[off+4:]))
	if size < minRecordSize || size > it.limit-off {
		return 0, fmt.Errorf("record size %d does not fit the %d bytes left", size, it.limit-off)
	}
	if c := int(binary.LittleEndian.Uint32(d[off+size-4:])); c != size {
		return 0, fmt.Errorf("record size %d but its copy at the end says %d", size, c)
	}
	return size, nil
}

// resync finds the next well-formed record frame after a damaged one.
func (it *Iterator) resync(from int) int {
	for off := from; off+recordHeaderSize <= it.limit; off++ {
		i := bytes.Index(it.data[off:it.limit], recordMagic)
		if i < 0 {
			break
		}
		off += i
		if _, err := it.frameAt(off); err == nil {
			return off
		}
	}
	return it.limit
}

// nextRecord parses records of the current chunk until one renders; it
// returns nil when the chunk is done or a corruption was queued.
func (it *Iterator) nextRecord() *Record {
	if it.off >= it.limit {
		it.inChunk = false
		return nil
	}
	off := it.off
	size, err := it.frameAt(off)
	if err != nil {
		if allZero(it.data[off:it.limit]) {
			it.inChunk = false
			return nil
		}
		it.corrupt(off, 0, LostRecord, err)
		it.off = it.resync(off + 1)
		return nil
	}
	it.off = off + size
	le := binary.LittleEndian
	id := le.Uint64(it.data[off+8:])
	ft := le.Uint64(it.data[off+16:])
	if id == it.lastID {
		it.limit = it.off // the chunk's last record: stop after it
	}
	json, err := it.render(off+recordHeaderSize, off+size-4)
	if err != nil {
		it.corrupt(off, id, LostRecord, err)
		return nil
	}
	it.rec = Record{ID: id, Time: filetimeToTime(ft), Chunk: it.chunk, Offset: it.chunkOff + int64(off), JSON: json}
	return &it.rec
}

// render parses the BinXML in data[start:end] and renders it as JSON.
func (it *Iterator) render(start, end int) ([]byte, error) {
	b := it.b
	b.rec.reset()
	b.textBytes = 0
	b.vals = b.vals[:0]
	b.stack = b.stack[:0]
	b.depth = 0
	root, _, err := b.parseFragment(&b.rec, start, end, false, false)
	if err != nil {
		return nil, err
	}
	it.r.t = &b.rec
	it.r.names = it.r.names[:0]
	if it.appending {
		start := len(it.appendTo)
		it.r.out = it.appendTo
		err := it.r.record(root)
		if err != nil {
			it.r.out = it.r.out[:start]
		}
		it.appendTo, it.r.out = it.r.out, it.own
		if err != nil {
			return nil, err
		}
		return it.appendTo[start:], nil
	}
	it.r.out = it.own[:0]
	err = it.r.record(root)
	it.own = it.r.out
	if err != nil {
		return nil, err
	}
	return it.own, nil
}

func filetimeToTime(ft uint64) time.Time {
	secs := int64(ft/1e7) - filetimeEpochDelta
	return time.Unix(secs, int64(ft%1e7)*100).UTC()
}

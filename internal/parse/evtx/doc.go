// Package evtx reads Windows XML Event Log (EVTX) files: the file header,
// the 64 KiB chunks (with their CRC32 checksums checked), the event records
// and their binary XML (BinXML) with templates, substitutions and every
// value type, and renders each record as JSON in the shape of evtx_dump
// -o json (github.com/omerbenamram/evtx).
//
// Damaged data never stops the reader: a chunk whose header is corrupt is
// skipped, a damaged record is skipped and the next recognisable record is
// found again, and each such loss is reported as a *CorruptError naming the
// chunk, file offset and record. All work and memory are bounded by the
// input (one 64 KiB chunk buffer per Iterator, capped record trees).
//
// Usage:
//
//	f, err := evtx.Open(file, size)
//	it := f.Records()
//	for {
//		rec, err := it.Next()
//		if err == io.EOF { break }
//		var ce *evtx.CorruptError
//		if errors.As(err, &ce) { log(ce); continue }
//		if err != nil { return err }
//		use(rec.ID, rec.Time, rec.JSON)
//	}
//
// The format follows libyal's "Windows XML Event Log (EVTX) format" and the
// omerbenamram/evtx crate; see docs/evtx.md.
package evtx

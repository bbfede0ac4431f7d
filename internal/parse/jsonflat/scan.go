package jsonflat

// Helpers for decoders that find the values of a JSON stream before
// flattening them (Elasticsearch _bulk lines, concatenated HEC events).

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// ObjectEnd returns the index after the object or array starting at b[i],
// found by counting brackets outside strings, or -1 when it does not end.
// It does not check the syntax: the caller parses what it delimits.
func ObjectEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

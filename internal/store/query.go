package store

import "strings"

// storedNames rewrites the filters of a LogsQL query that name a field by
// its public name into the name the store keeps it under: `message` is the
// store's `_msg` (results and /api/v1/fields show `message`, so users
// filter on it). It rewrites a field name only where it is followed by the
// filter colon, unquoted (`message:x`, `-message:~"re"`, `(message:="a")`)
// or quoted (`"message":x`); words inside quoted phrases and bare words
// (which search the message) are left alone.
func storedNames(q string) string {
	var b strings.Builder
	changed := false
	for i := 0; i < len(q); {
		c := q[i]
		if c == '"' || c == '\'' || c == '`' {
			end := quotedEnd(q, i)
			if end < len(q) && q[end] == ':' && q[i+1:end-1] == "message" {
				b.WriteString("_msg")
				changed = true
			} else {
				b.WriteString(q[i:end])
			}
			i = end
			continue
		}
		if strings.HasPrefix(q[i:], "message:") && (i == 0 || isFilterStart(q[i-1])) {
			b.WriteString("_msg")
			i += len("message")
			changed = true
			continue
		}
		b.WriteByte(c)
		i++
	}
	if !changed {
		return q
	}
	return b.String()
}

// quotedEnd is the index just past the quoted string that starts at i
// (backslash escapes in "..." and '...'; none in `...`), or len(q) when it
// is not closed.
func quotedEnd(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch {
		case q[j] == '\\' && quote != '`':
			j++
		case q[j] == quote:
			return j + 1
		}
	}
	return len(q)
}

// isFilterStart tells whether a field name may begin after c: at a word
// boundary that is not part of a longer name.
func isFilterStart(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '(', '!', '-', ',', '|':
		return true
	}
	return false
}

package leef

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/parse/cef"
)

// javaLayout is a devTimeFormat (Java SimpleDateFormat) pattern converted to
// a Go time layout.
type javaLayout struct {
	layout string
	zone   bool // the pattern ends with a general time zone (z): read it separately
	err    error
}

// convertJavaLayout converts the SimpleDateFormat letters LEEF devices use:
// y M d D H h m s S E a z Z X and quoted literals. Other pattern letters
// (k K w W F G u) are refused.
func convertJavaLayout(p string) javaLayout {
	var b strings.Builder
	var l javaLayout
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			// Quoted literal; '' is a single quote.
			j := i + 1
			if j < len(p) && p[j] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			for j < len(p) {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(p[j])
				j++
			}
			if j >= len(p) {
				return javaLayout{err: fmt.Errorf("devTimeFormat %q: unterminated quote", clip(p))}
			}
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		i += n
		if l.zone {
			return javaLayout{err: fmt.Errorf("devTimeFormat %q: the zone (z) must come last", clip(p))}
		}
		switch c {
		case 'y':
			if n == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			b.WriteString([]string{"1", "01", "Jan", "January"}[min(n, 4)-1])
		case 'd':
			b.WriteString([]string{"2", "02"}[min(n, 2)-1])
		case 'D':
			b.WriteString("002")
		case 'H':
			b.WriteString("15")
		case 'h':
			b.WriteString([]string{"3", "03"}[min(n, 2)-1])
		case 'm':
			b.WriteString([]string{"4", "04"}[min(n, 2)-1])
		case 's':
			b.WriteString([]string{"5", "05"}[min(n, 2)-1])
		case 'S':
			s := b.String()
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, ",") {
				return javaLayout{err: fmt.Errorf("devTimeFormat %q: milliseconds (S) must follow '.' or ','", clip(p))}
			}
			b.WriteString(strings.Repeat("0", min(n, 9)))
		case 'E':
			if n >= 4 {
				b.WriteString("Monday")
			} else {
				b.WriteString("Mon")
			}
		case 'a':
			b.WriteString("PM")
		case 'z':
			l.zone = true
		case 'Z':
			b.WriteString("-0700")
		case 'X':
			b.WriteString([]string{"Z07", "Z0700", "Z07:00"}[min(n, 3)-1])
		default:
			return javaLayout{err: fmt.Errorf("devTimeFormat %q: pattern letter %q is not supported", clip(p), c)}
		}
	}
	l.layout = b.String()
	if l.zone {
		l.layout = strings.TrimRight(l.layout, " ")
	}
	return l
}

func (l javaLayout) parse(v string, loc *time.Location, now func() time.Time) (time.Time, error) {
	if l.zone {
		body, z := cef.SplitZone(v)
		if z == nil {
			return time.Time{}, fmt.Errorf("devTime %q: no recognised time zone at the end", clip(v))
		}
		v, loc = body, z
	}
	t, err := time.ParseInLocation(l.layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("devTime %q does not match devTimeFormat: %w", clip(v), err)
	}
	if t.Year() == 0 {
		n := now()
		t = t.AddDate(n.Year(), 0, 0)
		if t.After(n.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
	}
	return t, nil
}

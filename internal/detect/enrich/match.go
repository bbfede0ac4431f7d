package enrich

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Matching of people and addresses. Every comparison is between
// normalised keys, never raw text:
//
//   - names: Unicode NFD with combining marks removed, lower case, only
//     letters and digits kept (O'Brien = obrien, Müller = muller,
//     "van der Berg" = vanderberg); a given name is its first word.
//     A hyphenated family name also matches each of its parts
//     (Garcia-Lopez matches Garcia).
//   - addresses: street line (with the apartment/other line) in lower
//     case, punctuation removed, common words abbreviated (Street = St,
//     Avenue = Ave, Apartment/Unit/Suite/# = Apt, North = N …), plus the
//     first five characters of the postal code (ZIP+4 = ZIP), or the
//     normalised city when there is no postal code. No street, no key.
//   - phones: the last ten digits (a leading country code is dropped);
//     fewer than seven digits, no key.

// normName returns the comparison key of a name part.
func normName(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFD.String(s)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r < 0x80:
			// punctuation, spaces: dropped
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// familyKeys returns the keys a family name matches under: the whole
// name, and each part of a hyphenated name.
func familyKeys(s string) []string {
	whole := normName(s)
	if whole == "" {
		return nil
	}
	keys := []string{whole}
	if strings.ContainsAny(s, "-‐") {
		for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '‐' }) {
			if k := normName(p); k != "" && k != whole && !contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// givenKey is the key of the first word of a given name.
func givenKey(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i > 0 {
		s = s[:i]
	}
	return normName(s)
}

// splitFullName reads "Family, Given" or "Given [Middle] Family".
func splitFullName(full string) (family, given string) {
	full = strings.TrimSpace(full)
	if f, g, ok := strings.Cut(full, ","); ok {
		return strings.TrimSpace(f), strings.TrimSpace(g)
	}
	parts := strings.Fields(full)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return parts[0], ""
	}
	return parts[len(parts)-1], parts[0]
}

var addrWords = map[string]string{
	"street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "lane": "ln",
	"boulevard": "blvd", "court": "ct", "place": "pl", "terrace": "ter", "circle": "cir", "highway": "hwy",
	"parkway": "pkwy", "square": "sq", "trail": "trl", "way": "way",
	"apartment": "apt", "unit": "apt", "suite": "apt", "ste": "apt", "no": "apt", "flat": "apt",
	"north": "n", "south": "s", "east": "e", "west": "w",
	"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}

// addressKey returns the comparison key of an address, or "" when it has
// no street.
func addressKey(street, other, city, postal string) string {
	line := strings.TrimSpace(street + " " + other)
	if line == "" {
		return ""
	}
	var words []string
	for _, w := range strings.FieldsFunc(line, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r)) && r != '#'
	}) {
		if strings.HasPrefix(w, "#") {
			words = append(words, "apt")
			w = strings.TrimLeft(w, "#")
			if w == "" {
				continue
			}
		}
		k := normName(w)
		if a, ok := addrWords[k]; ok {
			k = a
		}
		if k != "" {
			words = append(words, k)
		}
	}
	if len(words) == 0 {
		return ""
	}
	key := strings.Join(words, " ")
	loc := ""
	if p := normName(postal); p != "" {
		loc = p[:min(5, len(p))]
	} else {
		loc = normName(city)
	}
	return key + "|" + loc
}

// streetKey returns the comparison key of the street an address lies on:
// the street line without its house number and apartment, normalised as
// addressKey does, with the postal area (or city). "" without a street
// name.
func streetKey(street, city, postal string) string {
	k := addressKey(street, "", city, postal)
	line, loc, _ := strings.Cut(k, "|")
	words := strings.Fields(line)
	// Leading house numbers ("123", "12b", "12-14") go.
	for len(words) > 0 && words[0] != "" && words[0][0] >= '0' && words[0][0] <= '9' {
		words = words[1:]
	}
	for i, w := range words {
		if w == "apt" {
			words = words[:i]
			break
		}
	}
	if len(words) == 0 {
		return ""
	}
	return strings.Join(words, " ") + "|" + loc
}

// phoneKey returns the last ten digits of a phone number, or "" when it
// has fewer than seven.
func phoneKey(s string) string {
	var d []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
		}
	}
	if len(d) < 7 {
		return ""
	}
	if len(d) > 10 {
		d = d[len(d)-10:]
	}
	return string(d)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if x != "" && contains(b, x) {
			return true
		}
	}
	return false
}

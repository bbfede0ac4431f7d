// Package healthcare holds Vigil's healthcare detection rules (the YAML
// files of this directory, embedded in the binary by package rules) and
// the default values of the placeholders they use, so that every rule
// loads and behaves sensibly before an operator configures anything.
package healthcare

import "strconv"

// PlaceholderKnownDICOMDestinations is the placeholder (used with the
// expand modifier) listing the DICOM destinations exports and transfers
// may go to: network addresses or AE titles, `*` and `?` as wildcards.
const PlaceholderKnownDICOMDestinations = "vigil_dicom_known_destinations"

// DefaultPlaceholders returns the values of the healthcare rules'
// placeholders to use when the operator's placeholders file
// (detect.placeholders) does not set them. A configured list replaces the
// default entirely.
//
// Known DICOM destinations default to the organisation's private and
// loopback address space (RFC 1918, RFC 4193 unique local, link-local,
// loopback), so that without configuration exports to public addresses
// and to host names alert, and routine transfers inside the network do
// not.
func DefaultPlaceholders() map[string][]string {
	known := []string{"10.*", "192.168.*", "127.*", "169.254.*", "::1", "fc*:*", "fd*:*", "fe80:*", "localhost"}
	for i := 16; i <= 31; i++ {
		known = append(known, "172."+strconv.Itoa(i)+".*")
	}
	return map[string][]string{PlaceholderKnownDICOMDestinations: known}
}

// Merge returns configured placeholder values completed with the defaults
// for the names it does not set. configured may be nil.
func Merge(configured map[string][]string) map[string][]string {
	out := make(map[string][]string, len(configured)+1)
	for k, v := range DefaultPlaceholders() {
		out[k] = v
	}
	for k, v := range configured {
		out[k] = v
	}
	return out
}

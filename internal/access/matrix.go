package access

import (
	"fmt"
	"strings"
)

// matrixRoles is the column order of the permission matrix: people's
// roles first, then the machines'.
var matrixRoles = []string{RoleAdmin, RoleAnalyst, RolePrivacyOfficer, RoleAuditor, RoleIngest, RoleMetrics}

// MatrixMarkdown renders the permission matrix (a row per permission, a
// column per role) as a Markdown table. docs/access.md carries it, and a
// test keeps the two equal, so the written matrix is the enforced one.
func MatrixMarkdown() string {
	var b strings.Builder
	b.WriteString("| permission | allows |")
	for _, r := range matrixRoles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n|---|---|")
	for range matrixRoles {
		b.WriteString(":-:|")
	}
	b.WriteString("\n")
	for _, p := range All {
		fmt.Fprintf(&b, "| `%s` | %s |", p, PermissionDescriptions[p])
		for _, r := range matrixRoles {
			mark := ""
			for _, q := range Roles[r] {
				if q == p {
					mark = "✓"
				}
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}
